"""A big database, fast: the benchmarks' shared seed written in raw SQL.

:func:`seed_sqlite` and :func:`seed_postgres` fill a migrated database with the bench
directory (10 buildings, 5 categories, 50 technicians: :func:`bench_directory`) and
``tickets`` tickets spread over the :data:`DAYS` days before :data:`NOW` (``executemany``
on SQLite, ``generate_series`` on PostgreSQL), then run the :class:`Extras` statements:
open tickets whose deadline check is due, and residents of one building with a chat each.
:func:`postgres_database` makes (and drops) a database of its own for one run.

Seeding a million tickets takes minutes, so :func:`seeded_sqlite` and
:func:`seeded_postgres` keep each seed (a file under :data:`CACHE_DIR`, a PostgreSQL
database named ``housedesk_seed_<key>``) and hand out copies of it. The key is a hash of
this module, the migrations, the sizes and the caller's own finishing step
(:class:`Seed`); ``HOUSEDESK_BENCH_FRESH_SEED=1`` (or a bench's ``--fresh-seed``) seeds
again.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from core.storage.models import Building, Category, Person, Role

CACHE_DIR = Path(os.environ.get("HOUSEDESK_BENCH_CACHE", "~/.cache/housedesk-bench")).expanduser()
FRESH_SEED = "HOUSEDESK_BENCH_FRESH_SEED"
MIGRATIONS = Path(__file__).resolve().parent.parent / "core" / "storage" / "migrations"
PG_ADMIN = os.environ.get("HOUSEDESK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAYS = 60
BUILDINGS, CATEGORIES, TECHNICIANS = 10, 5, 50

RECENT_HOURS = 14
"""Tickets younger than this are still open; older ones mostly done (as in #14's scenario:
a million tickets, about 12,000 open, 1.2%)."""
RECENT_STATUSES = [  # (status, share, has a first response, is resolved)
    ("new", 0.40, False, False),
    ("in_progress", 0.45, True, False),
    ("on_hold", 0.15, True, False),
]
OLDER_STATUSES = [  # a few stay open, overdue: waiting for parts, forgotten
    ("in_progress", 0.002, True, False),
    ("on_hold", 0.001, True, False),
    ("done", 0.600, True, True),
    ("closed", 0.330, True, True),
    ("rejected", 0.067, False, False),
]
CHANNELS = ("chat", "email", "voicemail", "phone", "cli")

PG_SEED = f"""
INSERT INTO ticket (building_id, category_id, assignee_id, priority, channel, status, title,
                    description, language, verified, needs_attention, created_at, updated_at,
                    response_due_at, due_at, first_response_at, resolved_at, rating,
                    rating_comment)
SELECT building, category, assignee, 3, channel, status, 'Bench ticket', '', 'en', true, '',
       created, created, created + interval '4 hours', created + interval '3 days',
       CASE WHEN status NOT IN ('new', 'rejected')
            THEN created + LEAST(r1 * interval '8 hours', $1::timestamptz - created) END,
       CASE WHEN status IN ('done', 'closed')
            THEN created + LEAST(r2 * interval '5 days', $1::timestamptz - created) END,
       CASE WHEN status IN ('done', 'closed') AND r3 < 0.5 THEN 1 + floor(r3 * 10)::int END,
       ''
