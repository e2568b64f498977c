"""Periodic jobs led by exactly one process of a cluster, handed over when it dies.

A job (the operations scheduler, IMAP polling, the voicemail drop folder, Telegram polling,
the Telegram webhook registration, the retention purge) is a coroutine function that runs
until the event it is given is set: it is set when the process loses the lead or stops.

**PostgreSQL**: the lead of a job is a session-level advisory lock
(``pg_try_advisory_lock``) held by a connection of its own, opened for nothing else.
Every ``check_s`` seconds each process tries the locks of the jobs it does not lead and
checks the connection with a query that must answer within ``check_s``. Why advisory locks
rather than lease rows with heartbeats: the lock is released by PostgreSQL itself the moment
the holder's connection ends (a killed process's socket is closed by its kernel; a dead
machine's is found by the TCP keepalives set on this connection, within about 25 s), no
clock of any machine is trusted, and nothing is written to keep a lead. A process that
cannot reach the database gives up its leads at once, before PostgreSQL lets another
process take them, so two processes never lead one job at the same time. A lock connection
closed under a live process (the backend killed by an administrator, PostgreSQL restarted)
frees its locks at once; the process resigns when its socket reports the close, so for a
moment both may run a job: the jobs are written to tolerate that (each action is marked once
in the database). Hand-over: at most
``check_s`` after the lock is free.

**SQLite** serves one process on one host: it leads every job from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import connections

from core.clock import Clock
from core.storage.cluster import NodeIdentity, heartbeat, leave

log = logging.getLogger("housedesk")

LeaderJob = Callable[[asyncio.Event], Awaitable[None]]
"""Runs until the event is set (the lead is lost or the process stops), then returns."""

KEEPALIVE = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5"}
"""PostgreSQL notices a dead machine's lock connection within about 25 s (3 probes)."""


def cancelled_on_resign(run: Callable[[], Awaitable[None]]) -> LeaderJob:
    """A leader job of a coroutine that runs until cancelled (IMAP polling, Telegram polling)."""

    async def job(resign: asyncio.Event) -> None:
        work = asyncio.ensure_future(run())
        waiting = asyncio.ensure_future(resign.wait())
        try:
            await asyncio.wait({work, waiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work

    return job


def lead_key(job: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job's lead."""
    digest = hashlib.blake2b(f"housedesk:lead:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    """The jobs this process may lead, the ones it leads now, and its heartbeat."""

    def __init__(self, identity: NodeIdentity, clock: Clock, *, check_s: float = 5.0) -> None:
        self.identity = identity
        self.clock = clock
        self.check_s = check_s
        self._jobs: dict[str, LeaderJob] = {}
        self._led: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}

    @property
    def node(self) -> str:
        """This process's node id."""
        return self.identity.node

    @property
    def leads(self) -> list[str]:
        """The jobs this process leads now."""
        return sorted(self._led)

    def add(self, name: str, job: LeaderJob) -> None:
        """Run ``job`` whenever this process leads ``name`` (add before :meth:`run`)."""
        self._jobs[name] = job

    def remove(self, name: str) -> None:
        """Stop contending for ``name``: the job's owner has stopped."""
        self._jobs.pop(name, None)

    async def run(self, stop: asyncio.Event) -> None:
        """Lead what can be led until ``stop``; then hand every lead back."""
        try:
            if connections.get("default").capabilities.dialect == "postgres":
                await self._contend(stop)
            else:
                for name in self._jobs:
                    self._start(name)
                await self._beat_until(stop)
        finally:
            await self._resign_all()
            with contextlib.suppress(Exception):
                await leave(self.node)

    async def _beat_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._heartbeat()
            await _wait(stop, self.check_s)

    async def _contend(self, stop: asyncio.Event) -> None:
        """Hold a lock connection, take free leads every ``check_s``; reconnect when lost."""
        while not stop.is_set():
            try:
                conn = await _lock_connection(self.node)
            except Exception as exc:  # the database is away: lead nothing, try again
                log.warning("cluster: cannot contend for leads (%s); retrying", exc)
                await _wait(stop, self.check_s)
                continue
            try:
                await self._lead_on(conn, stop)
            except Exception as exc:  # the lock connection is lost: so are the locks
                log.warning("cluster: lost the lock connection (%s); giving up leads", exc)
            finally:
                await self._resign_all()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), timeout=2)

    async def _lead_on(self, conn: Any, stop: asyncio.Event) -> None:
        """Take free leads every ``check_s`` until ``stop``; raise when ``conn`` is lost."""
        closed = asyncio.Event()  # set the moment the socket closes, not at the next check
        conn.add_termination_listener(lambda _conn: closed.set())
        while not stop.is_set():
            await self._take_free(conn)
            await conn.fetchval("SELECT 1", timeout=self.check_s)
            await self._heartbeat()
            await _wait_either(stop, closed, self.check_s)
            if closed.is_set():
                raise ConnectionError("connection is closed")

    async def _take_free(self, conn: Any) -> None:
        for name in self._jobs:
            if name in self._led:
                continue
            taken = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1)", lead_key(name), timeout=self.check_s
            )
            if taken:
                self._start(name)

    def _start(self, name: str) -> None:
        resign = asyncio.Event()
        task = asyncio.create_task(self._lead(name, resign), name=f"lead:{name}")
        self._led[name] = (task, resign)
        log.info("cluster: %s leads %s", self.node, name)

    async def _lead(self, name: str, resign: asyncio.Event) -> None:
        try:
            await self._jobs[name](resign)
        except Exception:
            log.exception("cluster: job %s ended with an error", name)

    async def _resign_all(self) -> None:
        led, self._led = self._led, {}
        for name, (_task, resign) in led.items():
            resign.set()
            log.info("cluster: %s no longer leads %s", self.node, name)
        for task, _resign in led.values():
            await task

    async def _heartbeat(self) -> None:
        """Write this process's row; never for longer than a check (a database that does not
        answer must not keep this process from contending again)."""
        try:
            await asyncio.wait_for(
                heartbeat(self.identity, self.leads, self.clock.now()), self.check_s
            )
        except Exception as exc:  # shown as gone meanwhile; the leads do not depend on it
            log.warning("cluster: heartbeat not written: %s", exc or type(exc).__name__)


async def _lock_connection(node: str) -> Any:
    """A connection of its own to the application's PostgreSQL database, named
    ``housedesk-lead:<node>`` in ``pg_stat_activity``."""
    import asyncpg  # the PostgreSQL driver, present whenever the dialect is

    db: Any = connections.get("default")
    return await asyncpg.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password,
        database=db.database,
        server_settings={
            **(db.server_settings or {}),
            **KEEPALIVE,
            "application_name": f"housedesk-lead:{node}"[:63],
        },
        timeout=10,
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_either(first: asyncio.Event, second: asyncio.Event, seconds: float) -> None:
    """Wait until either event is set, or ``seconds`` pass."""
    waits = {asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())}
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
