"""``/desk/call``: a ticket from a phone call. The desk shows who is calling (a PBX may open
``/desk/call?phone=+48…`` as a screen pop) and files the ticket with the caller's building,
flat and category prefilled."""

from __future__ import annotations

from aiohttp import web

from core.actors import Actor
from core.directory.callers import caller
from core.directory.lookup import all_categories
from core.storage.models import Building, Channel, ContactKind
from core.tickets.commands import NewTicket, RequesterHint
from desk.context import BASE, desk_of, viewer_of
from desk.render import language_of, page

routes = web.RouteTableDef()
DEFAULT_CATEGORY = "technical"


@routes.get("/call")
async def call_page(request: web.Request) -> web.Response:
    """The number to look up, who it is, and the form that files the ticket."""
    phone = request.query.get("phone", "")[:40]
    found = await caller(phone, desk_of(request).clock.now())
    flat = found.flats[0] if found.flats else None
    categories = await all_categories()
    codes = [c.code for c in categories]
    return page(
        request,
        "call.html",
        phone=phone,
        found=found,
        buildings=await Building.all().order_by("code"),
        categories=categories,
        chosen_building=flat.building.id if flat else None,
        chosen_flat=flat.number if flat else "",
        chosen_category=DEFAULT_CATEGORY if DEFAULT_CATEGORY in codes else codes[0],
    )


@routes.post("/call")
async def file_call(request: web.Request) -> web.Response:
    """File the call as a ticket through the core service, and open it."""
    form = {k: str(v).strip() for k, v in (await request.post()).items()}
    phone = form.get("phone", "")
    desk = desk_of(request)
    found = await caller(phone, desk.clock.now())
    building = await Building.get_or_none(id=int(form.get("building") or 0))
    hint = None
    if found.person is None and phone:
        hint = RequesterHint(ContactKind.PHONE, phone)
    result = await desk.tickets.create(
        NewTicket(
            category=form.get("category") or DEFAULT_CATEGORY,
            title=form.get("title", ""),
            description=form.get("description", ""),
            channel=Channel.PHONE,
            actor=Actor.of(viewer_of(request)),
            building=building.code if building else None,
            unit=form.get("unit") or None,
            requester_id=found.person.id if found.person else None,
            requester=hint,
            language=found.person.language if found.person else language_of(request),
        )
    )
    raise web.HTTPSeeOther(f"{BASE}/tickets/{result.ticket.id}")
