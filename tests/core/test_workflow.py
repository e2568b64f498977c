"""The status workflow allows exactly the documented transitions."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, InvalidTransition
from core.storage.models import Status
from core.tickets.workflow import TRANSITIONS, check_transition, parse_status


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        (Status.NEW, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.ON_HOLD),
        (Status.ON_HOLD, Status.DONE),
        (Status.DONE, Status.CLOSED),
        (Status.CLOSED, Status.REOPENED),
        (Status.REJECTED, Status.REOPENED),
        (Status.REOPENED, Status.IN_PROGRESS),
    ],
)
def test_allowed(current: Status, requested: Status) -> None:
    check_transition(current, requested)


@pytest.mark.parametrize(
    ("current", "requested"),
    [
        (Status.NEW, Status.CLOSED),
        (Status.CLOSED, Status.IN_PROGRESS),
        (Status.DONE, Status.NEW),
        (Status.IN_PROGRESS, Status.IN_PROGRESS),
    ],
)
def test_forbidden_names_the_allowed_ones(current: Status, requested: Status) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_transition(current, requested)
    assert current.value in str(info.value) and requested.value in str(info.value)
    for allowed in TRANSITIONS[current]:
        assert allowed.value in str(info.value)


def test_every_status_has_a_way_out_or_back() -> None:
    assert set(TRANSITIONS) == set(Status)
    assert all(TRANSITIONS[s] for s in Status)


def test_parse_status_accepts_human_spellings() -> None:
    assert parse_status("In Progress") is Status.IN_PROGRESS
    assert parse_status("on-hold") is Status.ON_HOLD
    with pytest.raises(InvalidInput, match="unknown status"):
        parse_status("finished")
