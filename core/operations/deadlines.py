"""Due times from a category's deadlines, and when reminders and nudges about them are due.

A category with ``business_hours`` counts its minutes in the building's opening hours
(a 4-hour response to a request made on Friday evening falls due on Monday morning);
every other category counts plain minutes, day and night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.operations.calendar import BusinessCalendar
from core.storage.models import Category, Ticket


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
