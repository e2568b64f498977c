"""Reports and the incident they are about: ``/desk/tickets/<id>/incident`` links a ticket to an
active incident in its building (the ticket closes, its resident follows the incident), and
``/desk/tickets/<id>/incident/unlink`` takes it off again (the ticket reopens).
``/desk/incidents/<id>`` lists every report an incident absorbed, tickets or not (a tap on
"that's my problem too", a mail or voicemail matched by its words), and a coordinator takes a
wrong one off there: it becomes a request of its own.

All go through :class:`core.incidents.service.IncidentService`, as ``/incident`` in the staff
bot does; the link form carries the ticket's version and an unlink form the link it was
shown, so an action decided on a stale page writes nothing and says why.
"""

from __future__ import annotations

from aiohttp import web

from core.actors import Actor
from core.errors import AccessDenied, InvalidInput, NotFound
from core.i18n import N_
from core.incidents import texts
from core.incidents.places import buildings_of
from core.incidents.queries import absorbed_by_channel, incident_links
from core.storage.models import IncidentLink, IncidentStatus, LinkStatus, Person
from core.tickets.access import SEES_ALL
from desk.context import BASE, desk_of, viewer_of
from desk.render import language_of, page

routes = web.RouteTableDef()


async def incident_link_of(ticket_id: int) -> IncidentLink | None:
    """The link that made the ticket part of an incident, while it lasts."""
    return (
        await IncidentLink.filter(ticket_id=ticket_id, status=LinkStatus.LINKED)
        .select_related("incident")
        .first()
    )


async def _form(request: web.Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await request.post()).items()}


def _number(form: dict[str, str], name: str) -> int:
    value = form.get(name, "")
    if not value.isdigit():
        raise InvalidInput(f"{name} is not a number: {value!r}")
    return int(value)


@routes.post(r"/tickets/{id:\d+}/incident")
async def link(request: web.Request) -> web.Response:
    """Link the ticket to the incident chosen on its page."""
    form = await _form(request)
    ticket_id = int(request.match_info["id"])
    desk = desk_of(request)
    viewer = viewer_of(request)
    await desk.tickets.get_for(ticket_id, viewer)  # a ticket the viewer may not see is not found
    await desk.incidents.link_ticket(
        ticket_id,
        _number(form, "incident"),
        Actor.of(viewer),
        version=_number(form, "version"),
    )
    raise web.HTTPSeeOther(f"{BASE}/tickets/{ticket_id}")


@routes.post(r"/tickets/{id:\d+}/incident/unlink")
async def unlink(request: web.Request) -> web.Response:
    """Take the ticket off its incident: it is a request of its own again."""
    form = await _form(request)
    ticket_id = int(request.match_info["id"])
    desk = desk_of(request)
    viewer = viewer_of(request)
    await desk.tickets.get_for(ticket_id, viewer)
    link_id = _number(form, "link")
    if not await IncidentLink.exists(id=link_id, ticket_id=ticket_id):
        raise NotFound(f"link {link_id} is not ticket {ticket_id}'s")
    await desk.incidents.unlink(link_id, Actor.of(viewer))
    raise web.HTTPSeeOther(f"{BASE}/tickets/{ticket_id}")


def _require_coordinator(viewer: Person) -> None:
    if viewer.role not in SEES_ALL:
        raise AccessDenied(
            f"{viewer.role.value} may not see incidents' reports",
            message=N_("Only managers and dispatchers can open or change incidents."),
        )


@routes.get(r"/incidents/{id:\d+}")
async def incident_page(request: web.Request) -> web.Response:
    """The incident as residents read it and every report it absorbed, each with a button
    to take it off while it is linked and the incident goes on."""
    viewer = viewer_of(request)
    _require_coordinator(viewer)
    incident = await desk_of(request).incidents.get(int(request.match_info["id"]))
    buildings = await buildings_of(incident.id)
    building = buildings[0] if buildings else None
    lang = language_of(request)
    return page(
        request,
        "incident.html",
        i=incident,
        building=building,
        notice=texts.notice(incident, building, lang),
        absorbed=texts.absorbed(await absorbed_by_channel(incident.id), lang),
        links=await incident_links(incident.id),
        open=incident.status != IncidentStatus.RESOLVED,
    )


@routes.post(r"/incidents/{id:\d+}/links/{link:\d+}/unlink")
async def unlink_report(request: web.Request) -> web.Response:
    """Take a wrongly matched report off the incident: a request of its own (or its ticket
    reopens), acknowledged to its resident as usual."""
    incident_id = int(request.match_info["id"])
    link_id = int(request.match_info["link"])
    if not await IncidentLink.exists(id=link_id, incident_id=incident_id):
        raise NotFound(f"link {link_id} is not incident {incident_id}'s")
    await desk_of(request).incidents.unlink(link_id, Actor.of(viewer_of(request)))
    raise web.HTTPSeeOther(f"{BASE}/incidents/{incident_id}")
