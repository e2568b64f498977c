"""housedesk's HTTP server: health now; channels mount their endpoints on it."""

from __future__ import annotations

from aiohttp import web

from core.storage.db import ping
from housedesk.bootstrap import App
from housedesk.health import degraded, runtime_view

APP_KEY: web.AppKey[App] = web.AppKey("housedesk", App)


async def healthz(request: web.Request) -> web.Response:
    """``GET /healthz``: the database, the outbox, the operations scheduler and each
    channel's state, as JSON."""
    app = request.app[APP_KEY]
    database_up = await ping()
    body = {
        "status": "ok" if database_up else "degraded",
        "database": "up" if database_up else "down",
        "outbox": "up" if app.outbox.healthy else "retrying",
        "scheduler": scheduler_state(app),
        "channels": dict(app.channel_states),
    }
    body.update(await runtime_view(app, database_up))
    if degraded(app):
        body["status"] = "degraded"
    return web.json_response(body, status=200 if database_up else 503)


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
    return http
