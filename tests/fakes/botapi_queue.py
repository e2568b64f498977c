"""The pending updates of one bot, as getUpdates and webhook delivery consume them."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

JSON = dict[str, Any]

DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
"""Update types Telegram only delivers when ``allowed_updates`` asks for them."""


def update_type(update: JSON) -> str:
    """The kind of an update: its one field besides ``update_id``."""
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    """Updates waiting to be fetched or pushed, in ``update_id`` order.

    An update stays queued until confirmed: by a getUpdates ``offset`` above its id, or by a
    successful webhook delivery. Updates of a type the bot did not subscribe to
    (``allowed_updates``) are dropped when met, as Telegram never sends them.
    """

    def __init__(self) -> None:
        self._pending: list[JSON] = []
        self._last_update_id = 0
        self._arrived = asyncio.Event()
        self._closed = False
        self.allowed_updates: list[str] = []

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, update: JSON) -> JSON:
        """Queue an update under the next ``update_id`` and wake any waiting consumer."""
        self._last_update_id += 1
        queued = {"update_id": self._last_update_id, **update}
        self._pending.append(queued)
        self._arrived.set()
        return copy.deepcopy(queued)

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last ``-offset``."""
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def drop_all(self) -> None:
        """Forget every pending update (``drop_pending_updates``)."""
        self._pending.clear()

    def close(self) -> None:
        """Release every waiting consumer with no updates (the server is stopping)."""
        self._closed = True
        self._arrived.set()

    def ready(self, limit: int) -> list[JSON]:
        """Up to ``limit`` deliverable updates, without confirming them."""
        self._pending = [u for u in self._pending if self._wanted(u)]
        return copy.deepcopy(self._pending[:limit])

    async def wait_ready(self, limit: int, timeout: float | None) -> list[JSON]:
        """Like :meth:`ready`, but wait up to ``timeout`` seconds (None: forever) for one."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            batch = self.ready(limit)
            if batch or self._closed:
                return batch
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return []
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return self.ready(limit)

    def _wanted(self, update: JSON) -> bool:
        kind = update_type(update)
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES
