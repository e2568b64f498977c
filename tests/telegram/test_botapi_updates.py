"""Getting updates from the stand-in: long polling, offsets, and webhook pushes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import (
    callback_update,
    group_chat,
    message_update,
    my_chat_member_update,
    private_chat,
    user,
)
from tests.telegram.support import RESIDENT_BOT_TOKEN

TOKEN = RESIDENT_BOT_TOKEN
RESIDENT = user(5550001, "Mina")
CHAT = private_chat(RESIDENT)
SECRET = "webhook-secret-4b"


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app on an ephemeral port of 127.0.0.1; yield its root URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    poll = asyncio.create_task(resident_bot.get_updates(timeout=10))
    await botapi.wait_for_call(TOKEN, "getUpdates")
    await asyncio.sleep(0.05)
    assert not poll.done()

    started = time.monotonic()
    botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "The lift is stuck"))
    updates = await asyncio.wait_for(poll, timeout=2)

    assert time.monotonic() - started < 0.5
    assert [u.message.text for u in updates if u.message] == ["The lift is stuck"]


async def test_an_idle_long_poll_ends_after_its_timeout(resident_bot: Bot) -> None:
    started = time.monotonic()

    assert await resident_bot.get_updates(timeout=1) == []

    assert 0.9 < time.monotonic() - started < 2


async def test_updates_stay_until_an_offset_confirms_them(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    for text in ("one", "two"):
        botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, text))

    first = await resident_bot.get_updates()
    again = await resident_bot.get_updates()
    assert [u.update_id for u in first] == [u.update_id for u in again] == [1, 2]

    assert await resident_bot.get_updates(offset=3) == []
    assert botapi.pending_updates(TOKEN) == 0
    botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "three"))
    [third] = await resident_bot.get_updates(offset=3)
    assert third.update_id == 3 and third.message is not None
    assert third.message.text == "three"


async def test_limit_and_negative_offset(botapi: BotApiServer, resident_bot: Bot) -> None:
    for text in ("a", "b", "c"):
        botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, text))

    assert [u.update_id for u in await resident_bot.get_updates(limit=2)] == [1, 2]
    assert [u.update_id for u in await resident_bot.get_updates(offset=-1)] == [3]
    assert botapi.pending_updates(TOKEN) == 1


async def test_updates_outside_allowed_updates_are_never_delivered(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    botapi.add_update(TOKEN, callback_update(RESIDENT, 1, "close:T-1"))
    botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "hello"))

    updates = await resident_bot.get_updates(allowed_updates=["message"])

    assert [u.update_id for u in updates] == [2]


async def test_a_blocked_bot_learns_it_from_my_chat_member(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    me = (await resident_bot.get_me()).model_dump(exclude_none=True)
    botapi.add_update(TOKEN, my_chat_member_update(RESIDENT, CHAT, me))

    [update] = await resident_bot.get_updates()

    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    assert update.my_chat_member.chat.id == RESIDENT["id"]


async def test_group_messages_keep_the_group_chat(botapi: BotApiServer, resident_bot: Bot) -> None:
    board = group_chat(-1001234567890, "Building 4B residents")
    botapi.add_update(TOKEN, message_update(RESIDENT, board, "/report lift"))

    [update] = await resident_bot.get_updates()
    reply = await resident_bot.send_message(board["id"], "Reported")

    assert update.message is not None and update.message.chat.type == "supergroup"
    assert update.message.entities is not None
    assert update.message.entities[0].type == "bot_command"
    assert reply.chat.title == "Building 4B residents"


async def test_webhook_pushes_updates_with_the_secret_and_runs_the_reply(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        update = received[-1][1]
        return web.json_response(
            {"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": "Got it"}
        )

    app = web.Application()
    app.router.add_post("/hook", receive)
    async with serving(app) as root:
        assert await resident_bot.set_webhook(f"{root}/hook", secret_token=SECRET)
        botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "Boiler is off"))

        reply = await botapi.wait_for_call(TOKEN, "sendMessage")
        info = await resident_bot.get_webhook_info()

    assert received[0][0] == SECRET
    assert received[0][1]["message"]["text"] == "Boiler is off"
    assert received[0][1]["update_id"] == 1
    assert reply.via == "webhook_reply"
    assert reply.params == {"chat_id": RESIDENT["id"], "text": "Got it"}
    assert [m["text"] for m in botapi.messages(TOKEN, RESIDENT["id"])] == [
        "Boiler is off",
        "Got it",
    ]
    assert info.url == f"{root}/hook" and info.pending_update_count == 0


async def test_get_updates_conflicts_with_an_active_webhook(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    await resident_bot.set_webhook("http://127.0.0.1:9/hook")

    with pytest.raises(TelegramConflictError):
        await resident_bot.get_updates()
    await resident_bot.delete_webhook()
    assert await resident_bot.get_updates() == []


async def test_a_second_poller_ends_the_waiting_long_poll_with_a_conflict(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    first = asyncio.create_task(resident_bot.get_updates(timeout=10))
    await botapi.wait_for_call(TOKEN, "getUpdates")
    second = asyncio.create_task(resident_bot.get_updates(timeout=10))

    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, timeout=2)
    botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "The lift is stuck"))
    assert [u.message.text for u in await asyncio.wait_for(second, 2) if u.message] == [
        "The lift is stuck"
    ]
    assert botapi.poll_conflicts(TOKEN) == 1


async def test_a_poller_that_went_away_is_no_conflict(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    gone = asyncio.create_task(resident_bot.get_updates(timeout=10))
    await botapi.wait_for_call(TOKEN, "getUpdates")
    gone.cancel()  # the poller died: its connection is closed
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.sleep(0.2)

    assert await resident_bot.get_updates(timeout=0) == []
    assert botapi.poll_conflicts(TOKEN) == 0


async def test_aiogram_webhook_handler_answers_in_the_response(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> Any:
        return message.answer(f"echo: {message.text}")

    app = web.Application()
    SimpleRequestHandler(
        dispatcher, resident_bot, handle_in_background=False, secret_token=SECRET
    ).register(app, "/tg")
    async with serving(app) as root:
        await resident_bot.set_webhook(f"{root}/tg", secret_token=SECRET)
        botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "hi"))

        reply = await botapi.wait_for_call(TOKEN, "sendMessage")

    assert reply.via == "webhook_reply"
    assert reply.params["text"] == "echo: hi"
    assert reply.params["chat_id"] == RESIDENT["id"]


async def test_a_wrong_secret_is_refused_and_the_update_kept(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    dispatcher = Dispatcher()
    app = web.Application()
    SimpleRequestHandler(dispatcher, resident_bot, secret_token=SECRET).register(app, "/tg")
    async with serving(app) as root:
        await resident_bot.set_webhook(f"{root}/tg", secret_token="not-the-secret")
        botapi.add_update(TOKEN, message_update(RESIDENT, CHAT, "hi"))

        for _ in range(50):
            info = await resident_bot.get_webhook_info()
            if info.last_error_message:
                break
            await asyncio.sleep(0.02)
        await resident_bot.delete_webhook()

    assert info.last_error_message is not None and "401" in info.last_error_message
    assert info.pending_update_count == 1
    [kept] = await resident_bot.get_updates()
    assert kept.message is not None and kept.message.text == "hi"
