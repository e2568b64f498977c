"""/load's line per technician: each count in the plural form of the reader's language."""

from __future__ import annotations

import pytest

from bots.staff.manager import load_line


@pytest.mark.parametrize(
    ("language", "lines"),
    [
        (
            "en",
            {
                (1, 0): "Bob: 1 open ticket, 0 overdue",
                (3, 2): "Bob: 3 open tickets, 2 overdue",
            },
        ),
        (
            "ru",
            {
                (1, 1): "Bob: 1 открытая заявка, 1 просрочена",
                (3, 2): "Bob: 3 открытые заявки, 2 просрочены",
                (5, 5): "Bob: 5 открытых заявок, 5 просрочено",
                (21, 0): "Bob: 21 открытая заявка, 0 просрочено",
            },
        ),
        (
            "pl",
            {
                (1, 1): "Bob: 1 otwarte zgłoszenie, 1 po terminie",
                (2, 0): "Bob: 2 otwarte zgłoszenia, 0 po terminie",
                (12, 2): "Bob: 12 otwartych zgłoszeń, 2 po terminie",
            },
        ),
        (
            "no",
            {
                (1, 1): "Bob: 1 åpen sak, 1 over fristen",
                (4, 2): "Bob: 4 åpne saker, 2 over fristen",
            },
        ),
        ("zh", {(7, 2): "Bob：7 个未完成工单，2 个逾期"}),
    ],
)
def test_each_count_takes_its_plural_form(language: str, lines: dict[tuple[int, int], str]) -> None:
    for (open_, overdue), expected in lines.items():
        row = {"name": "Bob", "open": open_, "overdue": overdue}
        assert load_line(row, language) == expected
