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

import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.per_database import main_over_rows
from bench.seeding import (
    NOW,
    Seed,
    as_tortoise_url,
    seeded_postgres,
    seeded_sqlite,
)
from core.reports.figures import WINDOW, Period, bind, build_report, parse_period, percentile
from core.storage.db import close_db, open_db, sqlite_url

RUNS = 3

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
        print(f"sqlite: {count:,} tickets, {await seeded_sqlite(path, Seed(count))}")
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
    async with seeded_postgres("housedesk_bench", Seed(count)) as (dsn, how):
        print(f"postgres: {count:,} tickets, {how}")
        url = as_tortoise_url(dsn)
        conn = await asyncpg.connect(dsn)
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
    _compare(report, expected)
    print(f"postgres: {report['total']:,} tickets in the month")
    return _verdict("postgres", core, raw, 2.0)


def main() -> None:
    """Run the benchmark for one database kind, or for both in separate processes."""
    main_over_rows("bench.report_bench", __doc__, bench_sqlite, bench_postgres)


if __name__ == "__main__":
    main()
