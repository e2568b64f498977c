"""Cost that does not grow with the database: the deadline round and the ticket listing at 1M.

One database holds ``--rows`` tickets over the last 60 days (1,000,000 by default, the seed
of :mod:`bench.seeding` the desk and report benches share): about 12,000 of them open, most
past a deadline. On a copy, each open ticket that owes a deadline gets its creation time as
its next check (as migration 0010 does on an upgrade, so the first round looks at each
once), every technician a chat and every building a manager with a chat (so each reminder,
breach and nudge writes an outbox row). Then:

(1) the deadline round as the scheduler runs it (``run_exclusive``) at the seed's ``NOW``:
    the first round, which marks what is overdue and writes each ticket's next check;
(2) ``--steady`` rounds after it, one scheduler tick (``--tick`` seconds) apart: each
    against the target (< 1 s) and against the plain SQL that selects the tickets whose
    next check is due at that moment (stdlib ``sqlite3`` or asyncpg), measured just before
    it, with the worst event-loop lag during the round;
(3) ``housedesk tickets list --json`` and ``tickets list --all --json`` as subprocesses on
    that database and on one of ``--small`` tickets: the peak resident memory of each
    (VmHWM), bounded when the big database's stays within 1.25x the small one's.

Run with ``python -m bench.scheduler_bench [--db sqlite|postgres] [--rows N] ...``; without
``--db`` each database kind runs in its own process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

import asyncpg

from bench.loop_bench import Ticker
from bench.per_database import run_each_database
from bench.seeding import (
    NOW,
    Seed,
    as_tortoise_url,
    fresh_seed_option,
    seeded_postgres,
    seeded_sqlite,
    stamp,
)
from core.operations.jobs import Operations
from core.operations.routing import Router
from core.storage.db import close_db, open_db, sqlite_url
from core.storage.models import Building, Contact, ContactKind, Person, Role
from housedesk.scheduler import run_exclusive

TARGET_S = 1.0
BOUNDED = 1.25
"""The big database's listing may use at most this many times the small one's memory."""

OPEN = "('new', 'in_progress', 'on_hold', 'reopened')"
OWED = (
    'UPDATE "ticket" SET "next_check_at" = "created_at"'
    f' WHERE "status" IN {OPEN} AND "resolved_at" IS NULL'
    ' AND ("due_at" IS NOT NULL'
    ' OR ("response_due_at" IS NOT NULL AND "first_response_at" IS NULL))'
)
"""Migration 0010's backfill: every open ticket that owes a deadline is due a look."""
OVERDUE = (
    f'SELECT COUNT(*) FROM "ticket" WHERE "status" IN {OPEN} AND "resolved_at" IS NULL'
    ' AND ("due_at" < {now} OR ("response_due_at" < {now} AND "first_response_at" IS NULL))'
)
DUE = 'SELECT * FROM "ticket" WHERE "next_check_at" <= {now} ORDER BY "next_check_at", "id"'
"""The baseline: the tickets whose next check is due, read in one plain statement."""

