"""``/desk/tickets/<id>``: everything known about a ticket, and the actions on it.

Every action goes through :class:`core.tickets.service.TicketService`, as the bots' do; a
form carries the ticket's version, so an action decided on a page someone else's change has
made stale writes nothing and says so.
"""

from __future__ import annotations

from aiohttp import web

from core.actors import Actor
from core.directory.lookup import all_categories
from core.errors import InvalidInput, StaleTicket
from core.incidents.queries import active_incidents
from core.operations.staffing import candidates
from core.storage.models import Attachment, Building, EventType, Person, Status, Ticket
from core.tickets.access import SEES_ALL
from core.tickets.cards import attention_text
from core.tickets.guards import FINISHED
from core.tickets.workflow import TRANSITIONS
from desk.context import BASE, desk_of, viewer_of
from desk.incident_links import incident_link_of
from desk.render import language_of, page
from presentation.timeline import event_sentence

routes = web.RouteTableDef()
UNSHOWN = frozenset({EventType.NOTIFICATION_SENT})
"""Timeline rows about delivery that work, left out as the bots leave them out."""
SHOWN_INLINE = ("image/", "audio/")
"""Attachment types the page shows or plays; others are downloaded."""


def _ticket_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def _form(request: web.Request) -> dict[str, str]:
    return {k: str(v).strip() for k, v in (await request.post()).items()}


async def current_ticket(request: web.Request, form: dict[str, str]) -> Ticket:
    """The ticket as it is now, if the viewer may see it and the form's version is current."""
    ticket = await desk_of(request).tickets.get_for(_ticket_id(request), viewer_of(request))
    if form.get("version") != str(ticket.version):
        raise StaleTicket(ticket.id)
    return ticket


def _back(ticket_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{BASE}/tickets/{ticket_id}")


def _actor(request: web.Request) -> Actor:
    return Actor.of(viewer_of(request))


@routes.get(r"/tickets/{id:\d+}")
async def ticket_page(request: web.Request) -> web.Response:
    """The ticket, its files, its timeline in sentences, and the forms of its actions."""
    desk = desk_of(request)
    viewer = viewer_of(request)
    detail = await desk.tickets.detail(_ticket_id(request), viewer)
    ticket = detail.ticket
    lang = language_of(request)
    events = [
        (e, event_sentence(e.type.value, e.actor_label, e.text, e.data, lang))
        for e in detail.events
        if e.type not in UNSHOWN
    ]
    return page(
        request,
        "ticket.html",
        t=ticket,
        attention=attention_text(ticket.needs_attention, lang),
        events=events,
        files=detail.attachments,
        shown_inline=SHOWN_INLINE,
        next_statuses=sorted(TRANSITIONS[ticket.status], key=list(Status).index),
        candidates=await candidates(ticket, desk.clock.now()),
        incidents=await active_incidents(
            ticket.building.id, desk.clock.now(), ticket.unit.number if ticket.unit else None
        )
        if ticket.building
        else [],
        buildings=await Building.all().order_by("code"),
        categories=await all_categories(),
        linked=await incident_link_of(ticket.id),
        coordinator=viewer.role in SEES_ALL,
        linkable=ticket.status not in FINISHED and ticket.requester is not None,
    )


@routes.get(r"/tickets/{id:\d+}/stamp")
async def ticket_stamp(request: web.Request) -> web.Response:
    """The ticket's version: the open page refreshes itself when it moves."""
    ticket = await desk_of(request).tickets.get_for(_ticket_id(request), viewer_of(request))
    return web.json_response({"stamp": ticket.version})


@routes.get(r"/tickets/{id:\d+}/files/{file:\d+}")
async def ticket_file(request: web.Request) -> web.Response:
    """An attachment's bytes (photos and audio inline, anything else as a download)."""
    desk = desk_of(request)
    ticket = await desk.tickets.get_for(_ticket_id(request), viewer_of(request))
    attachment = await Attachment.get_or_none(id=int(request.match_info["file"]), ticket=ticket)
    if attachment is None:
        raise web.HTTPNotFound()
    inline = attachment.content_type.startswith(SHOWN_INLINE)
    return web.Response(
        body=await desk.blobs.read(attachment.sha256),
        content_type=attachment.content_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": "inline" if inline else "attachment",
            "Cache-Control": "private, max-age=3600",
        },
    )


@routes.post(r"/tickets/{id:\d+}/reply")
async def reply(request: web.Request) -> web.Response:
    """A public reply: it reaches the resident."""
    return await _write(request, public=True)


@routes.post(r"/tickets/{id:\d+}/note")
async def note(request: web.Request) -> web.Response:
    """An internal note: it never leaves housedesk."""
    return await _write(request, public=False)


async def _write(request: web.Request, *, public: bool) -> web.Response:
    form = await _form(request)
    ticket = await current_ticket(request, form)
    if not form.get("text"):
        raise InvalidInput("nothing to send")
    await desk_of(request).tickets.reply(ticket, _actor(request), form["text"], public=public)
    raise _back(ticket.id)


@routes.post(r"/tickets/{id:\d+}/assign")
async def assign(request: web.Request) -> web.Response:
    """Give the ticket to a member of staff; their card goes out through the outbox."""
    form = await _form(request)
    ticket = await current_ticket(request, form)
    person = await Person.get_or_none(id=int(form.get("staff") or 0))
    if person is None:
        raise InvalidInput("no such member of staff")
    await desk_of(request).tickets.assign(ticket, _actor(request), person)
    raise _back(ticket.id)


@routes.post(r"/tickets/{id:\d+}/status")
async def change_status(request: web.Request) -> web.Response:
    """Move the ticket along the workflow, with an optional note the resident reads."""
    form = await _form(request)
    ticket = await current_ticket(request, form)
    try:
        status = Status(form.get("status", ""))
    except ValueError:
        raise InvalidInput(f"unknown status {form.get('status')!r}") from None
    tickets = desk_of(request).tickets
    await tickets.change_status(ticket, _actor(request), status, note=form.get("note", ""))
    raise _back(ticket.id)


@routes.post(r"/tickets/{id:\d+}/edit")
async def edit(request: web.Request) -> web.Response:
    """Set the building, flat or category (what the form changes), as one timeline event."""
    form = await _form(request)
    ticket = await current_ticket(request, form)
    chosen = int(form["building"]) if form.get("building") else None
    building = chosen if chosen != ticket.building_id else None  # type: ignore[attr-defined]
    unit = form.get("unit") or None
    if unit == (ticket.unit.number if ticket.unit else None):
        unit = None
    category = form.get("category") or None
    if category == ticket.category.code:
        category = None
    if building is not None or unit is not None or category is not None:
        await desk_of(request).tickets.edit(
            ticket, _actor(request), building=building, unit=unit, category=category
        )
    raise _back(ticket.id)


@routes.post(r"/tickets/{id:\d+}/merge")
async def merge(request: web.Request) -> web.Response:
    """Close this ticket as a duplicate of another; its requester follows that one."""
    form = await _form(request)
    ticket = await current_ticket(request, form)
    tickets = desk_of(request).tickets
    survivor = await tickets.get_for(form.get("into", ""), viewer_of(request))
    await tickets.merge(ticket, survivor, _actor(request))
    raise _back(survivor.id)
