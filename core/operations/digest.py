"""The managers' daily digest: yesterday's new and resolved tickets, what is open and late now."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.core import UnknownLocaleError
from babel.dates import format_date
from tortoise.expressions import Q

from core.i18n import N_, format_duration, gettext, ngettext
from core.reports.figures import overdue_filter
from core.storage.models import Building, Person, Ticket
from core.tickets.workflow import OPEN_STATUSES

LATE_LINES = 10


async def served_tickets(person: Person) -> Q:
    """The tickets of the buildings a member of staff serves (all, with no building, for all)."""
    served = set(await person.buildings.all().values_list("id", flat=True))
    if served and len(served) == await Building.all().count():
        return Q()
    return Q(building_id__in=list(served))


def late_since(ticket: Ticket, now: datetime) -> datetime | None:
    """The earliest deadline of an overdue ticket that is passed and unmet."""
    missed = [
        moment
        for moment, met in (
            (ticket.response_due_at, ticket.first_response_at is not None),
            (ticket.due_at, ticket.resolved_at is not None),
        )
        if moment is not None and not met and moment < now
    ]
    return min(missed, default=None)


async def digest_text(manager: Person, day: date, tz: ZoneInfo, now: datetime) -> str:
    """The digest for ``day`` (local to ``tz``) in the manager's language."""
    language = manager.language
    scope = await served_tickets(manager)
    # compared as UTC: SQLite compares stored times as text
    start = datetime.combine(day - timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
    new = await Ticket.filter(scope, created_at__gte=start, created_at__lt=end).count()
    resolved = await Ticket.filter(scope, resolved_at__gte=start, resolved_at__lt=end).count()
    still_open = await Ticket.filter(scope, status__in=list(OPEN_STATUSES)).count()
    late_query = Ticket.filter(scope & overdue_filter(now))
    late_count = await late_query.count()
    lines = [
        gettext(language, N_("Daily digest for {date}"), date=_long_date(day, language)),
        ngettext(
            language,
            "Yesterday: {n} new request, {resolved} resolved.",
            "Yesterday: {n} new requests, {resolved} resolved.",
            new,
            resolved=resolved,
        ),
        ngettext(
            language,
            "Now: {n} open request, {late} of them overdue.",
            "Now: {n} open requests, {late} of them overdue.",
            still_open,
            late=late_count,
        ),
    ]
    late = await late_query.order_by("due_at", "id").limit(LATE_LINES).select_related("assignee")
    for ticket in late:
        who = ticket.assignee.name if ticket.assignee else gettext(language, N_("unassigned"))
        since = late_since(ticket, now)
        overdue_by = format_duration((now - since).total_seconds() if since else None, language)
        lines.append(
            gettext(
                language,
                N_("{ref} {title}: {who}, {duration} late"),
                ref=ticket.ref,
                title=ticket.title,
                who=who,
                duration=overdue_by,
            )
        )
    return "\n".join(lines)


def _long_date(day: date, language: str | None) -> str:
    """``25 ноября 2026 г.``: a day as the reader writes it (English for an unknown language)."""
    try:
        return format_date(day, "long", locale=language or "en")
    except (ValueError, UnknownLocaleError):
        return format_date(day, "long", locale="en")
