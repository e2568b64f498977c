"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL with --db=postgres).

tortoise caches SQL on the model classes, so one pytest process uses one database kind:
``make test`` runs the suite on SQLite and the core suite again in a second process on
PostgreSQL. With ``CI=true`` an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from housedesk.bootstrap import App, bootstrap
from housedesk.settings.config import Settings

PG_ADMIN_URL = os.environ.get("HOUSEDESK_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday morning
REPO = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="database kind for the tests that use the `db` fixture",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: needs PostgreSQL (runs only with --db=postgres)")
    config.addinivalue_line(
        "markers", "sqlite_only: about SQLite itself (skipped with --db=postgres)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgres":
        other, reason = "sqlite_only", "SQLite-only test (the engine, the query planner)"
    else:
        other, reason = "postgres", "PostgreSQL-only test: run with --db=postgres (make test does)"
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if other in item.keywords:
            item.add_marker(skip)


def _pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def pg_empty_copy(name: str, template: str) -> None:
    """Create database ``name`` from ``template`` with every table emptied: on PostgreSQL
    the tests share the template, so a copy must not inherit the last test's rows (such as
    a day's clean-up marked done)."""
    import asyncpg

    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn = await asyncpg.connect(_pg_url(name).replace("postgres://", "postgresql://", 1))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename NOT LIKE 'tortoise%'"
        )
        names = ", ".join(f'"{row["tablename"]}"' for row in tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


def _pg_reachable() -> str | None:
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def db_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database to copy from: a SQLite file, or a PostgreSQL database name."""
    if request.config.getoption("--db") == "postgres":
        problem = _pg_reachable()
        if problem:
            message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {problem}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        name = f"housedesk_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        asyncio.run(migrate_db(_pg_url(name)))
        yield name
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(migrate_db(sqlite_url(f"sqlite://{path}")))
    yield str(path)


async def _pg_truncate() -> None:
    from tortoise import connections

    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename NOT LIKE 'tortoise%'"
    )
    tables = ", ".join(f'"{r["tablename"]}"' for r in rows)
    await conn.execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def db_url(request: pytest.FixtureRequest, db_template: str, tmp_path: Path) -> str:
    """A fresh, migrated database for one test."""
    if request.config.getoption("--db") == "postgres":
        return _pg_url(db_template)
    target = tmp_path / "housedesk.sqlite3"
    shutil.copy(db_template, target)
    return sqlite_url(f"sqlite://{target}")


@pytest.fixture
async def db(request: pytest.FixtureRequest, db_url: str) -> AsyncIterator[str]:
    """The models connected to a fresh database (emptied first on PostgreSQL)."""
    await open_db(db_url)
    if request.config.getoption("--db") == "postgres":
        await _pg_truncate()
    yield db_url
    await close_db()


@pytest.fixture
def clock() -> FrozenClock:
    """A clock that moves only when the test says so."""
    return FrozenClock(START)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    """Settings pointing at the test database and a temporary data directory."""
    return Settings(
        database={"url": db_url},
        storage={"data_dir": tmp_path / "data"},
        email={"help_address": "help@oak.example"},
        # Core tests see the bare ticket service; the operations tests build their own kit.
        operations={"routing_enabled": False, "scheduler_enabled": False},
    )


@pytest.fixture
def app(db: str, settings: Settings, clock: FrozenClock) -> App:
    """The wired application on the test database and clock."""
    return bootstrap(settings, clock=clock)
