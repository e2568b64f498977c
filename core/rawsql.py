"""Plain SQL for the hot paths, where building a tortoise query costs more than running it.

Queries are written with ``{}`` for each parameter; :func:`fetch` fills in the open
database's placeholders (``?`` on SQLite, ``$1``… on PostgreSQL) once per query text and
runs it on the current connection (the transaction's, inside one).
"""

from __future__ import annotations

from typing import Any

from tortoise import connections

_FORMATTED: dict[tuple[str, str], str] = {}


def _placeholders(dialect: str, count: int) -> list[str]:
    if dialect == "sqlite":
        return ["?"] * count
    return [f"${n}" for n in range(1, count + 1)]


async def fetch(query: str, *values: Any) -> list[dict[str, Any]]:
    """The rows of ``query`` (``{}`` marks each of ``values``), as dicts."""
    db = connections.get("default")
    dialect = db.capabilities.dialect
    sql = _FORMATTED.get((dialect, query))
    if sql is None:
        sql = query.format(*_placeholders(dialect, len(values)))
        _FORMATTED[(dialect, query)] = sql
    return await db.execute_query_dict(sql, list(values))
