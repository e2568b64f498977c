"""Direct answers under Telegram's flood control: waited out, retried, never lost, and ahead
of the outbox's bulk rows that share the bot's budget. Against the stand-in playing Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from bots.answer_budget import AnswerRetry, BudgetedAnswers
from bots.rate_budget import BudgetLimits, RateBudget, Window
from bots.telegram_sender import TelegramSender
from core.messaging.delivery import Delivery
from core.messaging.message import OutgoingMessage
from core.messaging.routes import Priority, Route
from core.storage.blobs.local import LocalBlobStore
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_errors import Fault
from tests.fakes.botapi_limits import TELEGRAM_LIMITS
from tests.fakes.botapi_updates import callback_update, user
from tests.telegram.support import RESIDENT_BOT_TOKEN

TOKEN = RESIDENT_BOT_TOKEN
CHAT = 5550001
QUICK = AnswerRetry(attempts=4, first_backoff_s=0.05)


@pytest_asyncio.fixture
async def telegram() -> AsyncIterator[BotApiServer]:
    """The stand-in with Telegram's rate limits, serving TOKEN."""
    async with BotApiServer(limits=TELEGRAM_LIMITS) as server:
        server.add_bot(TOKEN)
        yield server


def budgeted_bot(server: BotApiServer, budget: RateBudget, retry: AnswerRetry = QUICK) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    session.middleware(BudgetedAnswers(budget, retry))
    return Bot(TOKEN, session=session)


@pytest_asyncio.fixture
async def bot(telegram: BotApiServer) -> AsyncIterator[Bot]:
    bot = budgeted_bot(telegram, RateBudget())
    yield bot
    await bot.session.close()


def texts(server: BotApiServer, chat: int) -> list[str]:
    return [m.get("text", "") for m in server.messages(TOKEN, chat) if m["from"]["is_bot"]]


async def test_the_stand_in_answers_429_beyond_30_messages_a_second(
    telegram: BotApiServer,
) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.url))
    plain = Bot(TOKEN, session=session)  # no budget: what the handlers did before
    try:
        results = await asyncio.gather(
            *(plain.send_message(7000 + n, "Water off at 10:00") for n in range(40)),
            return_exceptions=True,
        )
    finally:
        await session.close()

    refused = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert len(refused) == 10 and all(r.retry_after == 1 for r in refused)
    assert telegram.flood_refusals(TOKEN) == 10


async def test_the_stand_in_answers_429_to_an_eleventh_message_at_once_to_one_chat(
    telegram: BotApiServer,
) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.url))
    plain = Bot(TOKEN, session=session)
    try:
        for n in range(10):
            await plain.send_message(CHAT, f"Part {n}")
        with pytest.raises(TelegramRetryAfter):
            await plain.send_message(CHAT, "Part 10")
    finally:
        await session.close()

    assert len(texts(telegram, CHAT)) == 10


async def test_a_burst_of_answers_stays_under_the_limit_and_all_arrive(
    telegram: BotApiServer, bot: Bot
) -> None:
    await asyncio.gather(*(bot.send_message(7000 + n, f"Menu {n}") for n in range(60)))

    assert all(texts(telegram, 7000 + n) == [f"Menu {n}"] for n in range(60))
    assert telegram.flood_refusals(TOKEN) == 0


async def test_a_429_on_an_answer_is_waited_out_and_the_answer_sent(
    telegram: BotApiServer, bot: Bot
) -> None:
    telegram.fail_next(TOKEN, "sendMessage", Fault.TOO_MANY_REQUESTS, retry_after=1)

    await bot.send_message(CHAT, "Describe the problem")

    first, second = telegram.calls(TOKEN, "sendMessage")
    assert first.fault == "429" and second.fault is None
    assert second.at - first.at >= 1.0
    assert texts(telegram, CHAT) == ["Describe the problem"]


async def test_a_429_on_a_button_answer_is_retried_too(telegram: BotApiServer, bot: Bot) -> None:
    menu = await bot.send_message(CHAT, "How can we help?")
    pressed = telegram.add_update(TOKEN, callback_update(user(CHAT), menu.message_id, "menu"))
    telegram.fail_next(TOKEN, "answerCallbackQuery", Fault.TOO_MANY_REQUESTS, retry_after=1)

    assert await bot.answer_callback_query(pressed["callback_query"]["id"]) is True

    first, second = telegram.calls(TOKEN, "answerCallbackQuery")
    assert second.at - first.at >= 1.0


async def test_server_errors_on_an_answer_are_retried_with_backoff(
    telegram: BotApiServer, bot: Bot
) -> None:
    telegram.fail_next(TOKEN, "sendMessage", Fault.BAD_GATEWAY, count=2)

    await bot.send_message(CHAT, "How can we help?")

    assert [c.fault for c in telegram.calls(TOKEN, "sendMessage")] == ["502", "502", None]
    assert texts(telegram, CHAT) == ["How can we help?"]


async def test_an_answer_that_keeps_failing_raises_after_a_few_tries(
    telegram: BotApiServer, bot: Bot
) -> None:
    telegram.fail_next(TOKEN, "sendMessage", Fault.SERVER_ERROR, count=10)

    with pytest.raises(TelegramServerError):
        await bot.send_message(CHAT, "How can we help?")

    assert len(telegram.calls(TOKEN, "sendMessage")) == QUICK.attempts
    assert texts(telegram, CHAT) == []


async def test_bulk_rows_yield_to_direct_answers_in_the_shared_budget(
    telegram: BotApiServer, tmp_path: Path
) -> None:
    budget = RateBudget(BudgetLimits(overall=Window(5, 1.0)))
    bot = budgeted_bot(telegram, budget)
    announcement = OutgoingMessage("The water is off on Friday", automatic=True)
    rows = [
        Delivery(
            id=n,
            route=Route.RESIDENT_CHAT,
            recipient=str(8000 + n),
            message=announcement,
            attempts=1,
            priority=Priority.BULK,
        )
        for n in range(15)
    ]
    async with TelegramSender(
        TOKEN, telegram.url, LocalBlobStore(tmp_path), budget=budget
    ) as sender:
        bulk = [asyncio.create_task(sender(row)) for row in rows]
        await telegram.wait_for_call(TOKEN, "sendMessage")  # the first second's five are out
        await bot.send_message(CHAT, "Describe the problem")
        await asyncio.gather(*bulk)
    await bot.session.close()

    order = [c.params["chat_id"] for c in telegram.calls(TOKEN, "sendMessage")]
    assert order.index(CHAT) <= 6  # the next free slot, before ten older announcement rows
    assert len(order) == 16


async def test_a_429_too_long_to_wait_out_is_raised_and_still_pauses_the_bot(
    telegram: BotApiServer,
) -> None:
    budget = RateBudget()
    impatient = budgeted_bot(telegram, budget, AnswerRetry(longest_wait_s=0.5))
    telegram.fail_next(TOKEN, "sendMessage", Fault.TOO_MANY_REQUESTS, retry_after=1)
    try:
        with pytest.raises(TelegramRetryAfter):
            await impatient.send_message(CHAT, "How can we help?")
        refused = telegram.calls(TOKEN, "sendMessage")[0]
        await impatient.send_message(CHAT + 1, "How can we help?")
    finally:
        await impatient.session.close()

    sent = telegram.calls(TOKEN, "sendMessage")[1]
    assert sent.at - refused.at >= 0.9  # the other chat's answer waited for the pause
