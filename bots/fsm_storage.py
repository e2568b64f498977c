"""An aiogram FSM storage in housedesk's database, so conversations survive restarts."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.memory import SimpleEventIsolation

from core.clock import Clock
from core.storage.conversations import conversation, save_conversation_data, save_conversation_state

_READ: ContextVar[tuple[str, str | None, dict[str, Any]] | None] = ContextVar(
    "fsm_read", default=None
)
"""The chat's state and answers as read at the start of the update being handled (and as
this update saved them since)."""


class DatabaseStorage(BaseStorage):
    """Keeps each chat's state and answers in ``conversation_state`` rows.

    Keys include the bot id, so the residents' and the staff bot share the table safely.
    aiogram asks for the state at the start of every update; the answers come with it in the
    same query and serve the update's later ``get_data`` (the chat's event-isolation lock
    keeps other updates of the chat out meanwhile, and one process has a chat's updates in
    hand at a time). Saving what the chat already has writes nothing: most updates clear a
    state and answers they never had.
    """

    def __init__(self, clock: Clock, key_builder: KeyBuilder | None = None) -> None:
        self.clock = clock
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        """Move the chat to ``state`` (None leaves every state)."""
        value = state.state if isinstance(state, State) else state
        name = self._key(key)
        read = _READ.get()
        if read is not None and read[0] == name:
            if read[1] == value:
                return
            _READ.set((name, value, read[2]))
        await save_conversation_state(name, value, self.clock.now())

    async def get_state(self, key: StorageKey) -> str | None:
        """The chat's current state (its answers are kept for this update's ``get_data``)."""
        name = self._key(key)
        state, data = await conversation(name)
        _READ.set((name, state, data))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        """Replace the chat's answers."""
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        name = self._key(key)
        read = _READ.get()
        if read is not None and read[0] == name and read[2] == data:
            return
        await save_conversation_data(name, data, self.clock.now())
        _READ.set((name, read[1] if read is not None and read[0] == name else None, dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        """The chat's answers so far."""
        name = self._key(key)
        read = _READ.get()
        if read is not None and read[0] == name:
            return dict(read[2])
        return (await conversation(name))[1]

    async def close(self) -> None:
        """Nothing to close: the database belongs to the application."""


def conversation_storage(
    clock: Clock, redis_url: str | None = None
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Where conversations live (Redis when configured, else the database), and the lock that
    makes the updates of one chat run one at a time (albums arrive as several at once)."""
    key_builder = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
    if redis_url:
        # Only installations that use Redis need the redis client (aiogram[redis]).
        from aiogram.fsm.storage.redis import RedisStorage

        redis = RedisStorage.from_url(redis_url, key_builder=key_builder)
        return redis, redis.create_isolation()
    return DatabaseStorage(clock, key_builder), SimpleEventIsolation()
