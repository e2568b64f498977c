"""Times and days as each language writes them (CLDR's order; English day first), on the
building's clock: what cards, reminders, announcements and the after-hours answer show."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.storage.models import Building
from core.tickets.cards import day_and_time, local_day, local_moment, local_time

OSLO = ZoneInfo("Europe/Oslo")
MOMENT = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 08:00 in Oslo, a Monday


WRITTEN = {
    "en": (
        "30 Nov, 08:00",
        "30 Nov",
        "30 Nov 08:00",
        "Mon 30 Nov, 08:00",
        "Monday 30 November, 08:00",
    ),
    "ru": (
        "30 нояб., 08:00",
        "30 нояб.",
        "30 нояб. 08:00",
        "пн, 30 нояб., 08:00",
        "понедельник, 30 ноября, 08:00",
    ),
    "pl": (
        "30 lis, 08:00",
        "30 lis",
        "30 lis 08:00",
        "pon., 30 lis, 08:00",
        "poniedziałek, 30 listopada, 08:00",
    ),
    "no": (
        "30. nov., 08:00",
        "30. nov.",
        "30. nov. 08:00",
        "man. 30. nov., 08:00",
        "mandag 30 november, 08:00",
    ),
    "zh": (
        "11月30日 08:00",
        "11月30日",
        "11月30日 08:00",
        "11月30日周一 08:00",
        "11月30日星期一 08:00",
    ),
    "xx": (
        "30 Nov, 08:00",
        "30 Nov",
        "30 Nov 08:00",
        "Mon 30 Nov, 08:00",
        "Monday 30 November, 08:00",
    ),
}
"""Per language: a card's time, a day, a reminder's time, a weekday and time, the same in full
(an unknown language reads English)."""


@pytest.mark.parametrize("language", sorted(WRITTEN))
def test_each_language_writes_times_its_own_way(language: str) -> None:
    card, day, reminder, weekday, full = WRITTEN[language]
    oslo = Building(code="OAK", name="Oak Court", timezone="Europe/Oslo")
    assert local_time(MOMENT, oslo, language) == card
    assert local_day(date(2026, 11, 30), language) == day
    assert day_and_time(MOMENT, OSLO, language) == reminder
    assert local_moment(MOMENT, OSLO, language) == weekday
    assert local_moment(MOMENT, OSLO, language, full=True) == full
