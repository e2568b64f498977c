"""The desk's journal: the tickets a person may see, filtered, newest first, page by page.

Pages continue after the last row shown (``created_at``, ``id``), never with an offset, and
the count of a filter stops at :data:`COUNT_CAP` (counted by the database, not fetched), so
no page reads every ticket; the indexes ``(building_id | status | assignee_id | category_id,
created_at)`` serve the filters, and the open-ticket index the deadline filters. Overdue, due
within N hours and needs attention are :mod:`core.reports.open_now`'s SQL, so a figure on
the monitor and the journal it links to count the same tickets.

A page is one plain statement (its rows, the count and the newest ticket): building it
with tortoise and running three statements, each a hop to SQLite's thread, cost more than
the database's work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from tortoise import connections

from core.errors import InvalidInput
from core.reports.open_now import DUE_SOON_SQL, OPEN_SQL, OVERDUE_SQL
from core.storage.models import Channel, Person, Status, Ticket
from core.storage.rawsql import bind, fetch, stored_instant
from core.tickets.access import visibility_sql
from core.tickets.text_search import mentioning_sql

PAGE_SIZE = 50
COUNT_CAP = 10_000
"""A filter matching more tickets than this is counted as "10,000+"."""
OPEN = "open"
"""The status filter value that stands for every open status."""


@dataclass(frozen=True)
class JournalFilter:
    """What the journal is narrowed to; every field left at its default means "any"."""

    building_id: int | None = None
    status: str | None = None
    """A :class:`Status` value, or ``open`` for every status still owed work."""
    category: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    overdue: bool = False
    due_within_hours: float | None = None
    attention: bool = False
    channel: Channel | None = None
    unverified: bool = False
    text: str = ""
    created_from: datetime | None = None
    """Created at or after this instant (a day's start in the building's timezone)."""
    created_to: datetime | None = None
    """Created before this instant (the start of the day after the last one)."""


@dataclass(frozen=True)
class Place:
    """A ticket's building as the journal shows it: its name, and its timezone for times."""

    name: str
    timezone: str


@dataclass(frozen=True)
class JournalRow:
    """A ticket as one line of the journal shows it (read in one query, no model objects:
    building a page's tickets with their five related rows cost more than its SQL)."""

    id: int
    title: str
    status: Status
    channel: Channel
    verified: bool
    needs_attention: str
    created_at: datetime
    building: Place | None
    unit: str | None
    category_code: str
    category_names: Mapping[str, str]
    assignee: str | None

    @property
    def ref(self) -> str:
        """The reference shown to people (``#<id>``)."""
        return f"#{self.id}"

    def category_in(self, language: str | None) -> str:
        """The category's name in ``language`` (as :meth:`Category.name_in`)."""
        names = self.category_names or {}
        return names.get(language or "en") or names.get("en") or self.category_code


_STATUSES = {status.value: status for status in Status}
_CHANNELS = {channel.value: channel for channel in Channel}
"""Each status and channel by its stored value (a dict look-up; the enum's own costs ten
times as much, twice in each of a page's rows)."""


@lru_cache(maxsize=256)
def _names(stored: str) -> Mapping[str, str]:
    """A category's names as stored (JSON text), read once: a page's rows share a few."""
    return MappingProxyType(json.loads(stored))


def _row(values: dict[str, Any]) -> JournalRow:
    """A journal row from the page query's columns, as the driver returns them."""
    name = values["building_name"]
    names = values["category_names"]
    return JournalRow(
        id=values["id"],
        title=values["title"],
        status=_STATUSES[values["status"]],
        channel=_CHANNELS[values["channel"]],
        verified=bool(values["verified"]),
        needs_attention=values["needs_attention"],
        created_at=stored_instant(values["created_at"]),
        building=None if name is None else Place(name, values["building_timezone"]),
        unit=values["unit_number"],
        category_code=values["category_code"],
        category_names=_names(names) if isinstance(names, str) else names or {},
        assignee=values["assignee_name"],
    )


@dataclass(frozen=True)
class JournalPage:
    """One page of the journal, the filter's count (capped) and where the next page starts."""

    tickets: list[JournalRow]
    count: int
    capped: bool
    after: str | None
    """The cursor of the next page (None: this is the last)."""
    newest: int
    """The id of the newest ticket the viewer may see, whatever the filter (0: none)."""


def cursor_of(ticket: Ticket | JournalRow) -> str:
    """The cursor that continues after ``ticket``."""
    return f"{ticket.created_at.isoformat()}_{ticket.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, _, ident = cursor.rpartition("_")
        at = datetime.fromisoformat(stamp)
        return (at if at.tzinfo else at.replace(tzinfo=UTC)), int(ident)
    except ValueError:
        raise InvalidInput(f"bad journal cursor {cursor!r}") from None


