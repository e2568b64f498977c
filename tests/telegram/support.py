"""Shared bits of the Telegram tests: bot tokens, images, an aiogram bot on the stand-in."""

from __future__ import annotations

import io

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from PIL import Image

from tests.fakes.botapi import BotApiServer

RESIDENT_BOT_TOKEN = "710000001:AAresidentBotTokenForTestsOnly-0123456"
STAFF_BOT_TOKEN = "710000002:AAstaffBotTokenForTestsOnly-01234567890"


def png(width: int = 4, height: int = 3, color: str = "red") -> bytes:
    """A small real PNG image (the stand-in rejects photos it cannot decode)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def aiogram_bot(server: BotApiServer, token: str, *, request_timeout: float = 5.0) -> Bot:
    """An aiogram Bot that talks to the stand-in over HTTP; close its session when done."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url), timeout=request_timeout)
    return Bot(token, session=session)
