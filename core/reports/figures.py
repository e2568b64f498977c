"""Manager reports: counts, response and resolution times, deadlines, technicians.

A report covers the tickets created in a period (``today``, ``week``, ``month`` to date,
or ``FROM..TO`` inclusive dates) in the report's timezone: the building's when one is
given, else the configured one. Aggregates are computed in SQL, never by loading tickets:
tallies by status, category, building, channel and technician in one scan (``GROUPING
SETS`` on PostgreSQL; on SQLite the window once, then grouped by each in one statement),
and percentiles with ``percentile_cont`` on PostgreSQL, while SQLite fetches only the
duration column and sorts it here. Both interpolate linearly, so both give the same numbers.
The window is read from the index ``ticket_period`` alone, which holds every column used
here (SQLite is told to: without statistics its planner walks another index and each
ticket's row, which cost most of the monitor's time on a million tickets).

Deadline rules (the same as the scheduler's): a response is the first response or the
resolution; a deadline is missed when it passed before it was met, or passed and is still
unmet; rejected tickets have no deadline outcome. ``overdue`` counts open tickets with a
deadline passed and unmet now.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
from tortoise import connections

from core.clock import Clock
from core.directory.lookup import building_by_code
from core.errors import InvalidInput
from core.incidents.queries import incidents_between
from core.reports.open_now import (
    DUE_SOON_HOURS,
    OPEN_SQL,
    OVERDUE_SQL,
    open_now,
    overdue_filter,
)
from core.storage.models import Building, Category, Person, Status, Ticket, TicketEvent
from core.storage.rawsql import bind
from core.tickets.workflow import OPEN_STATUSES

DONE_STATUSES = (Status.DONE, Status.CLOSED)
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC, named as the user asked for it, with the zone it was cut in."""

    name: str
    start: datetime
    end: datetime
    timezone: str

    @property
    def first_day(self) -> date:
        """The first local day of the period."""
        return self.start.astimezone(ZoneInfo(self.timezone)).date()

    @property
    def last_day(self) -> date:
        """The last local day of the period."""
        return (self.end - timedelta(microseconds=1)).astimezone(ZoneInfo(self.timezone)).date()


