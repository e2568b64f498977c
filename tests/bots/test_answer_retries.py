"""A direct answer that Telegram refuses is sent again, never lost: a 429 is waited out, and
an answer that keeps failing leaves its update to be handled again, logged in one line."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from core.clock import FrozenClock
from core.directory.residents import register_resident
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_errors import Fault

MENU = "How can we help?"


async def _resident(botapi: BotApiServer) -> TelegramUser:
    await load_example_directory()
    await register_resident(5550001, "Mina", "OAK", "12")
    return TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")


def _menus(resident: TelegramUser) -> int:
    return sum(MENU in str(m.get("text")) for m in resident.bot_messages())


async def test_a_429_on_the_menu_is_waited_out_and_the_menu_arrives_once(
    app: App, botapi: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_housedesk(app, botapi):
        resident = await _resident(botapi)
        botapi.fail_next(RESIDENT, "sendMessage", Fault.TOO_MANY_REQUESTS, retry_after=1)
        resident.send("/start")
        await resident.sees(MENU)

    refused, sent = botapi.calls(RESIDENT, "sendMessage")
    assert refused.fault == "429" and sent.at - refused.at >= 1.0
    assert _menus(resident) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_an_answer_that_keeps_failing_is_handled_again_later(
    app: App, botapi: BotApiServer, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_housedesk(app, botapi):
        resident = await _resident(botapi)
        botapi.fail_next(RESIDENT, "sendMessage", Fault.SERVER_ERROR, count=4)  # all 4 tries
        resident.send("/start")
        await eventually(lambda: "not answered" in caplog.text, timeout=10, what="the give-up")
        assert _menus(resident) == 0
        clock.advance(timedelta(seconds=3))  # past the inbox's first backoff
        await resident.sees(MENU, timeout=10)

    assert [c.fault for c in botapi.calls(RESIDENT, "sendMessage")] == ["500"] * 4 + [None]
    assert _menus(resident) == 1
    complaints = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(complaints) == 1 and complaints[0].exc_info is None
    assert "not answered, tried again later" in complaints[0].getMessage()
