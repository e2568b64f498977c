"""Where each chat is in a bot conversation, kept in the database across restarts.

The bots' FSM storage (``bots/fsm_storage.py``) reads and writes through these functions;
a row per conversation key holds the state name and a small JSON dict of answers so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from core.storage.models import ConversationState
from core.storage.rawsql import fetch


async def conversation(key: str) -> tuple[str | None, dict[str, Any]]:
    """The state a conversation is in (None: none) and the answers it has collected."""
    rows = await fetch(
        'SELECT "state", "data" FROM "conversation_state" WHERE "key" = :key', key=key
    )
    if not rows:
        return None, {}
    data = ConversationState._meta.fields_map["data"].to_python_value(rows[0]["data"])
    return rows[0]["state"], dict(data or {})


async def save_conversation_state(key: str, state: str | None, now: datetime) -> None:
    """Move a conversation to ``state`` (None: out of any state)."""
    await _upsert(key, {"state": state, "updated_at": now})


async def save_conversation_data(key: str, data: Mapping[str, Any], now: datetime) -> None:
    """Replace a conversation's answers with ``data`` (JSON-serialisable values only)."""
    await _upsert(key, {"data": dict(data), "updated_at": now})


async def _upsert(key: str, values: dict[str, Any]) -> None:
    if await ConversationState.filter(key=key).update(**values):
        return
    try:
        await ConversationState.create(key=key, **values)
    except IntegrityError:  # created by a concurrent update of the same chat
        await ConversationState.filter(key=key).update(**values)
