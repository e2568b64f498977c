"""Launch data is checked as Telegram specifies, before anything else is read from it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk.launch import LaunchRefused, verify_launch_data
from tests.conftest import START
from tests.desk.support import signed_launch_data
from tests.telegram.support import RESIDENT_BOT_TOKEN, STAFF_BOT_TOKEN

AGE = timedelta(minutes=5)


def test_genuine_recent_data_names_its_user() -> None:
    data = signed_launch_data(STAFF_BOT_TOKEN, 100002, START - timedelta(minutes=4), "ru")
    user = verify_launch_data(data, STAFF_BOT_TOKEN, START, AGE)
    assert (user.id, user.language) == (100002, "ru")


@pytest.mark.parametrize(
    "data",
    [
        signed_launch_data(STAFF_BOT_TOKEN, 1, START).replace("auth_date=", "auth_date=1"),
        signed_launch_data(STAFF_BOT_TOKEN, 1, START - timedelta(minutes=6)),
        signed_launch_data(STAFF_BOT_TOKEN, 1, START + timedelta(minutes=5)),
        signed_launch_data(RESIDENT_BOT_TOKEN, 1, START),
        signed_launch_data(STAFF_BOT_TOKEN, 1, START).split("&hash=")[0],
        "hash=&&&",
        "",
    ],
    ids=["altered", "old", "future", "other bot", "unsigned", "malformed", "empty"],
)
def test_anything_else_is_refused(data: str) -> None:
    with pytest.raises(LaunchRefused):
        verify_launch_data(data, STAFF_BOT_TOKEN, START, AGE)


def test_nothing_is_accepted_without_the_staff_bot() -> None:
    with pytest.raises(LaunchRefused):
        verify_launch_data(signed_launch_data("", 1, START), "", START, AGE)
