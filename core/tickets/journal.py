"""The desk's journal: the tickets a person may see, filtered, newest first, page by page.

Pages continue after the last row shown (``created_at``, ``id``), never with an offset, and
the count of a filter stops at :data:`COUNT_CAP` (counted by the database, not fetched), so
no page reads every ticket; the indexes ``(building_id | status | assignee_id | category_id,
created_at)`` serve the filters, and the open-ticket index the deadline filters. Overdue, due
within N hours and needs attention are :mod:`core.reports.open_now`'s filters, so a figure on
the monitor and the journal it links to count the same tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core.errors import InvalidInput
from core.reports.open_now import attention_filter, due_soon_filter, overdue_filter
from core.storage.models import Channel, Person, Status, Ticket
from core.tickets.access import visibility
from core.tickets.text_search import tickets_mentioning
from core.tickets.workflow import OPEN_STATUSES

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
    category_names: dict[str, str]
    assignee: str | None

    @property
    def ref(self) -> str:
        """The reference shown to people (``#<id>``)."""
        return f"#{self.id}"

    def category_in(self, language: str | None) -> str:
        """The category's name in ``language`` (as :meth:`Category.name_in`)."""
        names = self.category_names or {}
        return names.get(language or "en") or names.get("en") or self.category_code


ROW_FIELDS = (
    "id", "title", "status", "channel", "verified", "needs_attention", "created_at",
    "building__name", "building__timezone", "unit__number", "category__code",
    "category__names", "assignee__name",
)  # fmt: skip


def _row(values: dict[str, Any]) -> JournalRow:
    name = values["building__name"]
    return JournalRow(
        id=values["id"],
        title=values["title"],
        status=Status(values["status"]),
        channel=Channel(values["channel"]),
        verified=bool(values["verified"]),
        needs_attention=values["needs_attention"],
        created_at=values["created_at"],
        building=None if name is None else Place(name, values["building__timezone"]),
        unit=values["unit__number"],
        category_code=values["category__code"],
        category_names=values["category__names"] or {},
        assignee=values["assignee__name"],
    )


@dataclass(frozen=True)
class JournalPage:
    """One page of the journal, the filter's count (capped) and where the next page starts."""

    tickets: list[JournalRow]
    count: int
    capped: bool
    after: str | None
    """The cursor of the next page (None: this is the last)."""


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


async def matching(viewer: Person, wanted: JournalFilter, now: datetime) -> QuerySet[Ticket]:
    """The tickets ``viewer`` may see that ``wanted`` selects, in no order."""
    query = Ticket.filter(await visibility(viewer))
    if wanted.status == OPEN:
        query = query.filter(status__in=list(OPEN_STATUSES))
    elif wanted.status:
        try:
            query = query.filter(status=Status(wanted.status))
        except ValueError:
            raise InvalidInput(f"unknown status {wanted.status!r}") from None
    if wanted.building_id is not None:
        query = query.filter(building_id=wanted.building_id)
    if wanted.category:
        query = query.filter(category__code=wanted.category)
    if wanted.unassigned:
        query = query.filter(assignee_id=None)
    elif wanted.assignee_id is not None:
        query = query.filter(assignee_id=wanted.assignee_id)
    if wanted.overdue:
        query = query.filter(overdue_filter(now))
    if wanted.due_within_hours is not None:
        query = query.filter(due_soon_filter(now, wanted.due_within_hours))
    if wanted.attention:
        query = query.filter(attention_filter())
    if wanted.created_from is not None:
        query = query.filter(created_at__gte=wanted.created_from)
    if wanted.created_to is not None:
        query = query.filter(created_at__lt=wanted.created_to)
    if wanted.channel is not None:
        query = query.filter(channel=wanted.channel)
    if wanted.unverified:
        query = query.filter(verified=False)
    text = wanted.text.strip()
    if text:
        query = query.filter(id__in=await tickets_mentioning(text, COUNT_CAP + 1))
    return query


async def journal_page(
    viewer: Person,
    wanted: JournalFilter,
    now: datetime,
    *,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> JournalPage:
    """The page of ``viewer``'s journal after the cursor ``after`` (None: the newest)."""
    query = await matching(viewer, wanted, now)
    found = await _capped_count(query)
    page = query
    if after:
        at, ident = _parse_cursor(after)
        page = page.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=ident))
    found_rows = await page.order_by("-created_at", "-id").limit(size + 1).values(*ROW_FIELDS)
    more = len(found_rows) > size
    rows = [_row(values) for values in found_rows[:size]]
    return JournalPage(
        tickets=rows,
        count=min(found, COUNT_CAP),
        capped=found > COUNT_CAP,
        after=cursor_of(rows[-1]) if more else None,
    )


async def _capped_count(query: QuerySet[Ticket]) -> int:
    """How many tickets ``query`` selects, counting no further than ``COUNT_CAP + 1``: the
    database counts the first rows of the filter (fetching 10,001 ids through the ORM
    cost more than the rest of the page)."""
    capped = query.limit(COUNT_CAP + 1).values_list("id", flat=True)
    capped._choose_db_if_not_chosen()
    capped._make_query()  # tortoise builds the statement here; there is no public hook
    sql, params = capped.query.get_parameterized_sql()
    _, rows = await connections.get("default").execute_query(
        f"SELECT COUNT(*) AS n FROM ({sql}) AS capped", params
    )
    return int(rows[0]["n"])


async def newest_ticket(viewer: Person) -> int:
    """The id of the newest ticket ``viewer`` may see (0: none), so a journal can ask
    cheaply whether a new ticket arrived."""
    newest = (
        await Ticket.filter(await visibility(viewer))
        .order_by("-created_at", "-id")
        .first()
        .values_list("id", flat=True)
    )
    return newest if isinstance(newest, int) else 0
