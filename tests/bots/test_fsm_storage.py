"""Conversation state survives a restart: in the database, or in Redis when configured."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from redis.exceptions import ConnectionError as RedisConnectionError

from bots.fsm_storage import DatabaseStorage, conversation_storage
from core.clock import FrozenClock
from core.storage.db import close_db, open_db
from core.storage.models import ConversationState

REDIS_URL = "redis://127.0.0.1:6379/15"


class Flow(StatesGroup):
    asking = State()


def key(bot_id: int = 710000001, chat_id: int = 5550001) -> StorageKey:
    return StorageKey(bot_id=bot_id, chat_id=chat_id, user_id=chat_id)


async def test_state_and_data_survive_a_restart(db_url: str, clock: FrozenClock) -> None:
    await open_db(db_url)
    before = DatabaseStorage(clock)
    await before.set_state(key(), Flow.asking)
    await before.update_data(key(), {"category": "emergency"})
    await before.update_data(key(), {"building": "OAK"})
    await close_db()

    await open_db(db_url)  # a deploy: a new process, a new storage object
    clock.advance(timedelta(minutes=5))
    after = DatabaseStorage(clock)
    assert await after.get_state(key()) == "Flow:asking"
    assert await after.get_data(key()) == {"category": "emergency", "building": "OAK"}
    assert await after.get_state(key(bot_id=710000002)) is None  # the other bot's chat
    await after.set_state(key(), None)
    await after.set_data(key(), {})
    assert (await after.get_state(key()), await after.get_data(key())) == (None, {})
    assert await ConversationState.filter(updated_at=clock.now()).count() == 1
    await close_db()


async def test_data_must_be_a_dict(db: str, clock: FrozenClock) -> None:
    from aiogram.exceptions import DataNotDictLikeError

    with pytest.raises(DataNotDictLikeError):
        await DatabaseStorage(clock).set_data(key(), [("a", 1)])  # type: ignore[arg-type]


async def test_redis_storage_when_configured(clock: FrozenClock) -> None:
    storage, isolation = conversation_storage(clock, REDIS_URL)
    chat = key(chat_id=int(uuid.uuid4().int % 10**9))
    try:
        try:
            await storage.set_state(chat, Flow.asking)
        except (OSError, RedisConnectionError) as exc:
            pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
        await storage.set_data(chat, {"ticket": 7})
        again, _ = conversation_storage(clock, REDIS_URL)
        assert await again.get_state(chat) == "Flow:asking"
        assert await again.get_data(chat) == {"ticket": 7}
        await again.set_state(chat, None)
        await again.set_data(chat, {})
        await again.close()
    finally:
        await storage.close()
        await isolation.close()


async def test_saving_what_the_chat_already_has_writes_nothing(db: str, clock: FrozenClock) -> None:
    storage = DatabaseStorage(clock)
    await storage.set_state(key(), Flow.asking)
    await storage.set_data(key(), {"building": "OAK"})
    saved = clock.now()
    clock.advance(timedelta(minutes=1))  # the next update of the chat
    assert await storage.get_state(key()) == "Flow:asking"
    await storage.set_state(key(), Flow.asking)
    await storage.set_data(key(), {"building": "OAK"})
    assert await ConversationState.filter(updated_at=saved).count() == 1  # untouched

    await storage.set_data(key(), {"building": "OAK", "flat": "12"})
    await storage.set_state(key(), None)
    fresh = DatabaseStorage(clock)  # another update, read from the database
    assert await fresh.get_state(key()) is None
    assert await fresh.get_data(key()) == {"building": "OAK", "flat": "12"}
    assert await ConversationState.filter(updated_at=clock.now()).count() == 1
