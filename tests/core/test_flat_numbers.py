"""Flat numbers as residents write them in every language the bot speaks."""

from __future__ import annotations

import pytest

from core.directory.residents import flat_number


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("12", "12"),
        ("  12 ", "12"),
        ("flat 31", "31"),
        ("Flat 3A", "3A"),
        ("apt. 5", "5"),
        ("кв. 45", "45"),
        ("кв.45", "45"),
        ("квартира 45", "45"),
        ("Квартира 45", "45"),
        ("mieszkanie 7", "7"),
        ("m. 7", "7"),
        ("leilighet 4", "4"),
        ("4号", "4"),
        ("4 号房", "4"),
        ("#31", "31"),
        ("№ 5", "5"),
        ("shop-1", "shop-1"),
    ],
)
def test_flat_numbers_as_people_write_them(written: str, number: str) -> None:
    assert flat_number(written) == number