FROM (
    SELECT *, CASE WHEN created > $1::timestamptz - interval '{RECENT_HOURS} hours'
                   THEN {{recent}} ELSE {{older}} END AS status
    FROM (
    SELECT 1 + floor(random() * {BUILDINGS})::int AS building,
           1 + floor(random() * {CATEGORIES})::int AS category,
           CASE WHEN random() < 0.1 THEN NULL
                ELSE 1 + floor(random() * {TECHNICIANS})::int END AS assignee,
           (ARRAY{list(CHANNELS)})[1 + floor(random() * {len(CHANNELS)})::int] AS channel,
           u, $1::timestamptz - random() * interval '{DAYS} days' AS created,
           random() AS r1, random() AS r2, random() AS r3
    FROM (SELECT random() AS u FROM generate_series(1, $2)) AS draws
    ) AS drawn
) AS rows
"""


def _status_case(table: list[tuple[str, float, bool, bool]]) -> str:
    """SQL choosing a status of ``table`` by the draw ``u``."""
    steps, total = [], 0.0
    for status, share, _, _ in table[:-1]:
        total += share
        steps.append(f"WHEN u < {total:.4f} THEN '{status}'")
    return f"CASE {' '.join(steps)} ELSE '{table[-1][0]}' END"


PG_SEED = PG_SEED.format(recent=_status_case(RECENT_STATUSES), older=_status_case(OLDER_STATUSES))

OPEN_SQL = (
    "INSERT INTO ticket (building_id, category_id, assignee_id, priority, channel, status, title,"
    " description, language, verified, needs_attention, created_at, updated_at,"
    " response_due_at, due_at, next_check_at, rating_comment)"
    " SELECT 1 + n % 10, 1 + n % 5, 1 + n % 50, 3, 'chat', 'in_progress', 'Open bench ticket',"
    " '', 'en', {true}, '', {created}, {created}, {response_due}, {due},"
    " CASE WHEN n <= {due_count} THEN {soon} ELSE {later} END, ''"
    " FROM {series}"
)
RESIDENTS_SQL = [
    "INSERT INTO unit (building_id, number) SELECT {building}, 'R' || n FROM {series}",
    "INSERT INTO person (name, role, language, trades, work_hours, active, created_at)"
    " SELECT 'Resident ' || n, 'resident', 'en', '[]', '{{}}', {true}, {created} FROM {series}",
    "INSERT INTO residency (person_id, unit_id) SELECT p.id, u.id FROM person p"
    " JOIN unit u ON u.number = 'R' || substr(p.name, 10) AND u.building_id = {building}"
    " WHERE p.role = 'resident'",
    "INSERT INTO contact (person_id, kind, value, blocked) SELECT id, 'chat',"
    " CAST({chat_base} + id AS TEXT), {false} FROM person WHERE role = 'resident'",
]
"""Residents ``Resident 1..N`` in flats ``R1..RN`` of one building, each with a chat whose
id is ``chat_base`` plus the person's id (see :func:`resident_chats`)."""


@dataclass(frozen=True)
class Extras:
    """What a benchmark adds to the tickets: ``open_tickets`` open and overdue ones (the
    first ``due`` of them due a deadline check at :data:`NOW`, the rest a day later) and
    ``residents`` residents of building ``building_id``."""

    open_tickets: int = 0
    due: int = 0
    residents: int = 0
    building_id: int = 1
    chat_base: int = 9_000_000_000


def stamp(moment: datetime | None) -> str | None:
    """A time as tortoise stores it in SQLite."""
    return None if moment is None else moment.isoformat(" ")


def _sqlite_series(count: int) -> str:
    return (
        f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"
        " SELECT n FROM s)"
    )


def extra_sql(extras: Extras, *, postgres: bool) -> list[str]:
    """The open tickets and the residents, as SQL for one database kind."""
    created = NOW - timedelta(days=10)

    def at(moment: datetime) -> str:
        return f"'{stamp(moment)}'" + ("::timestamptz" if postgres else "")

    def series(count: int) -> str:
        return f"generate_series(1, {count}) AS n" if postgres else _sqlite_series(count)

    words = {"true": "true" if postgres else "1", "false": "false" if postgres else "0"}
    statements = []
    if extras.open_tickets:
        statements.append(
            OPEN_SQL.format(
                created=at(created),
                response_due=at(created + timedelta(minutes=30)),
                due=at(created + timedelta(days=3)),
                soon=at(NOW - timedelta(minutes=1)),
                later=at(NOW + timedelta(days=1)),
                due_count=extras.due,
                series=series(extras.open_tickets),
                **words,
            )
        )
    if extras.residents:
        statements += [
            sql.format(
                series=series(extras.residents),
                created=at(created),
                building=extras.building_id,
                chat_base=extras.chat_base,
                **words,
            )
            for sql in RESIDENTS_SQL
        ]
    return statements


async def bench_directory() -> None:
    """The buildings, categories and technicians the seeded tickets name (ids 1..N)."""
    for n in range(1, BUILDINGS + 1):
        await Building.create(code=f"B{n}", name=f"Building {n}")
    for n in range(1, CATEGORIES + 1):
        await Category.create(code=f"cat{n}", response_minutes=240, resolution_minutes=4320)
    for n in range(1, TECHNICIANS + 1):
        await Person.create(name=f"Technician {n:02}", role=Role.TECHNICIAN)


def _cumulative(
    table: list[tuple[str, float, bool, bool]],
) -> list[tuple[float, str, bool, bool]]:
    found, total = [], 0.0
    for status, share, responded, resolved in table:
        total += share
        found.append((total, status, responded, resolved))
    return found


