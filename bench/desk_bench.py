"""The desk's journal and monitor pages over a million tickets, against the plain SQL each
page needs, measured in the same run.

Seeds the bench database (:mod:`bench.seeding`), signs a dispatcher in, and asks the desk's
own aiohttp application (in process, through its middlewares and templates) for
``/desk/journal`` (the newest page and its capped count) and ``/desk/monitor`` (today's
figures and the open tickets now) :data:`REQUESTS` times each, each request followed by the
statements the page needs, hand-written, on the same database through the same driver
(aiosqlite, asyncpg), so both see the same load on a shared machine and pay the same trip
to the database per statement. Prints p50 and p95 of both. A page's *server time* is what
the issue asks for: from the request reaching housedesk's application (its outermost
middleware) to the response it hands back, read by a middleware the bench adds; the round
trip through the in-process HTTP client (building the request, parsing the response, both
on the same loop) is printed beside it.

Targets: server time p95 under 300 ms, and within 3x of the plain SQL's p95.
Run with ``python -m bench.desk_bench [--db sqlite|postgres] [--rows N]`` (``--rows 50000``
for a quick check); without ``--db`` each database kind runs in its own process.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.typedefs import Handler

from bench.per_database import main_over_rows
from bench.seeding import NOW, Seed, as_tortoise_url, seeded_postgres, seeded_sqlite
from core.clock import FrozenClock
from core.directory.desk_sessions import open_session
from core.reports.figures import (
    PG_COUNTS_SQL,
    PG_PERCENTILES_SQL,
    SQLITE_COUNTS_SQL,
    SQLITE_DURATIONS_SQL,
    parse_period,
    window_params,
    window_sql,
)
from core.reports.open_now import open_now_sql
from core.storage.db import close_db, open_db, sqlite_url
from core.storage.models import Person, Role
from core.storage.rawsql import bind
from housedesk.bootstrap import bootstrap
from housedesk.channels.http import build_http_app
from housedesk.settings.config import Settings

REQUESTS = 100
TARGET_P95_MS = 300.0
TARGET_RATIO = 3.0
JOURNAL_SQL = [
    "SELECT t.id, t.title, t.status, t.channel, t.verified, t.needs_attention, t.created_at,"
    " b.name, b.timezone, u.number, c.code, c.names, a.name FROM ticket t"
    " LEFT JOIN building b ON b.id = t.building_id LEFT JOIN unit u ON u.id = t.unit_id"
    " JOIN category c ON c.id = t.category_id LEFT JOIN person a ON a.id = t.assignee_id"
    " ORDER BY t.created_at DESC, t.id DESC LIMIT 51",
    "SELECT COUNT(*) FROM (SELECT id FROM ticket LIMIT 10001) AS capped",
    "SELECT id FROM ticket ORDER BY created_at DESC, id DESC LIMIT 1",
]
"""What the unfiltered journal reads: the newest page's rows with their building, flat,
category and assignee, the count capped at 10,000 and the newest ticket (for the live
refresh). The buildings and staff its filters offer come from the directory's cache."""

Timings = dict[str, tuple[float, float]]
"""p50 and p95 in milliseconds, by page."""
PAGES = {"journal": "/desk/journal", "monitor": "/desk/monitor?period=today"}
Statements = list[tuple[str, dict[str, Any]]]
Call = Callable[[], Awaitable[Any]]


def _monitor_sql(dialect: str) -> list[tuple[str, dict[str, Any]]]:
    """Today's report tallies and durations, and the open tickets now, as the monitor asks
    for them."""
    window = window_params(parse_period("today", NOW, ZoneInfo("UTC")), None, NOW)
    counts = PG_COUNTS_SQL if dialect == "postgres" else SQLITE_COUNTS_SQL
    durations = PG_PERCENTILES_SQL if dialect == "postgres" else SQLITE_DURATIONS_SQL
    now = {"now": NOW, "soon": NOW + timedelta(hours=24)}
    return [
        (window_sql(counts, None), window),
        (window_sql(durations, None), window),
        (open_now_sql(building=False, dialect=dialect), now),
    ]


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p95 * 1000


async def _seconds(call: Call) -> float:
    start = time.perf_counter()
    await call()
    return time.perf_counter() - start


async def _alternating(
    page: Callable[[], Awaitable[float]], plain: Call
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float]]:
    """p50 and p95 (ms) of ``page``'s server time and round trip, and of ``plain``, run by
    turns (``page`` returns its server time)."""
    await page()  # warm
    await plain()
    served, trips, plains = [], [], []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        served.append(await page())
        trips.append(time.perf_counter() - start)
        plains.append(await _seconds(plain))
    return _percentiles(served), _percentiles(trips), _percentiles(plains)


