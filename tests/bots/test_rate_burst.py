"""300 residents at once against a Bot API that enforces Telegram's rate limits: every one
gets the menu and the prompt, the bot never goes over the limit, and nothing is logged as
a traceback."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.directory.residents import register_resident
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    TelegramUser,
    button_data,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_limits import TELEGRAM_LIMITS, busiest_second

RESIDENTS = 300
FIRST_CHAT = 6_000_000
MENU = "How can we help?"
PROMPT = "Describe the problem in one message"


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[BotApiServer]:
    """The stand-in answering 429 beyond Telegram's limits."""
    async with BotApiServer(limits=TELEGRAM_LIMITS) as server:
        yield server


async def _bot_says(resident: TelegramUser, fragment: str, timeout: float) -> dict[str, object]:
    """The bot's first message in the chat containing ``fragment``, polled gently."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in resident.bot_messages():
            if fragment in shown_text(message):
                return message
        await asyncio.sleep(0.2)
    raise AssertionError(f"{resident.user['first_name']} never saw {fragment!r}")


async def _report(resident: TelegramUser) -> None:
    """/start, then the "Technical" button under the menu."""
    resident.send("/start")
    menu = await _bot_says(resident, MENU, timeout=90)
    resident.press_data(menu, button_data(menu, "Technical"))
    await _bot_says(resident, PROMPT, timeout=90)


async def test_300_residents_at_once_all_get_menu_and_prompt_within_the_limit(
    app: App, telegram: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    await load_example_directory()
    residents = []
    for n in range(RESIDENTS):
        await register_resident(FIRST_CHAT + n, f"Resident {n}", "OAK", "12")
        residents.append(TelegramUser.of(telegram, RESIDENT, FIRST_CHAT + n, f"Resident {n}"))

    with caplog.at_level(logging.INFO):
        async with running_housedesk(app, telegram):
            await asyncio.gather(*(_report(resident) for resident in residents))

    for resident in residents:
        said = [shown_text(m) for m in resident.bot_messages()]
        assert sum(MENU in text for text in said) == 1, said
        assert sum(PROMPT in text for text in said) == 1, said
    assert len(telegram.calls(RESIDENT, "answerCallbackQuery")) == RESIDENTS
    assert telegram.flood_refusals(RESIDENT) == 0
    assert busiest_second(telegram.sent_times(RESIDENT)) <= TELEGRAM_LIMITS.overall.count
    assert [
        r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR
    ] == []
