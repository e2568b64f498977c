"""The desk's journal: the tickets a person may see, filtered, newest first, page by page.

Pages continue after the last row shown (``created_at``, ``id``), never with an offset, and
the count of a filter stops at :data:`COUNT_CAP`, so no page reads every ticket; the indexes
``(building_id | status | assignee_id | category_id, created_at)`` serve the filters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core.errors import InvalidInput
from core.storage.models import Channel, Person, Status, Ticket
from core.tickets.access import visibility
from core.tickets.service import RELATED
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


@dataclass(frozen=True)
class JournalPage:
    """One page of the journal, the filter's count (capped) and where the next page starts."""

    tickets: list[Ticket]
    count: int
    capped: bool
    after: str | None
    """The cursor of the next page (None: this is the last)."""


def cursor_of(ticket: Ticket) -> str:
    """The cursor that continues after ``ticket``."""
    return f"{ticket.created_at.isoformat()}_{ticket.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        stamp, _, ident = cursor.rpartition("_")
        at = datetime.fromisoformat(stamp)
        return (at if at.tzinfo else at.replace(tzinfo=UTC)), int(ident)
    except ValueError:
        raise InvalidInput(f"bad journal cursor {cursor!r}") from None


async def _filtered(viewer: Person, wanted: JournalFilter, now: datetime) -> QuerySet[Ticket]:
    query = Ticket.filter(await visibility(viewer))
    open_only = wanted.overdue or wanted.due_within_hours is not None
    if wanted.status == OPEN or (open_only and not wanted.status):
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
        query = query.filter(due_at__lt=now)
    if wanted.due_within_hours is not None:
        horizon = now + timedelta(hours=wanted.due_within_hours)
        query = query.filter(due_at__gte=now, due_at__lte=horizon)
    if wanted.attention:
        query = query.exclude(needs_attention="")
    if wanted.channel is not None:
        query = query.filter(channel=wanted.channel)
    if wanted.unverified:
        query = query.filter(verified=False)
    text = wanted.text.strip()
    if text:
        query = query.filter(Q(title__icontains=text) | Q(description__icontains=text))
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
    query = await _filtered(viewer, wanted, now)
    ids = await query.limit(COUNT_CAP + 1).values_list("id", flat=True)
    page = query
    if after:
        at, ident = _parse_cursor(after)
        page = page.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=ident))
    rows = await page.order_by("-created_at", "-id").select_related(*RELATED).limit(size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return JournalPage(
        tickets=rows,
        count=min(len(ids), COUNT_CAP),
        capped=len(ids) > COUNT_CAP,
        after=cursor_of(rows[-1]) if more else None,
    )


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
