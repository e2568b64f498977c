"""Polling mode loses no update to a database outage (PostgreSQL behind a proxy we can cut).

Two ways an outage meets an update: the database is away when the update arrives (it is
not confirmed, so Telegram keeps it), and it goes away while the update is being handled
(the stored update waits and is handled once the database is back).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from core.storage.db import close_db, open_db
from core.storage.models import InboundUpdate, Ticket
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    start_report,
)
from tests.core.tcp_proxy import TcpProxy
from tests.fakes.botapi import BotApiServer, botapi

pytestmark = pytest.mark.postgres
__all__ = ["botapi"]


@pytest_asyncio.fixture
async def proxy(db: str) -> AsyncIterator[TcpProxy]:
    """The test database reached through a proxy that the test can cut."""
    target = urlsplit(db)
    cuttable = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await cuttable.start()
    await close_db()
    await open_db(db.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{cuttable.port}"))
    yield cuttable
    await cuttable.cut()


async def test_an_update_is_handled_after_the_database_returns(
    app: App, botapi: BotApiServer, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi) as desk:
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(resident, "OAK")

        await proxy.cut()  # away when the update arrives
        resident.send("Water through the ceiling")
        await asyncio.sleep(1.5)
        assert botapi.pending_updates(RESIDENT) == 1  # never confirmed to Telegram
        await proxy.start()
        await resident.sees("is registered: Water through the ceiling", timeout=30)

        [feed] = [r.feed for r in desk.channel.bots if r.kind.name == "resident"]
        feed_update = feed.dispatcher.feed_update

        async def outage_mid_handling(*args: Any, **kwargs: Any) -> Any:
            if not cut_once:
                cut_once.append(True)
                await proxy.cut()  # away while the update is being handled
                restarts.append(asyncio.create_task(_restart(proxy, after=2.0)))
            return await feed_update(*args, **kwargs)

        cut_once: list[bool] = []
        restarts: list[asyncio.Task[None]] = []
        monkeypatch.setattr(feed.dispatcher, "feed_update", outage_mid_handling)
        resident.send("And the lights went out")
        await resident.sees("Added to your request #1", timeout=30)
        await eventually(_all_handled, timeout=30)  # the mark may wait for the database too

    assert cut_once == [True]
    [ticket] = await Ticket.all()
    assert ticket.title == "Water through the ceiling"
    detail = await app.tickets.detail(ticket.id)
    assert sum("And the lights went out" in event.text for event in detail.events) == 1
    assert await InboundUpdate.filter(attempts__gt=0).count() == 0  # an outage is no attempt
    await eventually(lambda: botapi.pending_updates(RESIDENT) == 0)


async def _all_handled() -> bool:
    unhandled = await InboundUpdate.filter(bot="resident", handled_at__isnull=True).count()
    return unhandled == 0


async def _restart(proxy: TcpProxy, *, after: float) -> None:
    await asyncio.sleep(after)
    await proxy.start()