def _conditions(
    viewer: Person, wanted: JournalFilter, now: datetime, dialect: str
) -> tuple[str, dict[str, Any]]:
    """The tickets ``viewer`` may see that ``wanted`` selects, as a condition on ``ticket``'s
    columns, and its parameters."""
    visible, params = visibility_sql(viewer)
    found = [visible]
    if wanted.status == OPEN:
        found.append(OPEN_SQL)
    elif wanted.status:
        try:
            params["status"] = Status(wanted.status).value
        except ValueError:
            raise InvalidInput(f"unknown status {wanted.status!r}") from None
        found.append("status = :status")
    if wanted.building_id is not None:
        found.append("building_id = :building")
        params["building"] = wanted.building_id
    if wanted.category:
        found.append("category_id = (SELECT id FROM category WHERE code = :category)")
        params["category"] = wanted.category
    if wanted.unassigned:
        found.append("assignee_id IS NULL")
    elif wanted.assignee_id is not None:
        found.append("assignee_id = :assignee")
        params["assignee"] = wanted.assignee_id
    if wanted.overdue:
        found.append(OVERDUE_SQL)
    if wanted.due_within_hours is not None:
        found.append(f"{OPEN_SQL} AND {DUE_SOON_SQL}")
        params["soon"] = now + timedelta(hours=wanted.due_within_hours)
    if wanted.overdue or wanted.due_within_hours is not None:
        params["now"] = now
    if wanted.attention:
        found.append(f"{OPEN_SQL} AND needs_attention <> ''")
    if wanted.created_from is not None:
        found.append("created_at >= :created_from")
        params["created_from"] = wanted.created_from
    if wanted.created_to is not None:
        found.append("created_at < :created_to")
        params["created_to"] = wanted.created_to
    if wanted.channel is not None:
        found.append("channel = :channel")
        params["channel"] = wanted.channel.value
    if wanted.unverified:
        found.append("NOT verified")
    if wanted.text.strip():
        search, words = mentioning_sql(wanted.text, COUNT_CAP + 1, dialect)
        found.append(f"id IN ({search})")
        params |= words
    return " AND ".join(f"({c})" for c in found), params


_PAGE = """
WITH side AS (
  SELECT (SELECT COUNT(*) FROM (SELECT id FROM ticket WHERE {where} LIMIT :count_cap) AS capped)
           AS journal_count,
         (SELECT id FROM ticket WHERE {visible} ORDER BY created_at DESC, id DESC LIMIT 1)
           AS journal_newest
), page AS (
  SELECT id, title, status, channel, verified, needs_attention, created_at,
         building_id, unit_id, category_id, assignee_id
  FROM ticket WHERE {where}{after} ORDER BY created_at DESC, id DESC LIMIT :size
)
SELECT side.journal_count, side.journal_newest,
       t.id, t.title, t.status, t.channel, t.verified, t.needs_attention, t.created_at,
       b.name AS building_name, b.timezone AS building_timezone, u.number AS unit_number,
       c.code AS category_code, c.names AS category_names, a.name AS assignee_name
FROM side
LEFT JOIN page t ON 1 = 1
LEFT JOIN building b ON b.id = t.building_id
LEFT JOIN unit u ON u.id = t.unit_id
LEFT JOIN category c ON c.id = t.category_id
LEFT JOIN person a ON a.id = t.assignee_id
"""
"""A page of the journal, the filter's count (capped) and the newest ticket the viewer may
see, in one statement: one round trip a page. The page's rows come after the counts in one
row each (one row with no ticket when the page is empty)."""
_AFTER = " AND (created_at < :after_at OR (created_at = :after_at AND id < :after_id))"
_NEWEST = "SELECT id FROM ticket WHERE {visible} ORDER BY created_at DESC, id DESC LIMIT 1"


def page_sql(
    viewer: Person,
    wanted: JournalFilter,
    now: datetime,
    dialect: str,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> tuple[str, list[Any]]:
    """The statement reading a journal page (:data:`_PAGE`) and its arguments."""
    where, params = _conditions(viewer, wanted, now, dialect)
    if after:
        params["after_at"], params["after_id"] = _parse_cursor(after)
    sql = _PAGE.format(
        where=where, visible=visibility_sql(viewer)[0], after=_AFTER if after else ""
    )
    return bind(sql, params | {"count_cap": COUNT_CAP + 1, "size": size + 1}, dialect)


async def journal_page(
    viewer: Person,
    wanted: JournalFilter,
    now: datetime,
    *,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> JournalPage:
    """The page of ``viewer``'s journal after the cursor ``after`` (None: the newest)."""
    conn = connections.get("default")
    sql, params = page_sql(viewer, wanted, now, conn.capabilities.dialect, after, size)
    found = await conn.execute_query_dict(sql, params)
    rows = sorted(
        (_row(values) for values in found if values["id"] is not None),
        key=lambda row: (row.created_at, row.id),
        reverse=True,
    )
    more = len(rows) > size
    rows = rows[:size]
    counted = int(found[0]["journal_count"])
    return JournalPage(
        tickets=rows,
        count=min(counted, COUNT_CAP),
        capped=counted > COUNT_CAP,
        after=cursor_of(rows[-1]) if more else None,
        newest=int(found[0]["journal_newest"] or 0),
    )


async def newest_ticket(viewer: Person) -> int:
    """The id of the newest ticket ``viewer`` may see (0: none), so a journal can ask
    cheaply whether a new ticket arrived."""
    visible, params = visibility_sql(viewer)
    rows = await fetch(_NEWEST.format(visible=visible), **params)
    return int(rows[0]["id"]) if rows else 0
