"""``report month`` over a million tickets against hand-written SQL for the same aggregates.

Seeds 1,000,000 tickets spread over the last 60 days (bulk SQL: ``generate_series`` on
PostgreSQL, ``executemany`` on SQLite), then times :func:`core.reports.figures.build_report` for
the current month against a baseline written by hand without the ORM: on PostgreSQL one
statement (``GROUPING SETS`` and ``percentile_cont``), on SQLite the same ``GROUP BY``
and the duration column sorted in Python, over the stdlib ``sqlite3`` driver. Both sides
must agree on every number. Each side runs three times; the best run counts.

Targets: under 2 s on PostgreSQL, and within 2x of the baseline on both databases.
Run with ``python -m bench.report_bench [--db sqlite|postgres] [--rows N]``; without
``--db`` each database kind runs in its own process (tortoise caches SQL per process).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.per_database import run_each_database
from core.reports.figures import WINDOW, Period, bind, build_report, parse_period, percentile
from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from core.storage.models import Building, Category, Person, Role

PG_ADMIN = os.environ.get("HOUSEDESK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAYS = 60
BUILDINGS, CATEGORIES, TECHNICIANS = 10, 5, 50
RUNS = 3

STATUSES = [  # (status, share, has a first response, is resolved)
    ("new", 0.20, False, False),
    ("in_progress", 0.20, True, False),
    ("on_hold", 0.05, True, False),
    ("done", 0.35, True, True),
    ("closed", 0.15, True, True),
    ("rejected", 0.05, False, False),
]
CHANNELS = ("chat", "email", "voicemail", "phone", "cli")

PG_SEED = f"""
INSERT INTO ticket (building_id, category_id, assignee_id, priority, channel, status, title,
                    description, language, verified, needs_attention, created_at, updated_at,
                    response_due_at, due_at, first_response_at, resolved_at, rating,
                    rating_comment)
SELECT building, category, assignee, 3, channel, status, 'Bench ticket', '', 'en', true, '',
       created, created, created + interval '4 hours', created + interval '3 days',
       CASE WHEN status NOT IN ('new', 'rejected') THEN created + r1 * interval '8 hours' END,
       CASE WHEN status IN ('done', 'closed') THEN created + r2 * interval '5 days' END,
       CASE WHEN status IN ('done', 'closed') AND r3 < 0.5 THEN 1 + floor(r3 * 10)::int END,
       ''
FROM (
    SELECT 1 + floor(random() * {BUILDINGS})::int AS building,
           1 + floor(random() * {CATEGORIES})::int AS category,
           CASE WHEN random() < 0.1 THEN NULL
                ELSE 1 + floor(random() * {TECHNICIANS})::int END AS assignee,
           (ARRAY{list(CHANNELS)})[1 + floor(random() * {len(CHANNELS)})::int] AS channel,
           CASE WHEN u < 0.20 THEN 'new' WHEN u < 0.40 THEN 'in_progress'
                WHEN u < 0.45 THEN 'on_hold' WHEN u < 0.80 THEN 'done'
                WHEN u < 0.95 THEN 'closed' ELSE 'rejected' END AS status,
           $1::timestamptz - random() * interval '{DAYS} days' AS created,
           random() AS r1, random() AS r2, random() AS r3
    FROM (SELECT random() AS u FROM generate_series(1, $2)) AS draws
) AS rows
"""

PG_BASELINE = """
WITH counts AS (
    SELECT GROUPING(status, category_id, building_id, channel, assignee_id) AS sets,
           status, category_id, building_id, channel, assignee_id,
           COUNT(*) AS n,
           SUM(CASE WHEN status IN ('new', 'in_progress', 'on_hold', 'reopened')
                     AND (due_at < $3 OR (response_due_at < $3 AND first_response_at IS NULL))
                    THEN 1 ELSE 0 END) AS overdue,
           SUM(CASE WHEN status <> 'rejected' AND (
                         response_due_at < COALESCE(first_response_at, resolved_at, $3)
                         OR due_at < COALESCE(resolved_at, $3))
                    THEN 1 ELSE 0 END) AS missed,
           SUM(CASE WHEN status <> 'rejected'
                     AND COALESCE(first_response_at, resolved_at) <= response_due_at
                     AND resolved_at <= due_at
                    THEN 1 ELSE 0 END) AS met,
           SUM(rating) AS rating_sum, COUNT(rating) AS rated
    FROM ticket
    WHERE created_at >= $1 AND created_at < $2
    GROUP BY GROUPING SETS
        ((status), (category_id), (building_id), (channel), (assignee_id, status))
), percentiles AS (
    SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
               (ORDER BY date_part('epoch', first_response_at - created_at)) AS first_response,
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
               (ORDER BY date_part('epoch', resolved_at - created_at)) AS resolution
    FROM ticket
    WHERE created_at >= $1 AND created_at < $2
)
SELECT * FROM counts CROSS JOIN percentiles
"""

SQLITE_BASELINE_COUNTS = f"""
SELECT status, category_id, building_id, channel, assignee_id, COUNT(*),
       SUM(CASE WHEN status IN ('new', 'in_progress', 'on_hold', 'reopened')
                 AND (due_at < :now OR (response_due_at < :now AND first_response_at IS NULL))
                THEN 1 ELSE 0 END),
       SUM(CASE WHEN status <> 'rejected' AND (
                     response_due_at < COALESCE(first_response_at, resolved_at, :now)
                     OR due_at < COALESCE(resolved_at, :now))
                THEN 1 ELSE 0 END),
       SUM(CASE WHEN status <> 'rejected'
                 AND COALESCE(first_response_at, resolved_at) <= response_due_at
                 AND resolved_at <= due_at
                THEN 1 ELSE 0 END),
       SUM(rating), COUNT(rating)