def parse_period(text: str, now: datetime, tz: ZoneInfo) -> Period:
    """``today``, ``week`` (since Monday), ``month`` (since the 1st) or ``FROM..TO``."""
    key = text.strip().lower()
    today = now.astimezone(tz).date()
    if key == "today":
        first, last = today, today
    elif key == "week":
        first, last = today - timedelta(days=today.weekday()), today
    elif key == "month":
        first, last = today.replace(day=1), today
    elif match := _RANGE.match(key):
        try:
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError as exc:
            raise InvalidInput(f"bad period {text!r}: {exc}") from None
        if last < first:
            raise InvalidInput(f"bad period {text!r}: it ends before it starts")
    else:
        raise InvalidInput(f"unknown period {text!r} (use today, week, month or FROM..TO)")
    return Period(key, _midnight(first, tz), _midnight(last + timedelta(days=1), tz), str(tz))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile of sorted values (PostgreSQL's ``percentile_cont``)."""
    if len(sorted_values) == 0:
        return None
    rank = fraction * (len(sorted_values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


# -- SQL ----------------------------------------------------------------------------------

_MISSED_RESPONSE = (
    "COALESCE(response_due_at < COALESCE(first_response_at, resolved_at, :now), FALSE)"
)
_MISSED_RESOLUTION = "COALESCE(due_at < COALESCE(resolved_at, :now), FALSE)"
_MISSED = f"(status <> 'rejected' AND ({_MISSED_RESPONSE} OR {_MISSED_RESOLUTION}))"
_MET = (
    "(status <> 'rejected'"
    f" AND NOT {_MISSED_RESPONSE} AND NOT {_MISSED_RESOLUTION}"
    " AND (response_due_at IS NOT NULL OR due_at IS NOT NULL)"
    " AND (response_due_at IS NULL OR COALESCE(first_response_at, resolved_at) IS NOT NULL)"
    " AND (due_at IS NULL OR resolved_at IS NOT NULL))"
)
WINDOW = "created_at >= :start AND created_at < :end"

_TALLY = f"""COUNT(*) AS n,
       SUM(CASE WHEN {OPEN_SQL} THEN 1 ELSE 0 END) AS open,
       SUM(CASE WHEN {OVERDUE_SQL} THEN 1 ELSE 0 END) AS overdue,
       SUM(CASE WHEN {_MISSED} THEN 1 ELSE 0 END) AS missed,
       SUM(CASE WHEN {_MET} THEN 1 ELSE 0 END) AS met,
       SUM(rating) AS rating_sum,
       COUNT(rating) AS rated"""
TALLY_KEYS = ("n", "open", "overdue", "missed", "met", "rating_sum", "rated")

PG_COUNTS_SQL = f"""
SELECT GROUPING(status, category_id, building_id, channel, assignee_id) AS sets,
       status, category_id, building_id, channel, assignee_id,
       {_TALLY}
FROM ticket
WHERE {WINDOW}{{building}}
GROUP BY GROUPING SETS ((status), (category_id), (building_id), (channel), (assignee_id, status))
"""
PG_SETS = {
    0b01111: "status",
    0b10111: "category",
    0b11011: "building",
    0b11101: "channel",
    0b01110: "assignee",
}
"""``GROUPING()`` bit masks (1: column not grouped) of PG_COUNTS_SQL's sets, by dimension."""
DIMENSIONS = tuple(PG_SETS.values())
_GROUPED = {
    "status": ("status",),
    "category": ("category_id",),
    "building": ("building_id",),
    "channel": ("channel",),
    "assignee": ("assignee_id", "status"),
}
"""The columns each of PG_COUNTS_SQL's grouping sets groups by."""
_COLUMNS = ("status", "category_id", "building_id", "channel", "assignee_id")


_MISSED_FOR_GOOD = _MISSED.replace(":now", "NULL")
"""Missed whatever the time (a deadline passed before it was met): what the tally counts."""
_LATE_NOW = (
    f"(((status <> 'rejected' AND resolved_at IS NULL) OR {OPEN_SQL})"
    " AND (COALESCE(due_at < :now, FALSE)"
    " OR COALESCE(response_due_at < :now AND first_response_at IS NULL, FALSE)))"
)
"""A deadline passed and not met now: the tickets whose overdue or missed count depends on
the time (they alone are read among the tallied hours' tickets)."""
_UNTALLIED = "(created_at < :tallied_from OR created_at >= :tallied_to)"


def _sqlite_set(mask: int, dimension: str) -> str:
    grouped = _GROUPED[dimension]
    columns = ", ".join(c if c in grouped else f"NULL AS {c}" for c in _COLUMNS)
    return (
        f"SELECT {mask} AS sets, {columns}, SUM(n) AS n, SUM(open) AS open,"
        " SUM(overdue) AS overdue, SUM(missed) AS missed, SUM(met) AS met,"
        " SUM(rating) AS rating_sum, COUNT(rating) AS rated"
        f" FROM period GROUP BY {', '.join(grouped)}"
    )


def _tally_set(mask: int, dimension: str) -> str:
    grouped = _GROUPED[dimension]
    value = "NULLIF(value, '')"
    columns = ", ".join(
        (value if c == grouped[0] else c) + f" AS {c}" if c in grouped else f"NULL AS {c}"
        for c in _COLUMNS
    )
    sums = ", ".join("0" if c == "overdue" else f"SUM({c})" for c in TALLY_KEYS)
    return (  # columns in the order of _sqlite_set's (UNION ALL goes by position)
        f"SELECT {mask} AS sets, {columns}, {sums} FROM ticket_tally"
        f" WHERE dimension = '{dimension}' AND hour >= :first_hour AND hour < :end_hour"
        " GROUP BY value, status HAVING SUM(n) <> 0"
    )


SQLITE_COUNTS_SQL = (
    f"""
WITH period AS MATERIALIZED (
  SELECT status, category_id, building_id, channel, assignee_id,
         {_UNTALLIED} AS n,
         CASE WHEN {_UNTALLIED} THEN rating END AS rating,
         {_UNTALLIED} AND {OPEN_SQL} AS open,
         CASE WHEN {OVERDUE_SQL} THEN 1 ELSE 0 END AS overdue,
         CASE WHEN {_UNTALLIED} THEN {_MISSED} ELSE {_MISSED} AND NOT {_MISSED_FOR_GOOD} END
             AS missed,
         {_UNTALLIED} AND {_MET} AS met
  FROM ticket INDEXED BY ticket_period
  WHERE {WINDOW}{{building}} AND ({_UNTALLIED} OR {_LATE_NOW})
)
"""
    + "\nUNION ALL\n".join(_sqlite_set(mask, dimension) for mask, dimension in PG_SETS.items())
    + "\nUNION ALL\n"
    + "\nUNION ALL\n".join(_tally_set(mask, dimension) for mask, dimension in PG_SETS.items())
)
"""PG_COUNTS_SQL's grouping sets on SQLite, which has none, from the hourly tally
(``ticket_tally``, migration 0024) where it can: the whole hours from ``:first_hour`` to
``:end_hour`` (hours since the epoch, UTC) are the tally's rows, grouped by dimension,
and of their tickets only those with a deadline passed and unmet now are read (for what
the time changes: overdue, and missed not yet for good); the rest of the window (``:tallied_from``
to ``:tallied_to`` left out) is read ticket by ticket. The tickets are read once from their
index and grouped once per dimension. A group can come back twice (tally and tickets):
the rows are added up."""


def _tallied_hours(period: Period, building_id: int | None) -> dict[str, Any]:
    """The parameters naming the whole UTC hours of ``period`` read from the tally (none
    for one building's report: the tally is not kept per building)."""
    first = math.ceil(period.start.timestamp() / 3600)
    end = math.floor(period.end.timestamp() / 3600)
    if building_id is not None or end <= first:
        first = end = 0
    return {
        "first_hour": first,
        "end_hour": end,
        "tallied_from": datetime.fromtimestamp(first * 3600, UTC) if end else period.start,
        "tallied_to": datetime.fromtimestamp(end * 3600, UTC) if end else period.start,
    }


def window_params(period: Period, building_id: int | None, now: datetime) -> dict[str, Any]:
    """The parameters of the report's statements over ``period`` (one building or all)."""
    return {
        "start": period.start,
        "end": period.end,
        "building": building_id,
        "now": now,
        **_tallied_hours(period, building_id),
    }


PG_PERCENTILES_SQL = f"""
SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
           (ORDER BY date_part('epoch', first_response_at - created_at)) AS first_response,
       percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
           (ORDER BY date_part('epoch', resolved_at - created_at)) AS resolution,
       COUNT(first_response_at) AS first_response_n,
       COUNT(resolved_at) AS resolution_n
FROM ticket
WHERE {WINDOW}{{building}}
"""

SQLITE_DURATIONS_SQL = f"""
SELECT group_concat((julianday(first_response_at) - julianday(created_at)) * 86400.0),
       group_concat((julianday(resolved_at) - julianday(created_at)) * 86400.0)
FROM ticket INDEXED BY ticket_period
WHERE {WINDOW}{{building}}
"""
"""Both duration columns, each as one comma-separated text: far cheaper to carry out of
SQLite than one row per ticket."""


def window_sql(template: str, building_id: int | None) -> str:
    """A query template with the optional building condition filled in."""
    return template.replace("{building}", " AND building_id = :building" if building_id else "")


Tally = dict[str, int]
"""Counts of a group of tickets, by :data:`TALLY_KEYS`."""
Tallies = dict[str, dict[Any, Tally]]
"""Tallies by dimension, then by the dimension's value (``assignee``: ``(id, status)``)."""


def _dimension_key(dimension: str, row: Mapping[str, Any]) -> Any:
    if dimension == "assignee":
        return (row["assignee_id"], row["status"])
    column = {"status": "status", "category": "category_id", "building": "building_id"}
    return row[column.get(dimension, dimension)]


async def _tallies(period: Period, building_id: int | None, now: datetime) -> Tallies:
    """One statement: tallies by status, category, building, channel, assignee, one row
    per group (``GROUPING SETS`` on PostgreSQL; on SQLite from the hourly tally and the
    tickets it leaves to read)."""
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    template = PG_COUNTS_SQL if dialect == "postgres" else SQLITE_COUNTS_SQL
    params = window_params(period, building_id, now)
    sql, args = bind(window_sql(template, building_id), params, dialect)
    _, rows = await conn.execute_query(sql, args)
    tallies: Tallies = {dimension: {} for dimension in DIMENSIONS}
    for row in rows:
        dimension = PG_SETS[row["sets"]]
        tally = tallies[dimension].setdefault(
            _dimension_key(dimension, row), dict.fromkeys(TALLY_KEYS, 0)
        )
        for name in TALLY_KEYS:
            tally[name] += int(row[name] or 0)
    return tallies


def _summary(values: Sequence[float | None], count: int) -> dict[str, Any]:
    median, p90 = (values[0], values[1]) if values else (None, None)
    return {
        "count": count,
        "median_s": None if median is None else round(float(median), 3),
        "p90_s": None if p90 is None else round(float(p90), 3),
    }


async def _durations(period: Period, building_id: int | None, now: datetime) -> dict[str, Any]:
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    params = {"start": period.start, "end": period.end, "building": building_id, "now": now}
    if dialect == "postgres":
        sql, args = bind(window_sql(PG_PERCENTILES_SQL, building_id), params, dialect)
        row = (await conn.execute_query_dict(sql, args))[0]
        return {
            "first_response": _summary(row["first_response"] or [], row["first_response_n"]),
            "resolution": _summary(row["resolution"] or [], row["resolution_n"]),
        }
    sql, args = bind(window_sql(SQLITE_DURATIONS_SQL, building_id), params, dialect)
    _, rows = await conn.execute_query(sql, args)
    first, resolved = rows[0]
    return {  # up to a million numbers each: sorted off the event loop
        "first_response": await asyncio.to_thread(_duration_summary, first),
        "resolution": await asyncio.to_thread(_duration_summary, resolved),
    }


def _duration_summary(text: str | None) -> dict[str, Any]:
    """The summary of comma-separated seconds. numpy parses and sorts them: unlike
    ``sorted``, it lets go of the GIL, so the event loop runs on meanwhile."""
    if not text:
        return _summary([], 0)
    parts, start = [], 0
    while start < len(text):  # in slices: each parse holds the GIL for a few milliseconds
        end = text.find(",", start + _SLICE)
        end = len(text) if end < 0 else end
        parts.append(np.fromstring(text[start:end], dtype=np.float64, sep=","))
        start = end + 1
    values = cast(Sequence[float], np.sort(np.concatenate(parts)))
    return _summary([percentile(values, 0.5), percentile(values, 0.9)], len(values))


_SLICE = 1 << 18
"""Characters of durations parsed at a time."""


def _counts(tallies: dict[Any, Tally], name: Callable[[Any], str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key, tally in tallies.items():
        counts[name(key)] = counts.get(name(key), 0) + tally["n"]
    return dict(sorted(counts.items()))


async def build_report(period: Period, building: Building | None, now: datetime) -> dict[str, Any]:
    """The report of ``period`` (one building or all) as a JSON-ready dict.

    The tallies and the durations are two scans of the window; on PostgreSQL they run at
    the same time on two pooled connections.
    """
    building_id = building.id if building else None
    tallies, durations = await asyncio.gather(
        _tallies(period, building_id, now), _durations(period, building_id, now)
    )
    categories = dict(await Category.all().values_list("id", "code"))
    buildings = dict(await Building.all().values_list("id", "code"))
    totals = {key: sum(t[key] for t in tallies["status"].values()) for key in TALLY_KEYS}
    staff: dict[int, Tally] = {}
    for (person_id, status), tally in tallies["assignee"].items():
        if person_id is None:
            continue
        tech = staff.setdefault(int(person_id), dict.fromkeys(_TECH_KEYS, 0))
        if status in OPEN_STATUSES:
            tech["open"] += tally["n"]
        elif status in DONE_STATUSES:
            tech["done"] += tally["n"]
        tech["rating_sum"] += tally["rating_sum"]
        tech["rated"] += tally["rated"]
    names = dict(await Person.filter(id__in=list(staff)).values_list("id", "name"))
    return {
        "period": {
            "name": period.name,
            "from": period.first_day.isoformat(),
            "to": period.last_day.isoformat(),
            "timezone": period.timezone,
        },
        "building": building.code if building else None,
        "building_name": building.name if building else None,
        "generated_at": now.isoformat(),
        "total": totals["n"],
        "by_status": _counts(tallies["status"], str),
        "by_category": _counts(tallies["category"], lambda c: str(categories.get(c, c))),
        "by_building": _counts(tallies["building"], lambda b: str(buildings.get(b, "none"))),
        "by_channel": _counts(tallies["channel"], str),
        "overdue": totals["overdue"],
        "deadlines": _deadlines(totals),
        "buildings": sorted(
            (
                {"id": b, "code": buildings.get(b), "total": t["n"], **_deadlines(t)}
                for b, t in tallies["building"].items()
            ),
            key=lambda row: str(row["code"] or ""),
        ),
        **durations,
        "technicians": sorted(
            (_technician(pid, names.get(pid, f"#{pid}"), t) for pid, t in staff.items()),
            key=lambda t: str(t["name"]),
        ),
        "incidents": await incidents_between(period.start, period.end, building_id),
    }


def _deadlines(tally: Tally) -> dict[str, Any]:
    """Deadlines met and missed by a group of tickets, and the share met of those decided."""
    decided = tally["met"] + tally["missed"]
    return {
        "met": tally["met"],
        "missed": tally["missed"],
        "met_share": round(tally["met"] / decided, 4) if decided else None,
    }


_TECH_KEYS = ("open", "done", "rating_sum", "rated")


def _technician(person_id: int, name: str, tally: Tally) -> dict[str, Any]:
    rated = tally["rated"]
    return {
        "id": person_id,
        "name": name,
        "open": tally["open"],
        "done": tally["done"],
        "average_rating": round(tally["rating_sum"] / rated, 2) if rated else None,
        "rated": rated,
    }


async def _category_names(language: str | None) -> dict[str, str]:
    return {c.code: c.name_in(language) for c in await Category.all()}


TICKET_FIELDS = (
    "id",
    "created_at",
    "building__code",
    "building__timezone",
    "unit__number",
    "category__code",
    "channel",
    "status",
    "priority",
    "title",
    "requester__name",
    "assignee__name",
    "response_due_at",
    "first_response_at",
    "due_at",
    "resolved_at",
    "closed_at",
    "rating",
    "rating_comment",
    "description",
)
"""The columns of an export's tickets."""
EVENT_FIELDS = ("ticket_id", "at", "type", "public", "actor_label", "text", "data")
"""The columns of an export's timeline rows."""


@dataclass(frozen=True)
class Export:
    """A period's tickets and timeline rows, each a dict of :data:`TICKET_FIELDS` or
    :data:`EVENT_FIELDS`, oldest ticket first."""

    period: Period
    tickets: list[dict[str, Any]]
    events: list[dict[str, Any]]
    figures: dict[str, Any]
    """The monitor's figures of the same period and building (:meth:`Reports.monitor`)."""


class Reports:
    """What managers ask for (CLI, staff bot): reports, overdue lists, load, ratings."""

    def __init__(self, clock: Clock, timezone: str = "UTC") -> None:
        self.clock = clock
        self.timezone = ZoneInfo(timezone)

    async def period(
        self, text: str, building: str | None = None
    ) -> tuple[Period, Building | None]:
        """Parse ``text`` in the building's timezone (or the configured one)."""
        found = await building_by_code(building) if building else None
        tz = ZoneInfo(found.timezone) if found else self.timezone
        return parse_period(text, self.clock.now(), tz), found

    async def report(self, period: str = "today", building: str | None = None) -> dict[str, Any]:
        """The report as a dict (``housedesk report --json``)."""
        chosen, found = await self.period(period, building)
        return await build_report(chosen, found, self.clock.now())

    async def category_names(self, language: str | None) -> dict[str, str]:
        """Category codes with their names in ``language``, for rendering a report."""
        return await _category_names(language)

    async def export(self, period: str = "month", building: str | None = None) -> Export:
        """Every ticket of the period with its timeline, as rows (for a spreadsheet)."""
        chosen, found = await self.period(period, building)
        window: dict[str, Any] = {"created_at__gte": chosen.start, "created_at__lt": chosen.end}
        if found is not None:
            window["building_id"] = found.id
        tickets = await Ticket.filter(**window).order_by("id").values(*TICKET_FIELDS)
        events = (
            await TicketEvent.filter(**{f"ticket__{k}": v for k, v in window.items()})
            .order_by("ticket_id", "at", "id")
            .values(*EVENT_FIELDS)
        )
        return Export(chosen, tickets, events, await self.monitor(period, building))

    async def overdue(self, building: str | None = None, limit: int = 50) -> list[Ticket]:
        """Open tickets past a deadline, the longest overdue first."""
        query = Ticket.filter(overdue_filter(self.clock.now()))
        if building:
            query = query.filter(building=await building_by_code(building))
        return (
            await query.order_by("due_at", "id")
            .limit(limit)
            .select_related("building", "category", "assignee", "unit", "requester")
        )

    async def load_per_technician(self, building: str | None = None) -> list[dict[str, Any]]:
        """Every active technician (of a building) with their open and overdue tickets now
        (in that building); anyone else with open tickets assigned too."""
        found = await building_by_code(building) if building else None
        current = await open_now(self.clock.now(), found)
        return [
            {"name": t["name"], "open": t["open"], "overdue": t["overdue"]}
            for t in current["technicians"]
        ]

    async def monitor(
        self, period: str = "today", building: str | None = None, due_within: int = DUE_SOON_HOURS
    ) -> dict[str, Any]:
        """The desk's monitor: ``report``, the period's figures (:func:`build_report`), and
        ``now``, the open tickets as they stand (:func:`open_now`)."""
        chosen, found = await self.period(period, building)
        now = self.clock.now()
        report, current = await asyncio.gather(
            build_report(chosen, found, now), open_now(now, found, due_within)
        )
        return {"report": report, "now": current}

    async def ratings(
        self, period: str = "month", building: str | None = None
    ) -> list[dict[str, Any]]:
        """Average rating per technician over ``period`` (only those with rated tickets)."""
        report = await self.report(period, building)
        return [
            {"name": t["name"], "average_rating": t["average_rating"], "rated": t["rated"]}
            for t in report["technicians"]
            if t["rated"]
        ]
