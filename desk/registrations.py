"""``/desk/registrations``: residents' flats waiting for a dispatcher's yes or no, decided
through the same core function as the staff bot's buttons."""

from __future__ import annotations

from aiohttp import web

from core.directory.registrations import waiting_claims
from core.directory.verification import decide
from desk.context import BASE, desk_of, viewer_of
from desk.render import page

routes = web.RouteTableDef()


@routes.get("/registrations")
async def registrations(request: web.Request) -> web.Response:
    """The registrations the viewer may decide."""
    return page(request, "registrations.html", claims=await waiting_claims(viewer_of(request)))


@routes.post(r"/registrations/{claim:\d+}/{decision:approve|reject}")
async def decided(request: web.Request) -> web.Response:
    """Approve or reject one; the resident is told (a decided one is not decided again)."""
    approve = request.match_info["decision"] == "approve"
    now = desk_of(request).clock.now()
    await decide(int(request.match_info["claim"]), viewer_of(request), approve, now)
    raise web.HTTPSeeOther(f"{BASE}/registrations")
