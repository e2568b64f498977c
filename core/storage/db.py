"""Database set-up: tortoise configuration, migrations, health."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate
from tortoise.migrations.executor import MigrationExecutor

from core.directory.lookup import CODE_CACHE
from core.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

APP = "models"
MODELS_MODULE = "core.storage.models"
MIGRATIONS_MODULE = "core.storage.migrations"
SQLITE_ENGINE = "core.storage.sqlite_engine"


def sqlite_url(url: str, synchronous: str = "FULL") -> str:
    """Add housedesk's SQLite pragmas (WAL, ``synchronous``) unless the URL sets them."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return url
    query = dict(parse_qsl(parts.query))
    query.setdefault("journal_mode", "WAL")
    query.setdefault("synchronous", synchronous)
    query.setdefault("busy_timeout", "5000")
    return urlunsplit(parts._replace(query=urlencode(query)))


def ensure_sqlite_dir(url: str) -> None:
    """Create the directory of a SQLite database file (0700 if it is new; an existing
    directory keeps its mode). The file itself is created 0600 by the engine."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return
    path = (parts.netloc + parts.path) if parts.netloc else parts.path
    if path and path != ":memory:":
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)


POOL_SIZE = 20
"""Connections a process keeps to PostgreSQL at most (the URL's ``?maxsize=`` overrides it).
tortoise's default of 5 was the outage bench's bottleneck: with the bots' updates, the
outbox lanes and a scheduler round (whose lock holds one connection) sharing five, half the
statements waited over 100 ms for a connection. Twenty per process leave room for three
processes under PostgreSQL's default of 100 connections."""


def tortoise_config(url: str) -> dict[str, Any]:
    """The tortoise configuration for a database URL (SQLite: :mod:`core.storage.sqlite_engine`)."""
    return {
        "connections": {"default": _connection_config(url)},
        "apps": {
            APP: {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection_config(url: str) -> str | dict[str, Any]:
    scheme = urlsplit(url).scheme if url else ""
    if scheme == "sqlite":
        return {**expand_db_url(url), "engine": SQLITE_ENGINE}
    if scheme.startswith("postgres"):
        config = expand_db_url(url)
        config["credentials"]["reset"] = _keep_session
        config["credentials"].setdefault("maxsize", POOL_SIZE)
        return config
    return url


async def _keep_session(connection: object) -> None:
    """What asyncpg's pool runs when a connection comes back: nothing more.

    The pool still rolls back a transaction left open. Its default reset (unlock advisory
    locks, close cursors, UNLISTEN, RESET ALL) is one more round trip on every release;
    housedesk leaves none of those behind (no advisory locks, LISTEN or SET).
    """


async def open_db(url: str) -> None:
    """Connect the models to the database; raise :class:`DatabaseUnavailable` if it is away."""
    ensure_sqlite_dir(url)
    CODE_CACHE.clear()
    try:
        # One database per process: every task (HTTP handlers, bots, scheduler) shares it.
        await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
        await connections.get("default").execute_query("SELECT 1")
    except (OSError, ConnectionError) as exc:
        await close_db()
        raise DatabaseUnavailable(f"cannot reach the database: {exc}") from exc
    except Exception as exc:
        if _looks_unreachable(exc):
            await close_db()
            raise DatabaseUnavailable(f"cannot reach the database: {exc}") from exc
        raise


async def close_db() -> None:
    """Close every database connection."""
    await Tortoise.close_connections()


async def migrate_db(url: str) -> list[str]:
    """Apply every pending migration; return the names applied."""
    ensure_sqlite_dir(url)
    applied: list[str] = []

    def progress(event: str, _app: str, name: str) -> None:
        if event == "apply_done":
            applied.append(name)

    try:
        await migrate(config=tortoise_config(url), progress=progress)
    except (OSError, ConnectionError) as exc:
        raise DatabaseUnavailable(f"cannot reach the database: {exc}") from exc
    finally:
        await close_db()
    return applied


async def pending_migrations() -> list[str]:
    """Migrations not yet applied to the open database."""
    apps = tortoise_config("")["apps"]
    executor = MigrationExecutor(connections.get("default"), apps)
    plan = await executor.plan()  # no migration table yet: every migration is pending
    return [step.migration.name for step in plan if not step.backward]


async def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


def _looks_unreachable(exc: Exception) -> bool:
    text = f"{type(exc).__name__}: {exc}".lower()
    return any(
        word in text
        for word in ("connect", "refused", "could not translate", "timeout", "unable to open")
    )


MAKEMIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
"""For ``make migrations``: ``tortoise -c core.storage.db.MAKEMIGRATIONS_CONFIG makemigrations``."""
