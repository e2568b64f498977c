"""An aiogram Dispatcher polling the stand-in answers residents and stops cleanly."""

from __future__ import annotations

import asyncio
import time

from aiogram import Dispatcher
from aiogram.types import Message

from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import message_update, private_chat, user
from tests.telegram.support import RESIDENT_BOT_TOKEN, aiogram_bot

TOKEN = RESIDENT_BOT_TOKEN
RESIDENT = user(5550001, "Mina")


async def test_polling_echo_bot_answers_and_stops(botapi: BotApiServer) -> None:
    botapi.add_bot(TOKEN)
    bot = aiogram_bot(botapi, TOKEN)
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    try:
        botapi.add_update(TOKEN, message_update(RESIDENT, private_chat(RESIDENT), "Leak in 4B"))
        reply = await botapi.wait_for_call(TOKEN, "sendMessage", timeout=5)
        await botapi.wait_for_call(
            TOKEN, "getUpdates", lambda call: call.params.get("offset") == 2, timeout=5
        )
    finally:
        stopping = time.monotonic()
        await dispatcher.stop_polling()
        await asyncio.wait_for(polling, timeout=5)

    assert time.monotonic() - stopping < 2
    assert reply.params == {"chat_id": RESIDENT["id"], "text": "echo: Leak in 4B"}
    assert [m["text"] for m in botapi.messages(TOKEN, RESIDENT["id"])] == [
        "Leak in 4B",
        "echo: Leak in 4B",
    ]
    assert botapi.pending_updates(TOKEN) == 0