async def _pages(url: str, data: Path, plain: dict[str, Call]) -> tuple[Timings, Timings, Timings]:
    """p50 and p95 (ms) of each page's server time and round trip, asked for by a
    signed-in dispatcher, and of its ``plain`` SQL run after each request."""
    settings = Settings(database={"url": url}, storage={"data_dir": data})
    app = bootstrap(settings, clock=FrozenClock(NOW))
    await open_db(url)
    try:
        dispatcher = await Person.create(name="Bench Dispatcher", role=Role.DISPATCHER)
        signed = await open_session(dispatcher, "link", app.clock.now(), ttl=timedelta(days=3650))
        served: list[float] = []

        @web.middleware
        async def server_time(request: web.Request, handler: Handler) -> web.StreamResponse:
            start = time.perf_counter()
            try:
                return await handler(request)
            finally:
                served.append(time.perf_counter() - start)

        http = build_http_app(app)
        http.middlewares.insert(0, server_time)
        async with TestClient(TestServer(http)) as client:
            client.session.cookie_jar.update_cookies({"housedesk_desk": signed.token})

            async def get(path: str) -> float:
                served.clear()
                response = await client.get(path)
                if response.status != 200:
                    raise SystemExit(f"{path}: HTTP {response.status}")
                await response.read()
                return served[0]

            pages, trips, sql = {}, {}, {}
            for name, path in PAGES.items():
                pages[name], trips[name], sql[name] = await _alternating(
                    partial(get, path), plain[name]
                )
            return pages, trips, sql
    finally:
        await close_db()


def _verdict(kind: str, pages: Timings, trips: Timings, sql: Timings) -> bool:
    ok = True
    for page, (p50, p95) in pages.items():
        raw50, raw95 = sql[page]
        trip50, trip95 = trips[page]
        ratio = p95 / raw95 if raw95 else float("inf")
        met = p95 < TARGET_P95_MS and ratio <= TARGET_RATIO
        ok = ok and met
        print(
            f"{kind}: /desk/{page} server time p50 {p50:.1f} ms, p95 {p95:.1f} ms"
            f" (round trip p50 {trip50:.1f} ms, p95 {trip95:.1f} ms);"
            f" plain SQL p50 {raw50:.1f} ms, p95 {raw95:.1f} ms; page/SQL {ratio:.2f}x"
            f" (target p95 < {TARGET_P95_MS:.0f} ms, <= {TARGET_RATIO:.0f}x)"
            f" {'OK' if met else 'MISSED'}"
        )
    return ok


async def bench_sqlite(rows: int) -> bool:
    """Seed a SQLite file, time the pages and the plain SQL (with aiosqlite, as the desk:
    each statement a trip to the connection's thread and back, one trip per statement)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        url = sqlite_url(f"sqlite://{path}")
        print(f"sqlite: {rows:,} tickets, {await seeded_sqlite(path, Seed(rows))}")
        async with aiosqlite.connect(path) as db:

            async def run(statements: Statements) -> None:
                for sql, params in statements:
                    text, args = bind(sql, params, "sqlite")
                    await db.execute_fetchall(text, [_sqlite_value(a) for a in args])

            pages, trips, sql = await _pages(url, Path(tmp), _plain(run, "sqlite"))
    return _verdict("sqlite", pages, trips, sql)


def _plain(run: Callable[[Statements], Awaitable[None]], dialect: str) -> dict[str, Call]:
    """Each page's plain SQL, run by ``run``."""
    return {
        "journal": partial(run, [(s, {}) for s in JOURNAL_SQL]),
        "monitor": partial(run, _monitor_sql(dialect)),
    }


def _sqlite_value(value: Any) -> Any:
    """A parameter as tortoise stores it in SQLite (times as ISO text)."""
    return value.isoformat(" ") if hasattr(value, "isoformat") else value


async def bench_postgres(rows: int) -> bool:
    """Seed a PostgreSQL database, time the pages and the plain SQL (with asyncpg)."""
    async with seeded_postgres("housedesk_desk_bench", Seed(rows)) as (dsn, seeded):
        print(f"postgres: {rows:,} tickets, {seeded}")
        conn = await asyncpg.connect(dsn)

        async def run(statements: Statements) -> None:
            for sql, params in statements:
                text, args = bind(sql, params, "postgres")
                await conn.fetch(text, *args)

        try:
            with tempfile.TemporaryDirectory() as tmp:
                plain = _plain(run, "postgres")
                pages, trips, sql = await _pages(as_tortoise_url(dsn), Path(tmp), plain)
        finally:
            await conn.close()
    return _verdict("postgres", pages, trips, sql)


def main() -> None:
    """Run the benchmark for one database kind, or for both in separate processes."""
    main_over_rows("bench.desk_bench", __doc__, bench_sqlite, bench_postgres)


if __name__ == "__main__":
    main()
