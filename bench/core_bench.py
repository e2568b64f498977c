"""Ticket creation through the core service against raw inserts of the same rows.

Each side writes, per ticket, the ticket row, its ``created`` timeline event and one outbox
row, in one transaction, with the same SQLite pragmas (WAL, synchronous=FULL) or the same
PostgreSQL server. Run with ``make bench`` (or ``python -m bench.core_bench``).

Targets on a 2-core machine: SQLite >= 1,000 tickets/s and within 2.5x of raw; PostgreSQL
with 4 concurrent creators >= 2,000 tickets/s. On PostgreSQL the issue's own reference point
(plain tortoise, three creates in a transaction, 4 tasks: about 3,000/s where the target was
set) is measured in the same run too, to tell how this machine compares.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import asyncpg

from bench.per_database import run_each_database
from bench.tortoise_reference import three_rows_rate
from core.actors import CLI
from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from core.storage.models import Building, Category, Channel, Contact, ContactKind, Person
from core.tickets.commands import NewTicket
from housedesk.bootstrap import bootstrap
from housedesk.settings.config import Settings

ISSUE_TORTOISE_PG = 3000  # the issue's "tortoise with 4 tasks", on the machine of its target
PG_ADMIN = os.environ.get("HOUSEDESK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _seed() -> int:
    building = await Building.create(code="B1", name="Bench House")
    await Category.create(
        code="technical", names={"en": "Technical"}, response_minutes=60, resolution_minutes=1440
    )
    person = await Person.create(name="Resident", language="en")
    await Contact.create(person=person, kind=ContactKind.CHAT, value="42")
    del building
    return person.id


async def _core_run(url: str, data_dir: Path, count: int, workers: int) -> float:
    await open_db(url)
    requester = await _seed()
    app = bootstrap(
        Settings(
            database={"url": url},
            storage={"data_dir": data_dir},
            # The core service alone: automatic routing is measured with the operations.
            operations={"routing_enabled": False, "scheduler_enabled": False},
        )
    )

    async def creator(n: int) -> None:
        for i in range(n):
            await app.tickets.create(
                NewTicket(
                    category="technical",
                    title=f"Bench {i}",
                    description="dripping tap",
                    channel=Channel.CHAT,
                    actor=CLI,
                    building="B1",
                    requester_id=requester,
                )
            )

    start = time.perf_counter()
    await asyncio.gather(*(creator(count // workers) for _ in range(workers)))
    elapsed = time.perf_counter() - start
    await close_db()
    return (count // workers * workers) / elapsed


async def _reference_run(url: str, count: int, workers: int) -> float:
    """The issue's reference point on a fresh database: plain tortoise, 3 rows a ticket."""
    await migrate_db(url)
    await open_db(url)
    await _seed()
    try:
        return await three_rows_rate(count, workers)
    finally:
        await close_db()


def _rows(
    i: int, now: datetime
) -> tuple[tuple[object, ...], tuple[object, ...], tuple[object, ...]]:
    ticket = (1, 1, 1, 3, "chat", "new", f"Bench {i}", "dripping tap", "en", True, "", now, now)
    event = ("created", True, "dripping tap", "cli", json.dumps({"channel": "chat"}), now)
    outbox = (
        "resident_chat",
        "42",
        json.dumps({"v": 1, "text": "ok"}),
        f"raw:{uuid.uuid4().hex}",
        "pending",
        0,
        8,
        now,
        "",
        now,
    )
    return ticket, event, outbox


TICKET_SQL = (
    "INSERT INTO ticket (building_id, category_id, requester_id, priority, channel, status, title,"
    " description, language, verified, needs_attention, created_at, updated_at)"
    " VALUES ({})"
)
EVENT_SQL = (
    "INSERT INTO ticket_event (ticket_id, type, public, text, actor_label, data, at) VALUES ({})"
)
OUTBOX_SQL = (
    "INSERT INTO outbox (ticket_id, channel, recipient, payload, idempotency_key, status,"
    " attempts, max_attempts, next_attempt_at, last_error, created_at) VALUES ({})"
)


def _marks(n: int, style: str, first: int = 1) -> str:
    return ", ".join("?" if style == "qmark" else f"${k}" for k in range(first, first + n))


