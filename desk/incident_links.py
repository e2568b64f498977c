"""A ticket and the incident it is about: ``/desk/tickets/<id>/incident`` links the ticket to an
active incident in its building (the ticket closes, its resident follows the incident), and
``/desk/tickets/<id>/incident/unlink`` takes it off again (the ticket reopens).

Both go through :class:`core.incidents.service.IncidentService`, as ``/incident`` in the staff
bot does; the link form carries the ticket's version and the unlink form the link it was
shown, so an action decided on a stale page writes nothing and says why.
"""

from __future__ import annotations

from aiohttp import web

from core.actors import Actor
from core.errors import InvalidInput, NotFound
from core.storage.models import IncidentLink, LinkStatus
from desk.context import BASE, desk_of, viewer_of

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
