"""Which language a mail is written in, from its letters and common words."""

from __future__ import annotations

import pytest

from intake.email.language import text_language
from intake.email.rating import rating_in


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("У меня на кухне течёт кран, вода на полу.", "ru"),
        ("Dzień dobry, w mieszkaniu nie działa ogrzewanie.", "pl"),
        ("Dzien dobry, nie mam ciepłej wody w mieszkaniu", "pl"),
        ("Hei, jeg har en lekkasje på badet og det er ikke bra.", "no"),
        ("厨房的水管漏水了，请尽快派人来。", "zh"),
        ("Water is dripping from the pipe under my sink.", None),
        ("台所の水道から水が漏れています。", None),  # Japanese: no catalog
        ("1234 5678", None),
        ("Dzien dobry, nie mam wody w kuchni", "pl"),  # ASCII only: the words tell
        ("Hei, jeg har ikke vann", "no"),
        ("Kran течёт", "ru"),  # half the letters Cyrillic
        ("The kitchen tap течёт", None),  # a third: not enough
        ("Kitchen tap 漏水 is leaking", None),  # Han, but far below a quarter of the letters
    ],
)
def test_text_language(text: str, language: str | None) -> None:
    assert text_language(text) == language


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("5", (5, "")),
        ("  4/5\nGood work.\n", (4, "Good work.")),
        ("3 ★★★", (3, "")),
        ("\n\n2.\nToo slow", (2, "Too slow")),
        ("6", None),
        ("5 people live here and the heating is off", None),
        ("It still leaks", None),
        ("", None),
    ],
)
def test_a_rating_is_a_digit_alone_on_the_first_line(
    text: str, found: tuple[int, str] | None
) -> None:
    assert rating_in(text) == found
