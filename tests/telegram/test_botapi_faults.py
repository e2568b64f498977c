"""Injected failures of the stand-in reach aiogram as Telegram's real failures do."""

from __future__ import annotations

import time

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_errors import Fault
from tests.telegram.support import RESIDENT_BOT_TOKEN, aiogram_bot

TOKEN = RESIDENT_BOT_TOKEN


@pytest.mark.parametrize(
    ("kind", "error", "text"),
    [
        (Fault.SERVER_ERROR, TelegramServerError, "Internal Server Error"),
        (Fault.BAD_GATEWAY, TelegramServerError, "Bad Gateway"),
        (Fault.PROXY_PAGE, ClientDecodeError, "502 Bad Gateway"),
        (Fault.BLOCKED, TelegramForbiddenError, "bot was blocked by the user"),
        (Fault.CHAT_NOT_FOUND, TelegramBadRequest, "chat not found"),
    ],
)
async def test_a_fault_fails_only_the_next_call(
    botapi: BotApiServer, kind: Fault, error: type[Exception], text: str
) -> None:
    botapi.add_bot(TOKEN)
    bot = aiogram_bot(botapi, TOKEN)
    botapi.fail_next(TOKEN, "sendMessage", kind)
    try:
        with pytest.raises(error, match=text):
            await bot.send_message(42, "Ticket T-17 opened")
        sent = await bot.send_message(42, "Ticket T-17 opened")
    finally:
        await bot.session.close()

    assert sent.message_id == 1
    assert [c.fault for c in botapi.calls(TOKEN, "sendMessage")] == [kind.value, None]


async def test_too_many_requests_carries_retry_after(botapi: BotApiServer) -> None:
    botapi.add_bot(TOKEN)
    bot = aiogram_bot(botapi, TOKEN)
    botapi.fail_next(TOKEN, "sendmessage", "429", count=2, retry_after=13)
    try:
        for _ in range(2):
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(42, "hello")
            assert caught.value.retry_after == 13
        await bot.send_message(42, "hello")
    finally:
        await bot.session.close()

    assert len(botapi.messages(TOKEN, 42)) == 1


async def test_a_timeout_holds_the_request_past_the_client_timeout(botapi: BotApiServer) -> None:
    botapi.add_bot(TOKEN)
    bot = aiogram_bot(botapi, TOKEN, request_timeout=0.3)
    botapi.fail_next(TOKEN, "sendMessage", Fault.TIMEOUT)
    started = time.monotonic()
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(42, "hello")
    finally:
        await bot.session.close()

    assert 0.25 < time.monotonic() - started < 2
    assert botapi.messages(TOKEN, 42) == []


async def test_a_custom_description_replaces_telegrams_wording(botapi: BotApiServer) -> None:
    botapi.add_bot(TOKEN)
    bot = aiogram_bot(botapi, TOKEN)
    botapi.fail_next(
        TOKEN, "sendMessage", Fault.BLOCKED, description="Forbidden: user is deactivated"
    )
    try:
        with pytest.raises(TelegramForbiddenError, match="user is deactivated"):
            await bot.send_message(42, "hello")
    finally:
        await bot.session.close()
