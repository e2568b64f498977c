"""Running the operations jobs on a timer, each job in one process at a time.

APScheduler's ``AsyncIOScheduler`` calls :meth:`OpsScheduler.tick` every
``tick_interval_s``; a tick runs every job (:attr:`core.operations.jobs.Operations.jobs`) under
a lock named after the job:

* **PostgreSQL**: ``pg_try_advisory_xact_lock`` in a transaction held open, on a
  connection of its own, while the job runs. The process that gets the lock runs the job;
  the others skip it this round. The lock goes with that commit, or with the connection of
  a process that died.
* **SQLite**: one process per database file is assumed (SQLite serves one host); the
  unique keys of ``ops_mark`` and of the outbox keep a second process from repeating a
  breach or a message all the same.

Either way a job commits in small transactions (one per ticket, plan or manager), so
nothing else waits behind a whole round.

The jobs derive what is due from the database, so a restart, or another process taking
over, carries on where the last run stopped; a tick missed while the process was busy is
coalesced into the next one.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from tortoise import connections
from tortoise.transactions import in_transaction

from core.clock import Clock
from core.operations.jobs import Job

log = logging.getLogger(__name__)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name."""
    digest = hashlib.blake2b(f"housedesk:ops:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def run_exclusive(name: str, job: Job, now: datetime) -> int | None:
    """Run ``job`` at ``now`` holding the lock ``name``; None when another process holds it.

    The job commits in small transactions of its own; on PostgreSQL the lock is held by a
    transaction on a connection of its own that does nothing else until the job ends.
    """
    outside = contextvars.copy_context()  # the job runs outside the lock's transaction
    if connections.get("default").capabilities.dialect != "postgres":
        return await job(now)
    async with in_transaction() as conn:
        rows = await conn.execute_query_dict(
            "SELECT pg_try_advisory_xact_lock($1) AS locked", [lock_key(name)]
        )
        if not rows[0]["locked"]:
            return None
        return await asyncio.create_task(_run(job, now), name=f"operations-{name}", context=outside)


async def _run(job: Job, now: datetime) -> int:
    return await job(now)


class OpsScheduler:
    """Ticks the jobs on an interval inside the running event loop.

    ``healthy`` says whether every job of the last tick ran, ``last_round_at`` when the
    last tick began and ``last_round_s`` how long it took (``/healthz`` shows them).
    """

    JOB_ID = "operations-tick"

    def __init__(self, jobs: Mapping[str, Job], clock: Clock, interval_s: float) -> None:
        self.jobs = jobs
        self.clock = clock
        self.interval_s = interval_s
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.healthy = True
        self.last_round_at: datetime | None = None
        self.last_round_s: float | None = None
        self._inflight: asyncio.Task[dict[str, int | None]] | None = None

    async def tick(self) -> dict[str, int | None]:
        """Run every job once under its lock: what each did (None: skipped or failed)."""
        now = self.clock.now()
        started = time.monotonic()
        done: dict[str, int | None] = {}
        healthy = True
        for name, job in self.jobs.items():
            try:
                done[name] = await run_exclusive(name, job, now)
            except Exception:  # the database may be away: the next tick tries again
                healthy = False
                log.exception("operations: job %s failed", name)
                done[name] = None
        self.healthy = healthy
        self.last_round_at, self.last_round_s = now, time.monotonic() - started
        return done

    async def _scheduled_tick(self) -> None:
        # APScheduler cancels running jobs when it shuts down; a transaction cancelled
        # half-way would keep SQLite's connection lock, so the tick runs as a task of
        # its own that a cancellation of this wrapper does not reach.
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.create_task(self.tick(), name="operations-tick")
        await asyncio.shield(self._inflight)

    def start(self) -> None:
        """Start ticking now and then every ``interval_s`` (call inside the event loop)."""
        self.scheduler = AsyncIOScheduler(timezone=UTC)  # a lead may be lost and taken back
        self.scheduler.add_job(
            self._scheduled_tick,
            IntervalTrigger(seconds=self.interval_s),
            id=self.JOB_ID,
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.start()
        log.info("operations: scheduler started (every %ss)", self.interval_s)

    async def lead(self, resign: asyncio.Event) -> None:
        """Tick while this process leads the scheduler (see :mod:`housedesk.cluster`)."""
        self.start()
        try:
            await resign.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Stop ticking and let a tick in flight finish (call before closing the database)."""
        if not self.scheduler.running:
            return
        self.scheduler.pause()
        if self._inflight is not None:
            await asyncio.wait([self._inflight])
        self.scheduler.shutdown(wait=False)
        log.info("operations: scheduler stopped")