FROM ticket NOT INDEXED WHERE {WINDOW}
GROUP BY status, category_id, building_id, channel, assignee_id
"""
SQLITE_BASELINE_DURATIONS = f"""
SELECT (julianday(first_response_at) - julianday(created_at)) * 86400.0,
       (julianday(resolved_at) - julianday(created_at)) * 86400.0
FROM ticket NOT INDEXED
WHERE {WINDOW} AND (first_response_at IS NOT NULL OR resolved_at IS NOT NULL)
"""


async def _directory() -> None:
    for n in range(1, BUILDINGS + 1):
        await Building.create(code=f"B{n}", name=f"Building {n}")
    for n in range(1, CATEGORIES + 1):
        await Category.create(code=f"cat{n}", response_minutes=240, resolution_minutes=4320)
    for n in range(1, TECHNICIANS + 1):
        await Person.create(name=f"Technician {n:02}", role=Role.TECHNICIAN)


def _sqlite_rows(count: int, rng: random.Random) -> Any:
    cumulative = []
    total = 0.0
    for status, share, responded, resolved in STATUSES:
        total += share
        cumulative.append((total, status, responded, resolved))
    span = DAYS * 86400
    for _ in range(count):
        u = rng.random()
        _, status, responded, resolved = next(
            c for c in cumulative if u < c[0] or c is cumulative[-1]
        )
        created = NOW - timedelta(seconds=rng.random() * span)
        first = created + timedelta(hours=8 * rng.random()) if responded else None
        done = created + timedelta(days=5 * rng.random()) if resolved else None
        r3 = rng.random()
        yield (
            rng.randint(1, BUILDINGS),
            rng.randint(1, CATEGORIES),
            None if rng.random() < 0.1 else rng.randint(1, TECHNICIANS),
            rng.choice(CHANNELS),
            status,
            _text(created),
            _text(created),
            _text(created + timedelta(hours=4)),
            _text(created + timedelta(days=3)),
            _text(first),
            _text(done),
            1 + int(r3 * 10) if resolved and r3 < 0.5 else None,
        )


def _text(moment: datetime | None) -> str | None:
    """A time as tortoise stores it in SQLite."""
    return None if moment is None else moment.isoformat(" ")


def _seed_sqlite(path: Path, count: int) -> None:
    db = sqlite3.connect(path)
    sql = (
        "INSERT INTO ticket (building_id, category_id, assignee_id, priority, channel, status,"
        " title, description, language, verified, needs_attention, created_at, updated_at,"
        " response_due_at, due_at, first_response_at, resolved_at, rating, rating_comment)"
        " VALUES (?, ?, ?, 3, ?, ?, 'Bench ticket', '', 'en', 1, '', ?, ?, ?, ?, ?, ?, ?, '')"
    )
    rows = _sqlite_rows(count, random.Random(42))
    with db:
        while chunk := [next(rows) for _ in range(min(50_000, count))]:
            db.executemany(sql, chunk)
            count -= len(chunk)
    db.execute("ANALYZE")
    db.close()


def _best(seconds: list[float]) -> float:
    return min(seconds)


async def _timed(body: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(RUNS):
        start = time.perf_counter()
        result = await body()
        times.append(time.perf_counter() - start)
    return _best(times), result


def _aggregates_from_counts(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    overdue = rated = missed = met = 0
    for status, _c, _b, _ch, assignee, n, late, lost, kept, _sum, rcount in rows:
        by_status[status] = by_status.get(status, 0) + n
        overdue += late or 0
        missed += lost or 0
        met += kept or 0
        if assignee is not None:  # the report rates technicians
            rated += rcount or 0
    return {
        "by_status": dict(sorted(by_status.items())),
        "overdue": overdue,
        "met": met,
        "missed": missed,
        "rated": rated,
    }


def _compare(report: dict[str, Any], baseline: dict[str, Any]) -> None:
    mine = {
        "by_status": report["by_status"],
        "overdue": report["overdue"],
        "met": report["deadlines"]["met"],
        "missed": report["deadlines"]["missed"],
        "rated": sum(t["rated"] for t in report["technicians"]),
        "first_response": (report["first_response"]["median_s"], report["first_response"]["p90_s"]),
        "resolution": (report["resolution"]["median_s"], report["resolution"]["p90_s"]),
    }
    for key, value in baseline.items():
        if key in ("first_response", "resolution"):
            value = tuple(round(v, 3) for v in value)
        if mine[key] != value:
            raise SystemExit(f"report and baseline disagree on {key}: {mine[key]} != {value}")


def _verdict(name: str, core: float, raw: float, limit: float | None) -> bool:
    ratio = core / raw
    ok = ratio <= 2.0 and (limit is None or core < limit)
    target = f"< {limit:.0f} s and " if limit else ""
    print(
        f"{name}: report month {core:.3f} s, hand-written SQL {raw:.3f} s, "
        f"report/SQL {ratio:.2f}x (target {target}<= 2x) {'OK' if ok else 'MISSED'}"
    )
    return ok


def _month() -> Period:
    return parse_period("month", NOW, ZoneInfo("UTC"))


async def bench_sqlite(count: int) -> bool:
    """Seed a SQLite file, then time the report against stdlib-sqlite3 SQL."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = sqlite_url(f"sqlite://{path}")
        await migrate_db(url)
        await open_db(url)
        await _directory()
        await close_db()
        start = time.perf_counter()
        _seed_sqlite(path, count)
        print(f"sqlite: seeded {count:,} tickets in {time.perf_counter() - start:.1f} s")
        period = _month()
        await open_db(url)
        core, report = await _timed(lambda: build_report(period, None, NOW))
        await close_db()

        params = {"start": period.start, "end": period.end, "now": NOW}

        async def baseline() -> dict[str, Any]:
            db = sqlite3.connect(path)
            counts_sql, counts_args = bind(SQLITE_BASELINE_COUNTS, params, "sqlite")
            durations_sql, durations_args = bind(SQLITE_BASELINE_DURATIONS, params, "sqlite")
            counts = db.execute(counts_sql, counts_args).fetchall()
            durations = db.execute(durations_sql, durations_args).fetchall()
            db.close()
            first = sorted(r[0] for r in durations if r[0] is not None)
            resolved = sorted(r[1] for r in durations if r[1] is not None)
            found = _aggregates_from_counts(counts)
            found["first_response"] = (percentile(first, 0.5), percentile(first, 0.9))
            found["resolution"] = (percentile(resolved, 0.5), percentile(resolved, 0.9))
            return found

        raw, expected = await _timed(baseline)
    _compare(report, expected)
    print(f"sqlite: {report['total']:,} tickets in the month")
    return _verdict("sqlite", core, raw, None)