async def _raw_sqlite(path: Path, count: int) -> float:
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        now = datetime.now(UTC).isoformat()
        start = time.perf_counter()
        for i in range(count):
            ticket, event, outbox = _rows(i, datetime.now(UTC))
            await db.execute("BEGIN")
            cur = await db.execute(TICKET_SQL.format(_marks(13, "qmark")), (*ticket[:11], now, now))
            tid = cur.lastrowid
            await db.execute(EVENT_SQL.format(_marks(7, "qmark")), (tid, *event[:5], now))
            await db.execute(
                OUTBOX_SQL.format(_marks(11, "qmark")), (tid, *outbox[:7], now, "", now)
            )
            await db.execute("COMMIT")
        return count / (time.perf_counter() - start)


async def _raw_postgres(dsn: str, count: int, workers: int) -> float:
    pool = await asyncpg.create_pool(dsn, min_size=workers, max_size=workers)

    async def creator(n: int) -> None:
        async with pool.acquire() as conn:
            for i in range(n):
                ticket, event, outbox = _rows(i, datetime.now(UTC))
                async with conn.transaction():
                    tid = await conn.fetchval(
                        TICKET_SQL.format(_marks(13, "dollar")) + " RETURNING id", *ticket
                    )
                    await conn.execute(EVENT_SQL.format(_marks(7, "dollar")), tid, *event)
                    await conn.execute(OUTBOX_SQL.format(_marks(11, "dollar")), tid, *outbox)

    start = time.perf_counter()
    await asyncio.gather(*(creator(count // workers) for _ in range(workers)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return (count // workers * workers) / elapsed


def _report(
    name: str, core: float, raw: float, target: float, max_ratio: float | None, note: str = ""
) -> bool:
    ratio = raw / core
    ok = core >= target and (max_ratio is None or ratio <= max_ratio)
    limit = f", target ratio <= {max_ratio}" if max_ratio else ""
    print(
        f"{name}: core {core:,.0f} tickets/s, raw {raw:,.0f} tickets/s, raw/core {ratio:.2f}x "
        f"(target >= {target:,.0f}/s{limit}) {'OK' if ok else 'MISSED'}{note}"
    )
    return ok


async def bench_sqlite(count: int) -> bool:
    """Core vs raw on two fresh SQLite files with the same pragmas."""
    with tempfile.TemporaryDirectory() as tmp:
        core_url = sqlite_url(f"sqlite://{tmp}/core.sqlite3")
        await migrate_db(core_url)
        core = await _core_run(core_url, Path(tmp), count, 1)
        raw_url = sqlite_url(f"sqlite://{tmp}/raw.sqlite3")
        await migrate_db(raw_url)
        await open_db(raw_url)
        await _seed()
        await close_db()
        raw = await _raw_sqlite(Path(tmp) / "raw.sqlite3", count)
    return _report("sqlite, 1 creator", core, raw, 1000, 2.5)


async def _with_pg_database(body: Callable[[str], Awaitable[float]]) -> float:
    name = f"housedesk_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        await migrate_db(dsn.replace("postgresql://", "postgres://", 1))
        return await body(dsn)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def bench_postgres(count: int, workers: int) -> bool:
    """Core vs raw asyncpg with ``workers`` concurrent creators."""

    async def core(dsn: str) -> float:
        url = dsn.replace("postgresql://", "postgres://", 1) + f"?maxsize={workers + 1}"
        with tempfile.TemporaryDirectory() as tmp:
            return await _core_run(url, Path(tmp), count, workers)

    async def raw(dsn: str) -> float:
        await open_db(dsn.replace("postgresql://", "postgres://", 1))
        await _seed()
        await close_db()
        return await _raw_postgres(dsn, count, workers)

    async def reference(dsn: str) -> float:
        url = dsn.replace("postgresql://", "postgres://", 1) + f"?maxsize={workers + 1}"
        return await _reference_run(url, count, workers)

    core_rate = await _with_pg_database(core)
    raw_rate = await _with_pg_database(raw)
    reference_rate = await _with_pg_database(reference)
    note = (
        f"; plain tortoise, 3 rows a ticket, {workers} tasks: {reference_rate:,.0f}/s"
        f" (the issue measured {ISSUE_TORTOISE_PG:,}/s where it set the target)"
    )
    return _report(f"postgres, {workers} creators", core_rate, raw_rate, 2000, None, note)


def main() -> None:
    """Run the benchmarks and print one line per figure.

    tortoise caches SQL per model class, so each database kind runs in its own process.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    args = parser.parse_args()
    run_each_database(
        "bench.core_bench",
        args.db,
        ["--count", str(args.count)],
        lambda: bench_sqlite(args.count),
        lambda: bench_postgres(args.count * 2, 4),
    )


if __name__ == "__main__":
    main()
