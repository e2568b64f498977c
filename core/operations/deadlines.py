"""Due times from a category's deadlines, and when reminders and nudges about them are due.

A category with ``business_hours`` counts its minutes in the building's opening hours
(a 4-hour response to a request made on Friday evening falls due on Monday morning);
every other category counts plain minutes, day and night.

A ticket's ``next_check_at`` says when the scheduler looks at it next: a change that may
bring a deadline check forward sets it to "now" (:func:`recheck_at`), and each look sets
the precise next time (:func:`next_check`), so a round reads only the tickets due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.operations.calendar import BusinessCalendar
from core.storage.models import Category, Ticket
from core.tickets.workflow import OPEN_STATUSES

CHECKED_FIELDS = frozenset(
    {"status", "category", "response_due_at", "due_at", "first_response_at", "resolved_at"}
)
"""Ticket fields whose change may move the next deadline check."""


class Deadline(StrEnum):
    """The two deadlines of a ticket."""

    RESPONSE = "response"
    RESOLUTION = "resolution"


def due_times(
    category: Category, created_at: datetime, calendar: BusinessCalendar | None = None
) -> tuple[datetime | None, datetime | None]:
    """Return ``(response_due_at, due_at)`` for a ticket created at ``created_at``.

    Without a calendar, or for a category not counted in business hours, minutes are plain.
    """

    def due(minutes: int | None) -> datetime | None:
        if not minutes:
            return None
        if category.business_hours and calendar is not None:
            return calendar.add_minutes(created_at, minutes)
        return created_at + timedelta(minutes=minutes)

    return due(category.response_minutes), due(category.resolution_minutes)


def due_at(ticket: Ticket, deadline: Deadline) -> datetime | None:
    """When ``deadline`` of ``ticket`` falls due."""
    return ticket.response_due_at if deadline == Deadline.RESPONSE else ticket.due_at


def is_met(ticket: Ticket, deadline: Deadline) -> bool:
    """True once the work the deadline asks for is done (a first response, a resolution)."""
    if deadline == Deadline.RESPONSE:
        return ticket.first_response_at is not None or ticket.resolved_at is not None
    return ticket.resolved_at is not None


def owes(ticket: Ticket) -> bool:
    """True while the ticket is open and a deadline of it is set and not met."""
    return ticket.status in OPEN_STATUSES and any(
        due_at(ticket, d) is not None and not is_met(ticket, d) for d in Deadline
    )


def recheck_at(ticket: Ticket, now: datetime) -> datetime | None:
    """``next_check_at`` after a change at ``now``: ``now`` while a deadline is owed (the
    next round works out the precise time), else None."""
    return now if owes(ticket) else None


def next_check(
    ticket: Ticket, policy: NudgePolicy, calendar: BusinessCalendar, now: datetime
) -> datetime | None:
    """When the scheduler must look at ``ticket`` again, once a look at ``now`` did what
    was due (None: no deadline is owed any more). ``ticket.category`` must be fetched."""
    if not owes(ticket):
        return None
    emergency = ticket.category.emergency
    times = [
        policy.next_look(due, now, ticket.created_at, calendar, emergency)
        for d in Deadline
        if (due := due_at(ticket, d)) is not None and not is_met(ticket, d)
    ]
    found = [t for t in times if t is not None]
    return min(found) if found else None


@dataclass(frozen=True)
class NudgePolicy:
    """Reminders before a deadline and repeated nudges after a breach.

    Non-emergencies are only nudged while the building is open, and their nudge interval
    counts opening minutes, so nobody is woken at night about a billing question.
    """

    remind_before_minutes: int = 30
    nudge_every_minutes: int = 60

    def reminder_due(self, due: datetime, now: datetime, created_at: datetime) -> bool:
        """True in the window before ``due`` when the reminder should go out.

        A ticket created inside that window gets none: its assignment card is fresh.
        """
        start = due - timedelta(minutes=self.remind_before_minutes)
        return created_at < start <= now < due

    def nudge_number(
        self, due: datetime, now: datetime, calendar: BusinessCalendar, emergency: bool
    ) -> int:
        """How many nudge intervals have passed since ``due`` (0: none yet)."""
        if now <= due or self.nudge_every_minutes <= 0:
            return 0
        elapsed = (now - due).total_seconds() / 60 if emergency else calendar.open_minutes(due, now)
        return int(elapsed // self.nudge_every_minutes)

    def next_look(
        self,
        due: datetime,
        now: datetime,
        created_at: datetime,
        calendar: BusinessCalendar,
        emergency: bool,
    ) -> datetime | None:
        """When a deadline ``due`` next needs a look, after a look at ``now`` sent what was
        due then: the reminder window, the deadline, the next nudge or the next opening
        (non-emergencies are reminded and nudged only while open). None: never again."""
        awake = emergency or calendar.is_open(now)
        if now <= due:
            start = due - timedelta(minutes=self.remind_before_minutes)
            if created_at < start and now < start:
                return start
            if created_at < start and not awake:  # the reminder waits for the opening
                opening = calendar.next_opening(now)
                return due if opening is None else min(opening, due)
            return due
        if self.nudge_every_minutes <= 0:
            return None
        if not awake:
            return calendar.next_opening(now)
        minutes = (self.nudge_number(due, now, calendar, emergency) + 1) * self.nudge_every_minutes
        later = (
            due + timedelta(minutes=minutes) if emergency else calendar.add_minutes(due, minutes)
        )
        return max(later, now)
