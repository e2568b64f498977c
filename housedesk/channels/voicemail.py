"""Start and stop the voicemail sources: the PBX webhook and the drop folder."""

from __future__ import annotations

import logging

from aiohttp import web

from housedesk.bootstrap import App
from intake.voicemail.folder import DropFolder
from intake.voicemail.http import voicemail_routes

log = logging.getLogger("housedesk")


def voicemail_http_routes(app: App) -> list[web.RouteDef]:
    """``POST /api/voicemail`` when a bearer token is configured, else nothing."""
    settings = app.settings.voicemail
    if not settings.http_token:
        log.info("voicemail: webhook is off (no [voicemail] http_token)")
        return []
    log.info("voicemail: webhook at POST /api/voicemail")
    app.channel_states["voicemail_http"] = "up"
    return voicemail_routes(app.voicemail, settings.http_token, settings.max_bytes)


def watch_drop_folder(app: App) -> None:
    """Watch ``[voicemail] drop_folder`` when it is set, in the process that leads
    ``voicemail-folder`` (two processes scanning one folder would race for each file)."""
    settings = app.settings.voicemail
    if settings.drop_folder is None:
        return
    settings.drop_folder.mkdir(parents=True, exist_ok=True)
    folder = DropFolder(
        settings.drop_folder, app.voicemail, poll_interval_s=settings.poll_interval_s
    )
    app.leadership.add("voicemail-folder", folder.run)
    app.channel_states["voicemail_folder"] = "up"
    log.info("voicemail: %s is watched by the process that leads it", settings.drop_folder)
