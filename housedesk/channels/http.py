"""housedesk's HTTP server: health, the dispatcher's desk under ``/desk``; channels mount
their endpoints on it."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from aiohttp import web

from core.storage.cluster import leaders, members
from core.storage.db import ping
from desk.app import build_desk_app
from desk.context import BASE, DeskContext
from housedesk.bootstrap import App
from housedesk.health import degraded, runtime_view

APP_KEY: web.AppKey[App] = web.AppKey("housedesk", App)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the database, the outbox, the operations scheduler, each
    channel's state and the cluster (this process, and which process leads which job), as
    JSON."""
    app = request.app[APP_KEY]
    database_up = await ping()
    body = {
        "status": "ok" if database_up else "degraded",
        "database": "up" if database_up else "down",
        "outbox": "up" if app.outbox.healthy else "retrying",
        "scheduler": scheduler_state(app),
        "channels": dict(app.channel_states),
        "cluster": await cluster_view(app, database_up),
    }
    shown: dict[str, object] = {**body, **await runtime_view(app, database_up)}
    if degraded(app):
        shown["status"] = "degraded"
    return web.json_response(shown, status=200 if database_up else 503)


async def cluster_view(app: App, database_up: bool) -> dict[str, object]:
    """This process's node id and leads; with the database, every live process's leads."""
    view: dict[str, object] = {"node": app.leadership.node, "leads": app.leadership.leads}
    if database_up:
        with contextlib.suppress(Exception):  # gone since the ping: the rest still answers
            found = await members(app.clock.now())
            view["leaders"] = leaders(found)
            view["processes"] = [m.node for m in found if m.alive]
    return view


def scheduler_state(app: App) -> str:
    """``up``, ``failing`` (a job of the last tick failed: the next tick tries again) or
    ``off``."""
    if app.scheduler is None:
        return "off"
    return "up" if app.scheduler.healthy else "failing"


def build_http_app(app: App, routes: list[web.RouteDef] | None = None) -> web.Application:
    """The aiohttp application with health and any channel routes."""
    http = web.Application(client_max_size=64 * 1024 * 1024)
    http[APP_KEY] = app
    http.router.add_get("/healthz", healthz)
    if routes:
        http.router.add_routes(routes)
    http.add_subapp(BASE, build_desk_app(desk_context(app)))
    return http


def desk_context(app: App) -> DeskContext:
    """What the dispatcher's desk is given: the core services and its sign-in settings."""
    desk = app.settings.desk
    token = app.settings.telegram.staff_token
    return DeskContext(
        tickets=app.tickets,
        incidents=app.incidents,
        clock=app.clock,
        blobs=app.blobs,
        reports=app.operations.reports,
        bot_token=token.get_secret_value() if token else "",
        public_url=desk.public_url,
        session_ttl=timedelta(hours=desk.session_hours),
        launch_max_age=timedelta(seconds=desk.launch_max_age_s),
    )
