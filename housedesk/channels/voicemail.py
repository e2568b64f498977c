"""Start and stop the voicemail sources: the PBX webhook and the drop folder."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

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


@dataclass
class DropFolderWatch:
    """The running drop-folder watcher, if any."""

    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def stop(self) -> None:
        """Finish the scan in progress and stop."""
        self.stop_event.set()
        task, self.task = self.task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def start_drop_folder(app: App) -> DropFolderWatch:
    """Watch ``[voicemail] drop_folder`` when it is set."""
    settings = app.settings.voicemail
    watch = DropFolderWatch()
    if settings.drop_folder is None:
        return watch
    settings.drop_folder.mkdir(parents=True, exist_ok=True)
    folder = DropFolder(
        settings.drop_folder, app.voicemail, poll_interval_s=settings.poll_interval_s
    )
    watch.task = asyncio.create_task(folder.run(watch.stop_event), name="voicemail-folder")
    app.channel_states["voicemail_folder"] = "up"
    log.info("voicemail: watching %s", settings.drop_folder)
    return watch
