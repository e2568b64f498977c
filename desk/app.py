"""The desk as an aiohttp application, which housedesk mounts under ``/desk``.

Adding a page: write a module ``desk/<page>.py`` with ``routes = web.RouteTableDef()``,
handlers registered on it with paths relative to ``/desk`` (``@routes.get("/monitor")``),
templates under ``desk/templates`` extending ``base.html`` (rendered with
:func:`desk.render.page`), and add the module to :data:`PAGES`. Every route then needs a
signed-in member of staff (``desk.context.viewer_of(request)``); every POST carries the form
field ``csrf`` (``{{ csrf }}`` in a template) or the ``X-CSRF-Token`` header. The core
services are on ``desk.context.desk_of(request)``; what a person may see comes from
:mod:`core.tickets.access`.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from aiohttp import web

from desk import calls, incident_links, journal, monitor, registrations, signin, tickets
from desk.context import BASE, DESK, DeskContext
from desk.errors import domain_errors
from desk.security import headers, session

PAGES: tuple[ModuleType, ...] = (
    signin,
    journal,
    tickets,
    incident_links,
    calls,
    registrations,
    monitor,
)
"""The page modules; each exposes ``routes`` (an ``aiohttp.web.RouteTableDef``)."""
STATIC = Path(__file__).parent / "static"


async def home(request: web.Request) -> web.Response:
    """``/desk/`` opens the journal."""
    raise web.HTTPSeeOther(f"{BASE}/journal")


def build_desk_app(context: DeskContext) -> web.Application:
    """The desk's pages, static files and middlewares, for ``add_subapp("/desk", …)``."""
    desk = web.Application(middlewares=[headers, session, domain_errors])
    desk[DESK] = context
    for module in PAGES:
        desk.add_routes(module.routes)
    desk.router.add_get("/", home)
    desk.router.add_static("/static/", STATIC)
    return desk
