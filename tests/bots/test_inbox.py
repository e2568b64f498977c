"""Updates go through the inbox: a poison update is quarantined after N attempts and can be
retried; a webhook update that cannot be stored is answered 5xx and comes again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.clock import FrozenClock
from core.messaging import inbox
from core.messaging.inbox import UpdateQuarantine
from core.storage.models import InboundUpdate, Ticket
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    start_report,
)
from tests.fakes.botapi import BotApiServer
from tests.telegram.support import aiogram_bot


async def test_a_poison_update_is_quarantined_after_n_attempts_then_retried(
    app: App, botapi: BotApiServer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_example_directory()
    create = app.tickets.create

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the report cannot be filed")

    async with running_housedesk(app, botapi, update_max_attempts=3) as desk:
        for feed in (running.feed for running in desk.channel.bots):
            feed.idle_s = 0.05
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        await start_report(resident, "OAK")
        monkeypatch.setattr(app.tickets, "create", broken)
        resident.send("The lift is out of order")

        async def attempts() -> int:
            row = await InboundUpdate.filter(bot="resident").order_by("-update_id").first()
            return row.attempts if row else 0

        for n in (1, 2):
            await eventually(lambda n=n: _at_least(attempts, n), what=f"attempt {n}")
            clock.advance(timedelta(minutes=10))  # past the backoff
        notice = await alice.sees("failed 3 times and was set aside as update:")
        [item] = await UpdateQuarantine().items(10)
        assert item.ref in notice["text"] and "the report cannot be filed" in item.last_error
        assert "Mina" in item.summary and "The lift is out of order" in item.raw
        assert await Ticket.all().count() == 0

        monkeypatch.setattr(app.tickets, "create", create)
        assert await UpdateQuarantine().retry(int(item.ref.split(":")[1]), clock.now())
        await resident.sees("is registered: The lift is out of order")
    assert await UpdateQuarantine().items(10) == []
    assert [t.title for t in await Ticket.all()] == ["The lift is out of order"]


async def _at_least(attempts: Any, n: int) -> bool:
    return bool(await attempts() >= n)


async def test_a_webhook_update_that_cannot_be_stored_gets_5xx_and_comes_again(
    app: App, botapi: BotApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_example_directory()
    store = inbox.store
    refused: list[int] = []

    async def database_away_once(bot: str, updates: Any, now: Any) -> None:
        if not refused:
            refused.append(len(updates))
            raise ConnectionError("connection refused")
        await store(bot, updates, now)

    monkeypatch.setattr(inbox, "store", database_away_once)
    async with running_housedesk(app, botapi, mode="webhook"):
        resident = TelegramUser.of(botapi, RESIDENT, 5550002, "Olek")
        resident.send("/start OAK")
        await resident.sees("Which flat")
        bot = aiogram_bot(botapi, RESIDENT)
        try:
            info = await bot.get_webhook_info()
        finally:
            await bot.session.close()
    assert refused == [1]
    assert "Wrong response from the webhook: 503" in str(info.last_error_message)
    assert await InboundUpdate.filter(bot="resident", handled_at__not_isnull=True).count() == 1
