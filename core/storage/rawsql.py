"""Plain SQL for the hot paths and the reports, where building a tortoise query costs more
than running it.

Queries mark their parameters ``:name``; :func:`bind` turns the markers into the driver's
placeholders (``?`` on SQLite, ``$1``… on PostgreSQL), translating each query text once,
and :func:`fetch` runs a query on the current connection (the transaction's, inside one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from tortoise import connections

_PARAM = re.compile(r":(\w+)")


def stored_instant(value: str | datetime) -> datetime:
    """A time column as a plain query returns it (text on SQLite, as tortoise writes it; a
    datetime on PostgreSQL) as an aware datetime in UTC, as tortoise's field conversion
    gives it under housedesk's settings (``use_tz``, UTC: :mod:`core.storage.db`), in a
    tenth of its time. A naive value is taken as UTC, as tortoise takes it."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def stored_time(value: str | datetime | None) -> datetime | None:
    """:func:`stored_instant` of a column that may be NULL."""
    return None if value is None else stored_instant(value)


@cache
def _translated(sql: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """The query for ``dialect`` and the parameter names in placeholder order."""
    names: list[str] = []
    numbers: dict[str, int] = {}

    def placeholder(match: re.Match[str]) -> str:
        name = match[1]
        if dialect == "sqlite":
            names.append(name)
            return "?"
        if name not in numbers:
            names.append(name)
            numbers[name] = len(names)
        return f"${numbers[name]}"

    return _PARAM.sub(placeholder, sql), tuple(names)


def bind(sql: str, params: dict[str, Any], dialect: str) -> tuple[str, list[Any]]:
    """Turn ``:name`` markers into the driver's placeholders and an argument list."""
    query, names = _translated(sql, dialect)
    return query, [params[name] for name in names]


async def fetch(query: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of ``query`` (``:name`` marks each of ``params``), as dicts."""
    db = connections.get("default")
    sql, values = bind(query, params, db.capabilities.dialect)
    return await db.execute_query_dict(sql, values)


async def write_later(query: str, **params: Any) -> None:
    """Run a write whose result nobody needs (``:name`` marks each of ``params``). In a
    SQLite write transaction it goes to the database with the transaction's next statement
    or its commit, as :func:`core.storage.rows.insert_later`'s rows do; elsewhere at once."""
    db = connections.get("default")
    sql, values = bind(query, params, db.capabilities.dialect)
    hold = getattr(db, "execute_later", None)
    if hold is not None:
        hold(sql, values)
    else:
        await db.execute_query(sql, values)
