"""The scheduler: APScheduler ticks the jobs; with several processes each job runs in one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import timedelta

import asyncpg
import pytest

from core.operations.jobs import Operations
from core.storage.models import EventType, OutboxMessage, TicketEvent
from housedesk.bootstrap import App
from housedesk.scheduler import OpsScheduler, lock_key, run_exclusive
from tests.conftest import REPO
from tests.core.ops_world import build_world, new_ticket, routed


async def test_apscheduler_ticks_the_jobs_in_the_running_loop(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets))
    ticket = await new_ticket(app.tickets, world, "emergency", title="Leak")
    app.clock.advance(timedelta(minutes=31))
    scheduler = OpsScheduler(operations.jobs, app.clock, interval_s=0.05)
    scheduler.start()
    try:
        for _ in range(100):
            if await TicketEvent.exists(ticket=ticket, type=EventType.DEADLINE_BREACH):
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert await TicketEvent.filter(ticket=ticket, type=EventType.DEADLINE_BREACH).count() == 1
    assert scheduler.healthy


async def test_run_exclusive_runs_the_job_on_sqlite(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets))
    await new_ticket(app.tickets, world, "emergency", title="Leak")
    app.clock.advance(timedelta(minutes=31))
    assert await run_exclusive("deadlines", operations.run_deadlines, app.clock.now()) == 1


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("deadlines") == lock_key("deadlines")
    assert len({lock_key(n) for n in ("routing", "deadlines", "digest")}) == 3
    assert all(-(2**63) <= lock_key(n) < 2**63 for n in ("routing", "deadlines", "digest"))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


@pytest.mark.postgres
async def test_a_job_locked_by_another_connection_is_skipped(app: App, db: str) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets))
    ticket = await new_ticket(app.tickets, world, "emergency", title="Leak")
    app.clock.advance(timedelta(minutes=31))
    other = await asyncpg.connect(_asyncpg_dsn(db))
    try:
        async with other.transaction():
            await other.execute("SELECT pg_advisory_xact_lock($1)", lock_key("deadlines"))
            skipped = await run_exclusive("deadlines", operations.run_deadlines, app.clock.now())
        ran = await run_exclusive("deadlines", operations.run_deadlines, app.clock.now())
    finally:
        await other.close()
    assert (skipped, ran) == (None, 1)
    assert await TicketEvent.filter(ticket=ticket, type=EventType.DEADLINE_BREACH).count() == 1


@pytest.mark.postgres
async def test_two_scheduler_processes_fire_each_job_once(app: App, db: str) -> None:
    world = await build_world()
    routed(app.tickets)
    tickets = [
        await new_ticket(app.tickets, world, "emergency", title=f"Leak {n}") for n in range(20)
    ]
    app.clock.advance(timedelta(minutes=31))
    start = time.time() + 8  # both processes are up and wait for this moment
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.core.ops_race",
                db,
                app.clock.now().isoformat(),
                str(start),
            ],
            cwd=REPO,
            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        results.append(json.loads(out))

    for job in ("routing", "deadlines", "digest"):
        ran = [r[job] for r in results if r[job] is not None]
        assert len(ran) == 1, (job, results)
    assert sum(r["deadlines"] or 0 for r in results) == 20
    assert sum(r["digest"] or 0 for r in results) == 1
    for ticket in tickets:
        assert await TicketEvent.filter(ticket=ticket, type=EventType.DEADLINE_BREACH).count() == 1
    breach_rows = await OutboxMessage.filter(idempotency_key__startswith="breach:").count()
    assert breach_rows == 20 * 2  # Bob and Alice, once each per ticket
    assert await OutboxMessage.filter(idempotency_key__startswith="digest:").count() == 1
