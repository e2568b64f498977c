"""Waking the outbox lanes when rows are written, instead of polling.

In one process, :func:`announce` sets the waiting lanes' events once the enqueuing
transaction has committed (:func:`core.storage.aftercommit.after_commit`). On PostgreSQL it
also sends ``NOTIFY housedesk_outbox, '<route>'`` inside that transaction, which PostgreSQL
delivers on commit to every process running a :class:`PgListener` (this one included).
A lane still polls now and then, in case a signal is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from tortoise import connections

from core.storage.aftercommit import after_commit

log = logging.getLogger(__name__)

CHANNEL = "housedesk_outbox"
"""The PostgreSQL notification channel; the payload is the route."""


class Wakeups:
    """The events of the lanes waiting in this process, by route."""

    def __init__(self) -> None:
        self._events: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def subscribe(self, route: str, event: asyncio.Event) -> None:
        """Set ``event`` whenever rows of ``route`` were written."""
        self._events[route].add(event)

    def unsubscribe(self, route: str, event: asyncio.Event) -> None:
        """Stop setting ``event``."""
        self._events[route].discard(event)

    def wake(self, route: str) -> None:
        """Wake every lane of ``route``."""
        for event in self._events.get(route, ()):
            event.set()


WAKEUPS = Wakeups()
"""The process's lanes."""


async def announce(route: str) -> None:
    """Say that a row of ``route`` was written in the current transaction (or just now)."""
    db = connections.get("default")
    if db.capabilities.dialect == "postgres":
        await db.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, route])
    after_commit(lambda: WAKEUPS.wake(route))


class PgListener:
    """``LISTEN housedesk_outbox`` on a connection of its own, waking this process's lanes
    for rows other processes wrote; reconnects after losing the connection."""

    def __init__(self, wakeups: Wakeups = WAKEUPS, retry_seconds: float = 5.0) -> None:
        self.wakeups = wakeups
        self.retry_seconds = retry_seconds
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set (nothing to do on SQLite)."""
        db: Any = connections.get("default")
        if db.capabilities.dialect != "postgres":
            return
        import asyncpg  # the PostgreSQL driver, present whenever the dialect is

        while not stop.is_set():
            try:
                conn = await asyncpg.connect(
                    host=db.host,
                    port=db.port,
                    user=db.user,
                    password=db.password,
                    database=db.database,
                    server_settings=db.server_settings,
                )
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox: cannot listen for new rows (%s); polling meanwhile", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.retry_seconds)
                continue
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn, event=lost: event.set())
            try:
                await conn.add_listener(CHANNEL, self._notified)
                self.listening.set()
                await _first(stop.wait(), lost.wait())
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    def _notified(self, _conn: object, _pid: int, _channel: str, route: str) -> None:
        self.wakeups.wake(route)


async def _first(*waits: Any) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
