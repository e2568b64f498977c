"""Fixtures of the Telegram tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from aiogram import Bot

from tests.fakes.botapi import BotApiServer, botapi
from tests.telegram.support import RESIDENT_BOT_TOKEN, aiogram_bot

__all__ = ["botapi", "resident_bot"]


@pytest_asyncio.fixture
async def resident_bot(botapi: BotApiServer) -> AsyncIterator[Bot]:
    """An aiogram bot registered as RESIDENT_BOT_TOKEN on the stand-in."""
    botapi.add_bot(RESIDENT_BOT_TOKEN)
    bot = aiogram_bot(botapi, RESIDENT_BOT_TOKEN)
    yield bot
    await bot.session.close()