async def bench_postgres(count: int) -> bool:
    """Seed a fresh PostgreSQL database, then time the report against one asyncpg query."""
    name = f"housedesk_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgres://", 1)
    try:
        await migrate_db(url)
        await open_db(url)
        await _directory()
        await close_db()
        conn = await asyncpg.connect(dsn)
        start = time.perf_counter()
        await conn.execute("SELECT setseed(0.42)")
        await conn.execute(PG_SEED, NOW, count)
        await conn.execute("ANALYZE ticket")
        print(f"postgres: seeded {count:,} tickets in {time.perf_counter() - start:.1f} s")
        period = _month()
        await open_db(url)
        core, report = await _timed(lambda: build_report(period, None, NOW))
        await close_db()

        async def baseline() -> dict[str, Any]:
            rows = await conn.fetch(PG_BASELINE, period.start, period.end, NOW)
            by_status_and_assignee = [tuple(r)[1:12] for r in rows if r["sets"] == 0b01110]
            found = _aggregates_from_counts(by_status_and_assignee)
            found["first_response"] = tuple(rows[0]["first_response"])
            found["resolution"] = tuple(rows[0]["resolution"])
            return found

        raw, expected = await _timed(baseline)
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    _compare(report, expected)
    print(f"postgres: {report['total']:,} tickets in the month")
    return _verdict("postgres", core, raw, 2.0)


def main() -> None:
    """Run the benchmark for one database kind, or for both in separate processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    args = parser.parse_args()
    run_each_database(
        "bench.report_bench",
        args.db,
        ["--rows", str(args.rows)],
        lambda: bench_sqlite(args.rows),
        lambda: bench_postgres(args.rows),
    )


if __name__ == "__main__":
    main()
