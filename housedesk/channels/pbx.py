"""Mount the PBX status endpoint (``GET /api/pbx/status``) when its token is configured."""

from __future__ import annotations

import logging

from aiohttp import web

from core.operations.voice_status import VoiceStatus, voice_status
from housedesk.bootstrap import App
from intake.pbx.http import STATUS_PATH, pbx_status_routes

log = logging.getLogger("housedesk")


def pbx_http_routes(app: App) -> list[web.RouteDef]:
    """The status route, or nothing when ``[pbx] status_token`` is empty."""
    settings = app.settings.pbx
    if not settings.status_token:
        log.info("pbx: status endpoint is off (no [pbx] status_token)")
        return []

    async def lookup(called: str | None, caller: str | None) -> VoiceStatus:
        default = app.settings.service.default_language
        return await voice_status(called, caller, app.clock.now(), default)

    log.info("pbx: status endpoint at GET %s", STATUS_PATH)
    app.channel_states["pbx_status"] = "up"
    return pbx_status_routes(lookup, settings.status_token, espeak_binary=settings.espeak_binary)