def _sqlite_rows(count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    recent, older = _cumulative(RECENT_STATUSES), _cumulative(OLDER_STATUSES)
    span = DAYS * 86400
    for _ in range(count):
        u = rng.random()
        created = NOW - timedelta(seconds=rng.random() * span)
        age = NOW - created
        table = recent if age < timedelta(hours=RECENT_HOURS) else older
        _, status, responded, resolved = next(c for c in table if u < c[0] or c is table[-1])
        first = created + min(timedelta(hours=8 * rng.random()), age) if responded else None
        done = created + min(timedelta(days=5 * rng.random()), age) if resolved else None
        r3 = rng.random()
        yield (
            rng.randint(1, BUILDINGS),
            rng.randint(1, CATEGORIES),
            None if rng.random() < 0.1 else rng.randint(1, TECHNICIANS),
            rng.choice(CHANNELS),
            status,
            stamp(created),
            stamp(created),
            stamp(created + timedelta(hours=4)),
            stamp(created + timedelta(days=3)),
            stamp(first),
            stamp(done),
            1 + int(r3 * 10) if resolved and r3 < 0.5 else None,
        )


TEXT_TRIGGERS = (
    "SELECT name, sql FROM sqlite_master"
    " WHERE type = 'trigger' AND tbl_name = 'ticket' AND name LIKE 'ticket_text%'"
)


@contextmanager
def _text_index_rebuilt(db: sqlite3.Connection) -> Iterator[None]:
    """Insert tickets without the text index's triggers (one FTS5 insert a row made a
    million-ticket seed take 10-18 minutes): drop them, then rebuild the index once and
    create the triggers again with the SQL the migration left in ``sqlite_master``."""
    triggers = db.execute(TEXT_TRIGGERS).fetchall()
    for name, _ in triggers:
        db.execute(f'DROP TRIGGER "{name}"')
    yield
    if triggers:
        db.execute("INSERT INTO ticket_text(ticket_text) VALUES ('rebuild')")
    for _, sql in triggers:
        db.execute(sql)


def seed_sqlite_tickets(db: sqlite3.Connection, count: int) -> None:
    """``count`` tickets into the open SQLite database ``db`` (the directory must be there)."""
    sql = (
        "INSERT INTO ticket (building_id, category_id, assignee_id, priority, channel, status,"
        " title, description, language, verified, needs_attention, created_at, updated_at,"
        " response_due_at, due_at, first_response_at, resolved_at, rating, rating_comment)"
        " VALUES (?, ?, ?, 3, ?, ?, 'Bench ticket', '', 'en', 1, '', ?, ?, ?, ?, ?, ?, ?, '')"
    )
    rows = _sqlite_rows(count, random.Random(42))
    while chunk := [next(rows) for _ in range(min(50_000, count))]:
        db.executemany(sql, chunk)
        count -= len(chunk)


async def seed_sqlite(path: Path, url: str, tickets: int, extras: Extras = Extras()) -> float:
    """Migrate the SQLite database at ``path`` (``url``), seed it; the seconds it took."""
    await migrate_db(url)
    await open_db(url)
    await bench_directory()
    await close_db()
    start = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        with _text_index_rebuilt(db):
            seed_sqlite_tickets(db, tickets)
            for sql in extra_sql(extras, postgres=False):
                db.execute(sql)
        db.execute("COMMIT")
        db.execute("ANALYZE")
    finally:
        db.close()
    return time.perf_counter() - start


async def seed_postgres(dsn: str, tickets: int, extras: Extras = Extras()) -> float:
    """Migrate the PostgreSQL database at ``dsn``, seed it; the seconds it took."""
    url = as_tortoise_url(dsn)
    await migrate_db(url)
    await open_db(url)
    await bench_directory()
    await close_db()
    conn = await asyncpg.connect(dsn)
    try:
        start = time.perf_counter()
        await conn.execute("SELECT setseed(0.42)")
        await conn.execute(PG_SEED, NOW, tickets)
        for sql in extra_sql(extras, postgres=True):
            await conn.execute(sql)
        await conn.execute("VACUUM ANALYZE")  # as autovacuum leaves a running database
        return time.perf_counter() - start
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_database(prefix: str, template: str | None = None) -> AsyncIterator[str]:
    """A new PostgreSQL database (a copy of ``template`` if given) for the block: its DSN."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    copy = f' TEMPLATE "{template}"' if template else ""
    await admin.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield database_dsn(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


Finish = Callable[[str], Awaitable[None]]
"""A bench's own last seeding step, given the tortoise URL of the new seed."""


@dataclass(frozen=True)
class Seed:
    """What to seed: ``tickets`` and ``extras``, then ``finish`` (its ``finish_key``
    names what it does, so a changed step seeds again)."""

    tickets: int
    extras: Extras = Extras()
    finish: Finish | None = None
    finish_key: str = ""

    def key(self, kind: str) -> tuple[str, str]:
        """The hash of the sizes and of the code that seeds (this module, the
        migrations), for one database kind."""
        sizes = hashlib.sha256(f"{kind}|{self.tickets}|{self.extras}|{self.finish_key}".encode())
        code = hashlib.sha256(Path(__file__).read_bytes())
        for migration in sorted(MIGRATIONS.glob("*.py")):
            code.update(migration.name.encode() + migration.read_bytes())
        return sizes.hexdigest()[:10], code.hexdigest()[:10]


@dataclass(frozen=True)
class Seeded:
    """How a bench's database came to be: seeded now (in ``took_s``) or copied from the
    cache."""

    took_s: float
    cached: bool

    def __str__(self) -> str:
        if self.cached:
            return f"seed reused from the cache (set {FRESH_SEED}=1 or --fresh-seed to seed again)"
        return f"seeded in {self.took_s:.0f} s (cached for the next run)"


def fresh_seed_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--fresh-seed``: seed again instead of using the cache (this process and the
    ones it starts)."""

    class _Fresh(argparse.Action):
        def __call__(self, *_: Any, **__: Any) -> None:
            os.environ[FRESH_SEED] = "1"

    parser.add_argument(
        "--fresh-seed", nargs=0, action=_Fresh, help="seed again instead of using the cache"
    )


def _fresh() -> bool:
    return os.environ.get(FRESH_SEED, "") not in ("", "0")


async def seeded_sqlite(path: Path, seed: Seed) -> Seeded:
    """Copy the cached seed to ``path``, seeding it into the cache first if need be."""
    sizes, code = seed.key("sqlite")
    cached = CACHE_DIR / f"sqlite-{sizes}-{code}.sqlite3"
    hit = cached.exists() and not _fresh()
    took = 0.0
    if not hit:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        building = CACHE_DIR / f"building-{sizes}-{uuid.uuid4().hex[:8]}.sqlite3"
        url = sqlite_url(f"sqlite://{building}")
        try:
            took = await seed_sqlite(building, url, seed.tickets, seed.extras)
            if seed.finish is not None:
                await seed.finish(url)
            _checkpoint(building)
            building.replace(cached)
        finally:
            for side in _sqlite_files(building):
                side.unlink(missing_ok=True)
        for stale in CACHE_DIR.glob(f"sqlite-{sizes}-*.sqlite3"):
            if stale != cached:
                stale.unlink(missing_ok=True)
    shutil.copyfile(cached, path)
    return Seeded(took, hit)


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file, so the file alone is the database."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode = DELETE")
    finally:
        db.close()


def _sqlite_files(path: Path) -> Sequence[Path]:
    return [path, *(path.with_name(path.name + side) for side in ("-wal", "-shm"))]


@asynccontextmanager
async def seeded_postgres(prefix: str, seed: Seed) -> AsyncIterator[tuple[str, Seeded]]:
    """A new database for the block, a copy of the cached seed (seeded first if need
    be): its DSN, and how the seed came to be."""
    template, seeded = await cached_postgres(seed)
    async with postgres_database(prefix, template) as dsn:
        yield dsn, seeded


async def cached_postgres(seed: Seed) -> tuple[str, Seeded]:
    """The name of the cached seed's database (a template to copy, never to run on),
    seeded first if need be."""
    sizes, code = seed.key("postgres")
    name = f"housedesk_seed_{sizes}_{code}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and not _fresh():
            return name, Seeded(0.0, True)
        building = f"housedesk_seeding_{sizes}_{uuid.uuid4().hex[:8]}"
        await admin.execute(f'CREATE DATABASE "{building}"')
        try:
            dsn = database_dsn(building)
            took = await seed_postgres(dsn, seed.tickets, seed.extras)
            if seed.finish is not None:
                await seed.finish(as_tortoise_url(dsn))
            stale = await admin.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1",
                f"housedesk\\_seed\\_{sizes}\\_%",
            )
            for row in stale:
                await admin.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
            await admin.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        except BaseException:
            await admin.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            raise
        return name, Seeded(took, False)
    finally:
        await admin.close()


def database_dsn(name: str) -> str:
    """The DSN of the database ``name`` on :data:`PG_ADMIN`'s server."""
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def database_name(dsn: str) -> str:
    """The database a DSN names."""
    return dsn.rsplit("/", 1)[1]


def as_tortoise_url(dsn: str) -> str:
    """An asyncpg DSN as tortoise's ``postgres://`` URL."""
    return dsn.replace("postgresql://", "postgres://", 1)
