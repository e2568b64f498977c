"""The open tickets as they stand now: by status, category, building and assignee, overdue,
due soon, waiting for attention; and the load of each technician.

One grouped query over the open tickets (the ``status`` index), whatever the number of
closed ones: a row per combination of status, category, building and assignee, added up
here. The journal's filters select the same tickets: :func:`overdue_filter`,
:func:`due_soon_filter` and :func:`attention_filter` are the Python side of the SQL below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

OPEN_NOW_SQL = f"""
SELECT status, category_id, building_id, assignee_id,
       COUNT(*) AS n,
       SUM(CASE WHEN {OVERDUE_SQL} THEN 1 ELSE 0 END) AS overdue,
       SUM(CASE WHEN {DUE_SOON_SQL} THEN 1 ELSE 0 END) AS due_soon,
       SUM(CASE WHEN needs_attention <> '' THEN 1 ELSE 0 END) AS attention
FROM ticket
WHERE {OPEN_SQL}{{building}}
GROUP BY status, category_id, building_id, assignee_id
"""
COUNTS = ("n", "overdue", "due_soon", "attention")


def overdue_filter(now: datetime) -> Q:
    """Open tickets with a deadline passed and not met (``overdue=1`` in the journal)."""
    return Q(status__in=list(OPEN_STATUSES)) & (
        Q(due_at__lt=now) | Q(response_due_at__lt=now, first_response_at__isnull=True)
    )


def due_soon_filter(now: datetime, hours: float = DUE_SOON_HOURS) -> Q:
    """Open tickets with a deadline not met yet within ``hours`` (``due_within=``)."""
    soon = now + timedelta(hours=hours)
    return Q(status__in=list(OPEN_STATUSES)) & (
        Q(due_at__gte=now, due_at__lt=soon)
        | Q(response_due_at__gte=now, response_due_at__lt=soon, first_response_at__isnull=True)
    )


def attention_filter() -> Q:
    """Open tickets someone has to look at (``attention=1``)."""
    return Q(status__in=list(OPEN_STATUSES)) & ~Q(needs_attention="")


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
    condition = " AND building_id = :building" if building else ""
    params = {
        "now": now,
        "soon": now + timedelta(hours=due_within),
        "building": building.id if building else None,
    }
    sql, args = bind(OPEN_NOW_SQL.replace("{building}", condition), params, dialect)
    _, rows = await conn.execute_query(sql, args)
    totals = _sums(rows, lambda row: None)[None] if rows else dict.fromkeys(COUNTS, 0)
    by_assignee = _sums(rows, lambda row: row["assignee_id"])
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
        "by_status": {str(k): v["n"] for k, v in sorted(_sums(rows, _status).items())},
        "by_category": await _categories(_sums(rows, lambda row: row["category_id"])),
        "by_building": await _buildings(_sums(rows, lambda row: row["building_id"])),
        "technicians": await _technicians(by_assignee, building),
    }


def _status(row: Mapping[str, Any]) -> str:
    return str(row["status"])


def _sums(rows: Sequence[Mapping[str, Any]], key: Any) -> dict[Any, dict[str, int]]:
    """The counts of the rows added up by ``key(row)``."""
    sums: dict[Any, dict[str, int]] = {}
    for row in rows:
        found = sums.setdefault(key(row), dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            found[name] += int(row[name] or 0)
    return sums


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
