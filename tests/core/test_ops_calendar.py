"""Business hours in the building's timezone; who is on shift."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from core.operations.calendar import BusinessCalendar, parse_week, unavailable_reason
from core.storage.models import Absence, Building, Person, Role
from core.tickets.timeline import Day, Saying
from tests.core.ops_world import OFFICE

LONDON = ZoneInfo("Europe/London")


def utc(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def oak() -> BusinessCalendar:
    return BusinessCalendar.of(
        Building(code="OAK", timezone="Europe/London", hours=OFFICE, holidays=["2026-12-25"])
    )


def test_parse_week() -> None:
    assert parse_week({"mon": ["13:00-17:00", "08:00-12:00"], "sun": ["00:00-24:00"]}) == {
        0: ((480, 720), (780, 1020)),
        6: ((0, 1440),),
    }


def test_open_hours_weekends_and_holidays() -> None:
    calendar = oak()
    assert calendar.is_open(utc(11, 25, 9))
    assert not calendar.is_open(utc(11, 25, 17))  # closing time is closed
    assert calendar.is_open(utc(11, 27, 15, 59)) and not calendar.is_open(utc(11, 27, 16))
    assert not calendar.is_open(utc(11, 28, 12))  # Saturday
    assert not calendar.is_open(utc(12, 25, 10))  # a holiday (a Friday)
    assert BusinessCalendar.of(None).is_open(utc(11, 28, 3))


def test_next_opening_and_business_minutes() -> None:
    calendar = oak()
    assert calendar.next_opening(utc(11, 25, 9)) == utc(11, 25, 9)
    assert calendar.next_opening(utc(11, 27, 16, 30)) == utc(11, 30, 8)
    assert calendar.next_opening(utc(12, 24, 18)) == utc(12, 28, 8)  # over Christmas
    assert calendar.add_minutes(utc(11, 27, 15), 240) == utc(11, 30, 11)
    assert calendar.add_minutes(utc(11, 28, 10), 60) == utc(11, 30, 9)  # from a Saturday
    assert calendar.add_minutes(utc(11, 25, 16), 60) == utc(11, 25, 17)  # ends at closing
    assert calendar.open_minutes(utc(11, 27, 15), utc(11, 30, 11)) == 240
    assert calendar.open_minutes(utc(11, 30, 11), utc(11, 27, 15)) == 0


def test_local_hours_follow_daylight_saving_time() -> None:
    calendar = oak()
    # London moves to BST on 29 March 2026: 08:00 local is 08:00 UTC before, 07:00 after
    assert calendar.next_opening(utc(3, 27, 17)) == utc(3, 30, 7)
    assert calendar.next_opening(utc(3, 26, 17)) == utc(3, 27, 8)
    moscow = BusinessCalendar(ZoneInfo("Europe/Moscow"), parse_week({"mon": ["09:00-18:00"]}))
    assert moscow.next_opening(utc(11, 25, 12)) == utc(11, 30, 6)


def test_a_calendar_that_never_opens_counts_plain_minutes() -> None:
    closed = BusinessCalendar(LONDON, parse_week({"mon": []}))
    assert closed.next_opening(utc(11, 25, 9)) is None
    assert closed.add_minutes(utc(11, 25, 9), 30) == utc(11, 25, 9, 30)


def test_who_is_on_shift() -> None:
    bob = Person(id=1, name="Bob", role=Role.TECHNICIAN, work_hours=OFFICE, active=True)
    away = [Absence(person_id=1, kind="vacation", starts=date(2026, 12, 1), ends=date(2026, 12, 5))]
    assert unavailable_reason(bob, away, utc(11, 25, 9), LONDON) is None
    assert unavailable_reason(bob, away, utc(11, 25, 18), LONDON) == Saying(
        "off_shift", {"name": "Bob"}
    )
    assert unavailable_reason(bob, away, utc(11, 25, 18), LONDON, check_hours=False) is None
    assert unavailable_reason(bob, away, utc(12, 2, 9), LONDON) == Saying(
        "away_until", {"name": "Bob", "kind": "vacation", "day": Day(date(2026, 12, 5))}
    )
    # the absence ends on the 5th in London; in Tokyo it is already the 6th
    assert (
        unavailable_reason(bob, away, utc(12, 5, 20), ZoneInfo("Asia/Tokyo"), check_hours=False)
        is None
    )
    olga = Person(id=2, name="Olga", role=Role.TECHNICIAN, work_hours={}, active=True)
    assert unavailable_reason(olga, away, utc(11, 28, 3), LONDON) is None  # no fixed hours
    olga.active = False
    assert unavailable_reason(olga, [], utc(11, 25, 9), LONDON) == Saying(
        "inactive", {"name": "Olga"}
    )
