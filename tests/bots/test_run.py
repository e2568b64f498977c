"""``housedesk run`` serves the bots: webhooks on its HTTP server, state on /healthz."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import urllib.request

from core.clock import FrozenClock
from core.storage.db import close_db, open_db
from housedesk.bootstrap import bootstrap
from housedesk.run import GIL_SWITCH_INTERVAL, serve
from housedesk.settings.config import Settings
from housedesk.settings.telegram import TelegramSettings
from tests.bots.support import (
    RESIDENT,
    STAFF,
    WEBHOOK_SECRET,
    TelegramUser,
    load_example_directory,
)
from tests.fakes.botapi import BotApiServer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_run_serves_both_bots_by_webhook(
    db_url: str, settings: Settings, clock: FrozenClock, botapi: BotApiServer
) -> None:
    await open_db(db_url)
    await load_example_directory()
    await close_db()  # `run` opens the database itself
    botapi.add_bot(RESIDENT)
    botapi.add_bot(STAFF)
    port = _free_port()
    app = bootstrap(
        settings.model_copy(
            update={
                "http": settings.http.model_copy(update={"listen": f"127.0.0.1:{port}"}),
                "email": settings.email.model_copy(
                    update={
                        "smtp_enabled": False,
                        "outgoing": settings.email.outgoing.model_copy(update={"enabled": False}),
                    }
                ),
                "telegram": TelegramSettings(
                    api_base=botapi.url,
                    resident_token=RESIDENT,
                    staff_token=STAFF,
                    mode="webhook",
                    webhook_url=f"http://127.0.0.1:{port}",
                    webhook_secret=WEBHOOK_SECRET,
                ),
            }
        ),
        clock=clock,
    )
    ready, stop = asyncio.Event(), asyncio.Event()
    python_default = sys.getswitchinterval()
    running = asyncio.create_task(serve(app, ready=ready, stop=stop))
    try:
        await asyncio.wait_for(ready.wait(), timeout=10)
        assert sys.getswitchinterval() == GIL_SWITCH_INTERVAL < python_default
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        resident.send("/start OAK")
        await resident.sees("Which flat do you live in?")
        health = await asyncio.to_thread(_get_json, f"http://127.0.0.1:{port}/healthz")
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=10)
        sys.setswitchinterval(python_default)
    assert health["channels"]["resident_chat"] == "up (webhook)"
    assert health["channels"]["staff_chat"] == "up (webhook)"
    [hook] = botapi.calls(RESIDENT, "setWebhook")
    assert hook.params["url"] == f"http://127.0.0.1:{port}/telegram/resident"


def _get_json(url: str) -> dict[str, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return dict(json.loads(response.read()))
