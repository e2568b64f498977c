"""The event loop never stalls: the worst loop lag during three long jobs.

One database holds ``--rows`` tickets over the last 60 days (1,000,000 by default, seeded
by :mod:`bench.seeding`), ``--open`` open and overdue tickets more (100,000),
of which ``--due`` have their deadline check due now (the rest later), and a building
with ``--residents`` residents who each have a chat (5,000). While a ticker task sleeps
10 ms at a time and records how late it wakes up, this runs, one after the other:

(a) a scheduler round (the deadline job under its lock, as the scheduler runs it);
(b) an announcement to the residents' building;
(c) the monthly report over every ticket, its figures alone and then with the chart the
    staff bot's ``/report month`` sends.

Each line prints the job's duration and the worst lag next to the target, < 100 ms.
Run with ``python -m bench.loop_bench [--db sqlite|postgres] [--rows N] ...``; without
``--db`` each database kind runs in its own process.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from bench.per_database import run_each_database
from bench.seeding import (
    NOW,
    Extras,
    Seed,
    as_tortoise_url,
    fresh_seed_option,
    seeded_postgres,
    seeded_sqlite,
)
from core.actors import Actor
from core.clock import FrozenClock
from core.operations.announcements import Announcer, Draft
from core.operations.jobs import Operations
from core.operations.routing import Router
from core.reports.figures import Reports
from core.storage.db import close_db, open_db, sqlite_url
from housedesk.scheduler import run_exclusive
from presentation.reports.chart import report_png

TARGET_S = 0.100
TICK_S = 0.010


class Ticker:
    """Sleeps :data:`TICK_S` over and over; ``worst`` is the longest it overslept, and
    ``worst_at`` when (``time.monotonic()``)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_at = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK_S)
            late = time.perf_counter() - start - TICK_S
            if late > self.worst:
                self.worst, self.worst_at = late, time.monotonic()

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _measured(name: str, job: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
    async with Ticker() as ticker:
        start = time.perf_counter()
        result = await job()
        took = time.perf_counter() - start
    ok = ticker.worst < TARGET_S
    print(
        f"  {name}: {took:7.2f} s, worst loop lag {ticker.worst * 1000:6.1f} ms"
        f" (target < {TARGET_S * 1000:.0f} ms) {'OK' if ok else 'MISSED'}"
    )
    return ok, result


def _extras(args: argparse.Namespace) -> Extras:
    return Extras(open_tickets=args.open, due=args.due, residents=args.residents)


async def _jobs(kind: str, url: str, args: argparse.Namespace) -> bool:
    """Run (a), (b) and (c) on the seeded database at ``url``."""
    clock = FrozenClock(NOW)
    await open_db(url)
    try:
        print(
            f"{kind}: {args.rows:,} tickets, {args.open:,} open more ({args.due:,} due a check),"
            f" {args.residents:,} residents"
        )
        operations = Operations(router=cast(Router, None))
        round_ok, done = await _measured(
            f"(a) scheduler round over {args.open:,} open tickets",
            lambda: run_exclusive("deadlines", operations.run_deadlines, NOW),
        )
        print(f"      {done} reminders, breaches and nudges")
        announcer = Announcer(clock, mail_domain="bench.example")
        announce_ok, result = await _measured(
            f"(b) announcement to {args.residents:,} residents",
            lambda: announcer.announce(
                Draft("Water is off on Friday.", "B1"), Actor.system("bench")
            ),
        )
        print(f"      {result.queued:,} messages queued")
        reports = Reports(clock)
        report_ok, _ = await _measured(
            f"(c) monthly report over {args.rows + args.open:,} tickets",
            lambda: reports.report("month"),
        )
        chart_ok, png = await _measured(
            "    the same with its chart (/report month)", lambda: report_png(reports, "month")
        )
        print(f"      a chart of {len(png):,} bytes")
    finally:
        await close_db()
    return round_ok and announce_ok and report_ok and chart_ok


async def bench_sqlite(args: argparse.Namespace) -> bool:
    """Seed a SQLite file and run the jobs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = sqlite_url(f"sqlite://{path}")
        print(f"sqlite: {await seeded_sqlite(path, Seed(args.rows, _extras(args)))}")
        return await _jobs("sqlite", url, args)


async def bench_postgres(args: argparse.Namespace) -> bool:
    """Seed a fresh PostgreSQL database and run the jobs."""
    async with seeded_postgres("housedesk_loop", Seed(args.rows, _extras(args))) as (dsn, how):
        print(f"postgres: {how}")
        return await _jobs("postgres", as_tortoise_url(dsn), args)


def main() -> None:
    """Run the benchmark for one database kind, or for both in separate processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="tickets for the report")
    parser.add_argument("--open", type=int, default=100_000, help="open overdue tickets")
    parser.add_argument("--due", type=int, default=2_000, help="of them, due a check now")
    parser.add_argument("--residents", type=int, default=5_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    fresh_seed_option(parser)
    args = parser.parse_args()
    child = ["--rows", str(args.rows), "--open", str(args.open), "--due", str(args.due)]
    run_each_database(
        "bench.loop_bench",
        args.db,
        [*child, "--residents", str(args.residents)],
        lambda: bench_sqlite(args),
        lambda: bench_postgres(args),
    )


if __name__ == "__main__":
    main()
