"""Business hours in a building's own timezone, and whether a member of staff is on shift.

Weekly hours are written as in the directory: ``{"mon": ["08:00-17:00"], ...}``, local time.
A building with no hours at all is open around the clock (nothing configured, nothing to
wait for); a building with hours is closed on the days it lists none and on its holidays.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.storage.models import Absence, Building, Person
from core.tickets.timeline import Day, Saying

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400
"""How far ahead to look for an opening before giving up (a calendar that never opens)."""

Span = tuple[int, int]
"""Minutes after local midnight: ``[start, end)``."""


def parse_week(hours: Mapping[str, Sequence[str]]) -> dict[int, tuple[Span, ...]]:
    """``{"mon": ["08:00-12:00", "13:00-17:00"]}`` → ``{0: ((480, 720), (780, 1020))}``."""
    week: dict[int, tuple[Span, ...]] = {}
    for day, spans in hours.items():
        parsed = []
        for span in spans:
            start, _, end = span.partition("-")
            parsed.append((_minutes(start), _minutes(end)))
        week[DAYS.index(day)] = tuple(sorted(parsed))
    return week


def _minutes(text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours of one place: weekly spans in ``tz`` minus holidays."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    week: Mapping[int, tuple[Span, ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, building: Building | None) -> BusinessCalendar:
        """The calendar of a building; always open for a ticket with no building."""
        if building is None:
            return cls()
        return cls(
            tz=ZoneInfo(building.timezone or "UTC"),
            week=parse_week(building.hours or {}),
            holidays=frozenset(date.fromisoformat(str(d)) for d in building.holidays or []),
        )

    @property
    def always_open(self) -> bool:
        """True when no hours are configured."""
        return not self.week

    def local(self, moment: datetime) -> datetime:
        """``moment`` in this calendar's timezone."""
        return moment.astimezone(self.tz)

    def is_open(self, moment: datetime) -> bool:
        """True when ``moment`` falls inside opening hours."""
        if self.always_open:
            return True
        for start, end in self.intervals(moment):
            return start <= moment < end
        return False

    def next_opening(self, moment: datetime) -> datetime | None:
        """``moment`` when open, else the next time it opens (None: it never does)."""
        if self.always_open:
            return moment
        for start, _end in self.intervals(moment):
            return max(start, moment)
        return None

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` of opening time after ``start``.

        A calendar that never opens within the horizon counts plain minutes instead.
        """
        if self.always_open:
            return start + timedelta(minutes=minutes)
        remaining = timedelta(minutes=minutes)
        for begin, end in self.intervals(start):
            begin = max(begin, start)
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        return start + timedelta(minutes=minutes)

    def open_minutes(self, start: datetime, end: datetime) -> float:
        """Minutes of opening time between ``start`` and ``end``."""
        if end <= start:
            return 0.0
        if self.always_open:
            return (end - start).total_seconds() / 60
        total = timedelta()
        for begin, finish in self.intervals(start):
            if begin >= end:
                break
            total += min(finish, end) - max(begin, start)
        return total.total_seconds() / 60

    def intervals(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals (UTC) that end after ``moment``, in order, up to the horizon."""
        day = self.local(moment).date() - timedelta(days=1)
        for _ in range(HORIZON_DAYS):
            if day not in self.holidays:
                for start, end in self.week.get(day.weekday(), ()):
                    begin, finish = self._at(day, start), self._at(day, end)
                    if finish > moment:
                        yield begin, finish
            day += timedelta(days=1)

    def _at(self, day: date, minute: int) -> datetime:
        # wall-clock arithmetic in the local zone, then UTC (DST days have 23 or 25 hours)
        naive = datetime.combine(day, time()) + timedelta(minutes=minute)
        return naive.replace(tzinfo=self.tz).astimezone(UTC)


def unavailable_reason(
    person: Person,
    absences: Sequence[Absence],
    moment: datetime,
    tz: ZoneInfo,
    *,
    check_hours: bool = True,
) -> Saying | None:
    """Why ``person`` cannot take work at ``moment`` (local dates and hours in ``tz``), or None:
    ``inactive``, ``away_until`` (with the absence's ``kind`` and last ``day``) or
    ``off_shift``, naming them.

    Staff without working hours are on shift whenever they are not away; ``check_hours``
    False ignores working hours (people on an after-hours duty list).
    """
    if not person.active:
        return Saying("inactive", {"name": person.name})
    today = moment.astimezone(tz).date()
    for absence in absences:
        if absence.person_id == person.id and absence.starts <= today <= absence.ends:  # type: ignore[attr-defined]
            return Saying(
                "away_until", {"name": person.name, "kind": absence.kind, "day": Day(absence.ends)}
            )
    shift = BusinessCalendar(tz, parse_week(person.work_hours or {}))
    if check_hours and not shift.is_open(moment):
        return Saying("off_shift", {"name": person.name})
    return None


async def absences_around(person_ids: Sequence[int], moment: datetime) -> list[Absence]:
    """Absences of these people that may cover ``moment`` in any timezone."""
    if not person_ids:
        return []
    day = moment.astimezone(UTC).date()
    return await Absence.filter(
        person_id__in=list(person_ids),
        starts__lte=day + timedelta(days=1),
        ends__gte=day - timedelta(days=1),
    )