HWM_AT_EXIT = (
    "import atexit, sys\n"
    "def hwm():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            print('VmHWM', line.split()[1], file=sys.stderr)\n"
    "atexit.register(hwm)\n"
    "from housedesk.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
"""``housedesk`` as its console script runs it, printing its peak memory (KiB) at exit:
VmHWM of the process itself, not ``ru_maxrss``, which an exec'd child inherits."""


class Database:
    """The plain connection of the bench's baseline, for one database kind (kept open, so
    the baseline times the statement, not a connection)."""

    def __init__(self, kind: str, target: str) -> None:
        self.kind = kind
        self.target = target  # a SQLite file or a PostgreSQL DSN
        self._sqlite: sqlite3.Connection | None = None
        self._postgres: asyncpg.Connection | None = None

    def _sql(self, text: str, now: datetime) -> str:
        moment = f"'{stamp(now)}'" + ("::timestamptz" if self.kind == "postgres" else "")
        return text.replace("{now}", moment)

    async def run(self, text: str, now: datetime = NOW) -> list[tuple[object, ...]]:
        """The rows of ``text`` (``{now}`` replaced by ``now``)."""
        sql = self._sql(text, now)
        if self.kind == "sqlite":
            if self._sqlite is None:
                self._sqlite = sqlite3.connect(self.target, isolation_level=None)
            return self._sqlite.execute(sql).fetchall()
        if self._postgres is None:
            self._postgres = await asyncpg.connect(self.target)
        if sql.startswith("UPDATE"):
            await self._postgres.execute(sql)
            return []
        return [tuple(r) for r in await self._postgres.fetch(sql)]

    async def close(self) -> None:
        """Close the connection."""
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.close()
        self._sqlite = self._postgres = None

    @property
    def url(self) -> str:
        """The tortoise URL of the database."""
        if self.kind == "sqlite":
            return sqlite_url(f"sqlite://{self.target}")
        return as_tortoise_url(self.target)


async def staff_chats() -> None:
    """A chat for every technician, and a manager with a chat for every building."""
    chat = 8_000_000_000
    for person in await Person.filter(role=Role.TECHNICIAN):
        await Contact.create(person=person, kind=ContactKind.CHAT, value=str(chat + person.id))
    for building in await Building.all():
        manager = await Person.create(name=f"Manager {building.code}", role=Role.MANAGER)
        await manager.buildings.add(building)
        await Contact.create(person=manager, kind=ContactKind.CHAT, value=str(chat + manager.id))


@dataclass(frozen=True)
class Round:
    """One deadline round: its duration, what it did, the worst loop lag during it."""

    took_s: float
    done: int
    lag_s: float


async def deadline_round(operations: Operations, now: datetime) -> Round:
    """The deadline job under its lock, as a scheduler tick runs it."""
    async with Ticker() as ticker:
        start = time.perf_counter()
        done = await run_exclusive("deadlines", operations.run_deadlines, now)
        took = time.perf_counter() - start
    return Round(took, done or 0, ticker.worst)


async def timed(work: Callable[[], Awaitable[list[tuple[object, ...]]]]) -> tuple[float, int]:
    """The seconds ``work`` took and how many rows it read."""
    start = time.perf_counter()
    rows = await work()
    return time.perf_counter() - start, len(rows)


async def rounds(db: Database, args: argparse.Namespace) -> bool:
    """Prepare the copy at ``db``, then the first round and the steady ones."""
    await db.run(OWED)
    ((overdue,),) = await db.run(OVERDUE)
    ((opened,),) = await db.run(f'SELECT COUNT(*) FROM "ticket" WHERE "status" IN {OPEN}')
    await db.close()  # SQLite: no second writer while the tickets are prepared
    print(f"  {opened:,} open tickets, {overdue:,} of them past a deadline")
    await open_db(db.url)
    try:
        await staff_chats()
        operations = Operations(router=cast(Router, None))
        _, due = await timed(partial(db.run, DUE, NOW))
        first = await deadline_round(operations, NOW)
        print(
            f"  (1) first round over {due:,} tickets due a look: {first.took_s:7.2f} s,"
            f" {first.done:,} reminders, breaches and nudges;"
            f" worst loop lag {first.lag_s * 1000:.0f} ms"
        )
        worst = 0.0
        for n in range(1, args.steady + 1):
            at = NOW + timedelta(seconds=args.tick * n)
            sql_s, due = await timed(partial(db.run, DUE, at))
            steady = await deadline_round(operations, at)
            worst = max(worst, steady.took_s)
            print(
                f"  (2) steady round {n} (+{args.tick * n:.0f} s), {due:,} tickets due:"
                f" {steady.took_s:6.3f} s, {steady.done:,} done, plain SQL {sql_s * 1000:.1f} ms,"
                f" worst loop lag {steady.lag_s * 1000:.0f} ms"
            )
    finally:
        await db.close()
        await close_db()
    ok = worst < TARGET_S
    print(
        f"{db.kind}: steady round at most {worst:.3f} s (target < {TARGET_S:.0f} s)"
        f" {'OK' if ok else 'MISSED'}"
    )
    return ok


@dataclass(frozen=True)
class Listing:
    """One run of the listing: peak memory, bytes printed, wall and CPU seconds."""

    kib: int
    printed: int
    took_s: float
    cpu_s: float


def listing(url: str, data_dir: Path, *args: str) -> Listing:
    """Run ``housedesk tickets list <args>`` on ``url``, reading what it prints and
    dropping it as it comes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUSEDESK_")}
    env |= {"HOUSEDESK_DATABASE__URL": url, "HOUSEDESK_STORAGE__DATA_DIR": str(data_dir)}
    errors = data_dir / "stderr.txt"
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with (
        errors.open("wb") as sink,
        subprocess_popen(["tickets", "list", *args], env, sink) as child,
    ):
        assert child.stdout is not None
        printed = 0
        while chunk := child.stdout.read(1 << 16):
            printed += len(chunk)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    said = errors.read_text()
    if child.returncode != 0:
        raise RuntimeError(f"housedesk tickets list {' '.join(args)} failed: {said}")
    kib = next(int(line.split()[1]) for line in said.splitlines() if line.startswith("VmHWM"))
    return Listing(kib, printed, took, cpu_s)


def subprocess_popen(
    argv: list[str], env: dict[str, str], errors: BinaryIO
) -> subprocess.Popen[bytes]:
    """``housedesk <argv>`` reporting its peak memory on ``errors``."""
    return subprocess.Popen(
        [sys.executable, "-c", HWM_AT_EXIT, *argv], env=env, stdout=subprocess.PIPE, stderr=errors
    )


def listings(kind: str, big_url: str, small_url: str, data_dir: Path) -> bool:
    """``tickets list --json`` and ``--all --json`` on both databases: bounded or not."""
    ok = True
    for args in (("--json",), ("--all", "--json")):
        big = listing(big_url, data_dir, *args)
        small = listing(small_url, data_dir, *args)
        bounded = big.kib <= small.kib * BOUNDED
        ok = ok and bounded
        print(
            f"  (3) tickets list {' '.join(args)}: peak {big.kib / 1024:.0f} MiB"
            f" ({big.printed / 1e6:,.2f} MB printed in {big.took_s:.1f} s, CPU {big.cpu_s:.1f} s),"
            f" small database {small.kib / 1024:.0f} MiB ({small.printed / 1e6:,.2f} MB):"
            f" {'bounded' if bounded else 'NOT bounded'}"
        )
    print(
        f"{kind}: listing memory {'bounded' if ok else 'NOT bounded'}"
        f" (target: at most {BOUNDED}x the small database's)"
    )
    return ok


async def bench_sqlite(args: argparse.Namespace) -> bool:
    """Copy the seeds to SQLite files and run the rounds and the listings."""
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "big.sqlite3", Path(tmp) / "small.sqlite3"
        print(f"sqlite: {args.rows:,} tickets, {await seeded_sqlite(big, Seed(args.rows))}")
        await seeded_sqlite(small, Seed(args.small))
        db = Database("sqlite", str(big))
        round_ok = await rounds(db, args)
        small_url = Database("sqlite", str(small)).url
        return listings("sqlite", db.url, small_url, Path(tmp)) and round_ok


async def bench_postgres(args: argparse.Namespace) -> bool:
    """Copies of the PostgreSQL seeds: the rounds and the listings."""
    async with (
        seeded_postgres("housedesk_sched", Seed(args.rows)) as (dsn, how),
        seeded_postgres("housedesk_sched", Seed(args.small)) as (small_dsn, _),
    ):
        print(f"postgres: {args.rows:,} tickets, {how}")
        db = Database("postgres", dsn)
        round_ok = await rounds(db, args)
        with tempfile.TemporaryDirectory() as tmp:
            small_url = as_tortoise_url(small_dsn)
            return listings("postgres", db.url, small_url, Path(tmp)) and round_ok


def main() -> None:
    """Run the benchmark for one database kind, or for both in separate processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="tickets in the database")
    parser.add_argument("--small", type=int, default=1_000, help="tickets in the small one")
    parser.add_argument("--steady", type=int, default=5, help="steady rounds after the first")
    parser.add_argument("--tick", type=float, default=30.0, help="seconds between rounds")
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    fresh_seed_option(parser)
    args = parser.parse_args()
    child = ["--rows", str(args.rows), "--small", str(args.small)]
    run_each_database(
        "bench.scheduler_bench",
        args.db,
        [*child, "--steady", str(args.steady), "--tick", str(args.tick)],
        lambda: bench_sqlite(args),
        lambda: bench_postgres(args),
    )


if __name__ == "__main__":
    main()
