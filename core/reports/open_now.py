"""The open tickets as they stand now: by status, category, building and assignee, overdue,
due soon, waiting for attention; and the load of each technician.

One statement: the open tickets are read once from their index alone (``ticket_open_now``),
whatever the number of closed ones, with each one's conditions worked out, then grouped by
status, category, building and assignee in turn; a row per status, category, building or
person comes back. On SQLite their number and how many need attention come from the open
tickets' tally (``ticket_open_tally``, migration 0024, kept by triggers), so of the tickets
only those with a deadline before the end of "due soon" are read; one building's figures
are read ticket by ticket. (Grouped by all four at once, a row per combination came back, as many
as the open tickets, and adding them up in Python cost more than the SQL.) The journal's
deadline and attention filters are the same SQL, so they select the tickets counted here;
:func:`overdue_filter` is :data:`OVERDUE_SQL` as a tortoise filter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q

from core.storage.models import Building, Category, Person, Role
from core.storage.rawsql import bind
from core.tickets.workflow import OPEN_STATUSES

DUE_SOON_HOURS = 24
"""What "due soon" means when nobody says: a deadline within a day."""

OPEN_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES)))
OVERDUE_SQL = (
    f"({OPEN_SQL} AND (COALESCE(due_at < :now, FALSE)"
    " OR COALESCE(response_due_at < :now AND first_response_at IS NULL, FALSE)))"
)
"""Open, with a deadline passed and not met."""
DUE_SOON_SQL = (
    "(COALESCE(due_at >= :now AND due_at < :soon, FALSE)"
    " OR COALESCE(response_due_at >= :now AND response_due_at < :soon"
    " AND first_response_at IS NULL, FALSE))"
)
"""A deadline not met yet falls within ``[now, soon)``."""

KEYS = ("status", "category_id", "building_id", "assignee_id")
COUNTS = ("n", "overdue", "due_soon", "attention")


def _columns(key: str, value: str) -> str:
    # typed NULLs: PostgreSQL reads two untyped ones as text, which an id does not match
    return ", ".join(
        f"{value} AS {key}"
        if k == key
        else f"CAST(NULL AS {'TEXT' if k == 'status' else 'INTEGER'}) AS {k}"
        for k in KEYS
    )


def _grouped_by(key: str) -> str:
    return (
        f"SELECT '{key}' AS dimension, {_columns(key, key)}, SUM(n) AS n,"
        " SUM(overdue) AS overdue, SUM(due_soon) AS due_soon, SUM(attention) AS attention"
        f" FROM open GROUP BY {key}"
    )


def _tallied(key: str) -> str:
    columns = _columns(key, "NULLIF(value, '')")
    return (
        f"SELECT '{key}' AS dimension, {columns}, n, 0, 0, attention"
        f" FROM ticket_open_tally WHERE dimension = '{key}' AND n <> 0"
    )


_NEAR = (
    "(COALESCE(due_at < :soon, FALSE)"
    " OR COALESCE(response_due_at < :soon AND first_response_at IS NULL, FALSE))"
)
"""A deadline not met falls before the end of "due soon": overdue or due soon now."""
_COUNTED = """
WITH open AS MATERIALIZED (
  SELECT status, category_id, building_id, assignee_id,
         {n} AS n,
         CASE WHEN {overdue} THEN 1 ELSE 0 END AS overdue,
         CASE WHEN {due_soon} THEN 1 ELSE 0 END AS due_soon,
         {attention} AS attention
  FROM ticket
  WHERE {open}{{building}}{near}
)
"""
OPEN_NOW_SQL = _COUNTED.format(
    n=1,
    overdue=OVERDUE_SQL,
    due_soon=DUE_SOON_SQL,
    attention="CASE WHEN needs_attention <> '' THEN 1 ELSE 0 END",
    open=OPEN_SQL,
    near="",
) + "\nUNION ALL\n".join(_grouped_by(key) for key in KEYS)
"""The open tickets' counts by each of :data:`KEYS`, a row per value (``dimension`` names
the key; of one building: ``{building}``)."""
TALLIED_OPEN_NOW_SQL = (
    _COUNTED.format(
        n=0,
        overdue=OVERDUE_SQL,
        due_soon=DUE_SOON_SQL,
        attention=0,
        open=OPEN_SQL,
        near=f" AND {_NEAR}",
    )
    + "\nUNION ALL\n".join(_grouped_by(key) for key in KEYS)
    + "\nUNION ALL\n"
    + "\nUNION ALL\n".join(_tallied(key) for key in KEYS)
)
"""OPEN_NOW_SQL on SQLite for every building: the number and attention from the tally, the
deadlines from the tickets whose deadline is near (a value can come back twice: add up)."""


def open_now_sql(building: bool, dialect: str = "postgres") -> str:
    """The open-now query (of one building when ``building``; from the tally on SQLite
    otherwise)."""
    if dialect == "sqlite" and not building:
        return TALLIED_OPEN_NOW_SQL.replace("{building}", "")
    return OPEN_NOW_SQL.replace("{building}", " AND building_id = :building" if building else "")


def overdue_filter(now: datetime) -> Q:
    """Open tickets with a deadline passed and not met (``overdue=1`` in the journal)."""
    return Q(status__in=list(OPEN_STATUSES)) & (
        Q(due_at__lt=now) | Q(response_due_at__lt=now, first_response_at__isnull=True)
    )


async def open_now(
    now: datetime, building: Building | None = None, due_within: int = DUE_SOON_HOURS
) -> dict[str, Any]:
    """The open tickets now (of one building or all), as a JSON-ready dict.

    ``by_category``, ``by_building`` and ``technicians`` hold ids for the journal's
    filters; ``technicians`` lists every active technician (of the building), idle or not,
    and anyone else with open tickets assigned.
    """
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    params = {
        "now": now,
        "soon": now + timedelta(hours=due_within),
        "building": building.id if building else None,
    }
    by: dict[str, dict[Any, dict[str, int]]] = {key: {} for key in KEYS}
    sql = open_now_sql(building is not None, dialect)
    _, rows = await conn.execute_query(*bind(sql, params, dialect))
    for row in rows:
        key = row["dimension"]
        counts = by[key].setdefault(row[key], dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            counts[name] += int(row[name] or 0)
    totals = {name: sum(c[name] for c in by["status"].values()) for name in COUNTS}
    by_assignee = by["assignee_id"]
    return {
        "generated_at": now.isoformat(),
        "building": building.code if building else None,
        "building_id": building.id if building else None,
        "due_within_hours": due_within,
        "open": totals["n"],
        "overdue": totals["overdue"],
        "due_soon": totals["due_soon"],
        "attention": totals["attention"],
        "unassigned": by_assignee.get(None, {}).get("n", 0),
        "by_status": {str(k): v["n"] for k, v in sorted(by["status"].items())},
        "by_category": await _categories(by["category_id"]),
        "by_building": await _buildings(by["building_id"]),
        "technicians": await _technicians(by_assignee, building),
    }


def _figures(counts: Mapping[str, int]) -> dict[str, int]:
    return {
        "open": counts["n"],
        "overdue": counts["overdue"],
        "due_soon": counts["due_soon"],
    }


async def _categories(sums: Mapping[Any, Mapping[str, int]]) -> list[dict[str, Any]]:
    codes = dict(await Category.filter(id__in=list(sums)).values_list("id", "code"))
    found = [{"id": i, "code": codes.get(i, str(i)), **_figures(c)} for i, c in sums.items()]
    return sorted(found, key=lambda row: (-row["open"], row["code"]))


async def _buildings(sums: Mapping[Any, Mapping[str, int]]) -> list[dict[str, Any]]:
    ids = [i for i in sums if i is not None]
    codes = dict(await Building.filter(id__in=ids).values_list("id", "code"))
    found = [{"id": i, "code": codes.get(i), **_figures(c)} for i, c in sums.items()]
    return sorted(found, key=lambda row: (-row["open"], row["code"] or ""))


async def _technicians(
    by_assignee: Mapping[Any, Mapping[str, int]], building: Building | None
) -> list[dict[str, Any]]:
    staff = Person.filter(role=Role.TECHNICIAN, active=True)
    if building is not None:
        staff = staff.filter(buildings__id=building.id)
    ids: set[Any] = set(await staff.distinct().values_list("id", flat=True))
    ids |= {int(i) for i in by_assignee if i is not None}
    names = dict(await Person.filter(id__in=list(ids)).values_list("id", "name"))
    empty = dict.fromkeys(COUNTS, 0)
    found = [{"id": i, "name": names[i], **_figures(by_assignee.get(i, empty))} for i in names]
    return sorted(found, key=lambda row: (str(row["name"]), row["id"]))
