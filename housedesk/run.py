"""``housedesk run``: start every configured channel, the outbox worker, the operations
scheduler and the HTTP server, all built by :func:`housedesk.bootstrap.bootstrap`.

Periodic jobs (the scheduler, IMAP and Telegram polling, the drop folder, setting the
webhook) run where :class:`housedesk.cluster.leadership.Leadership` says this process leads
them; SMTP intake, the HTTP server, webhooks and the outbox run on every process."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from contextlib import AsyncExitStack

from aiohttp import web

from core.messaging.wakeup import PgListener
from core.storage.db import close_db, open_db, pending_migrations
from housedesk.bootstrap import App
from housedesk.channels.email import start_email
from housedesk.channels.http import build_http_app
from housedesk.channels.pbx import pbx_http_routes
from housedesk.channels.rating import rating_http_routes
from housedesk.channels.voicemail import voicemail_http_routes, watch_drop_folder
from housedesk.settings.config import listen_address
from intake.email.spool import SpoolInUse

log = logging.getLogger("housedesk")


def freeze_heap() -> None:
    """Put what start-up made (modules, models, the bot and pydantic types, locale data:
    some 340,000 objects) out of the garbage collector's reach. Each full collection walked
    them all, on the event loop: about a second on a loaded 2-core VM (the outage bench's
    worst loop lag). Start-up's own garbage is collected first, so that none of it is kept
    for good; objects made later are collected as before."""
    gc.collect()
    gc.freeze()


GIL_SWITCH_INTERVAL = 0.0005
"""Seconds a thread holding the GIL runs before one waiting for it gets it (Python: 0.005)."""


def share_the_gil_sooner() -> None:
    """Let a thread waiting for the GIL have it after half a millisecond instead of five.
    The event loop's thread runs most of the Python; the threads beside it (SQLite's writer,
    the spool's fsyncs, parsing a large mail) each need the GIL for a moment to hand a result
    back, and a transaction keeps the write lock until its statements' results are back. With
    Python's 5 ms they waited out the loop's long stretches. Email bench, alternating on one
    VM: 123-157 against 132-176 mails/s on the full path, 3.10-3.40x against 2.87-3.39x."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


class StartupError(Exception):
    """Start-up cannot go on; the message is one line for the operator."""


async def serve(
    app: App, *, ready: asyncio.Event | None = None, stop: asyncio.Event | None = None
) -> None:
    """Run until SIGINT or SIGTERM (or ``stop``), then stop cleanly.

    The send in flight is finished before the process exits.
    """
    share_the_gil_sooner()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await open_db(app.database_url)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(close_db)
        stack.push_async_callback(app.blobs.close)
        pending = await pending_migrations()
        if pending:
            raise StartupError(
                f"the database needs {len(pending)} migration(s) ({', '.join(pending)}): "
                "run `housedesk init` first"
            )
        host, port = listen_address(app.settings.http.listen)
        routes = voicemail_http_routes(app) + rating_http_routes(app) + pbx_http_routes(app)
        # Imported here: the bot libraries take seconds to load, and only `run` needs them.
        from housedesk.channels.telegram import start_telegram

        telegram = await start_telegram(app, app.settings.telegram, routes)
        stack.push_async_callback(telegram.stop)
        runner = web.AppRunner(build_http_app(app, routes), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, host, port).start()
        app.channel_states["http"] = "up"
        log.info("http: listening on http://%s:%s (GET /healthz)", host, port)
        try:
            email = await start_email(app)
        except SpoolInUse as exc:
            raise StartupError(str(exc)) from None
        stack.push_async_callback(email.stop)
        watch_drop_folder(app)
        stack.callback(app.transcriber.close)
        worker = asyncio.create_task(app.outbox.run(stop), name="outbox")
        listener = asyncio.create_task(PgListener().run(stop), name="outbox-listen")
        app.channel_states["outbox"] = "up"
        log.info(
            "outbox: lanes started: %s",
            ", ".join(
                f"{route} x{app.outbox.lane(route).concurrency}" for route in app.outbox.senders
            )
            or "no channels",
        )
        if app.scheduler is not None:
            app.leadership.add("operations", app.scheduler.lead)
        else:
            log.info("operations: scheduler is off")
        leading = asyncio.create_task(app.leadership.run(stop), name="cluster")
        log.info("cluster: this process is %s", app.leadership.node)
        freeze_heap()
        if ready is not None:
            ready.set()
        await stop.wait()
        log.info("stopping: finishing the send in flight")
        await leading  # the led jobs stop, and the leads go to other processes
        await email.stop()
        await worker
        await listener
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    log.info("stopped")
