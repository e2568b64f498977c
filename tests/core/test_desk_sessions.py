"""Desk sessions: a sign-in link works once and only for minutes, a session ends by time, by
signing out, by an admin (``housedesk desk sessions --end``) or when its person leaves."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from core.clock import FrozenClock
from core.directory.desk_sessions import (
    LINK_TTL,
    SESSION_TTL,
    end_session,
    issue_link,
    open_session,
    redeem_link,
    session_person,
    staff_of_chat,
)
from core.storage.models import DeskLink, DeskSession, Person, Role
from housedesk.bootstrap import App
from housedesk.cli.desk import cmd_desk_sessions
from tests.core import factories


async def test_a_link_works_once_within_its_minutes(clock: FrozenClock, db: str) -> None:
    bob = await factories.person("Bob", Role.DISPATCHER)
    code = await issue_link(bob, clock.now())
    assert await DeskLink.filter(code_sha256=code).count() == 0  # only its hash is kept
    signed = await redeem_link(code, clock.now())
    assert signed is not None and signed.person.id == bob.id
    assert await redeem_link(code, clock.now()) is None

    late = await issue_link(bob, clock.now())
    assert await redeem_link(late, clock.now() + LINK_TTL + timedelta(seconds=1)) is None
    assert await redeem_link("not-a-code", clock.now()) is None


async def test_a_session_ends_by_time_by_signing_out_and_when_its_person_leaves(
    clock: FrozenClock, db: str
) -> None:
    bob = await factories.person("Bob", Role.TECHNICIAN, telegram="4242")
    assert (await staff_of_chat(4242)).id == bob.id  # type: ignore[union-attr]
    signed = await open_session(bob, "launch", clock.now())
    assert await DeskSession.filter(token_sha256=signed.token).count() == 0
    assert (await session_person(signed.token, clock.now())).id == bob.id  # type: ignore[union-attr]
    assert await session_person(signed.token, clock.now() + SESSION_TTL) is None

    await end_session(signed.token, clock.now())
    assert await session_person(signed.token, clock.now()) is None

    again = await open_session(bob, "link", clock.now())
    await Person.filter(id=bob.id).update(active=False)
    assert await session_person(again.token, clock.now()) is None
    assert await staff_of_chat(4242) is None


async def test_an_admin_ends_someones_sessions(
    app: App, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = await factories.person("Bob Plumber", Role.TECHNICIAN, email="bob@oak.example")
    first = await open_session(bob, "launch", clock.now())
    second = await open_session(bob, "link", clock.now())
    await cmd_desk_sessions(app, argparse.Namespace(end=None))
    assert capsys.readouterr().out.count("Bob Plumber\t") == 2

    await cmd_desk_sessions(app, argparse.Namespace(end="bob@oak.example"))
    assert capsys.readouterr().out.strip() == "ended 2 desk sessions of Bob Plumber"
    for signed in (first, second):
        assert await session_person(signed.token, clock.now()) is None
    await cmd_desk_sessions(app, argparse.Namespace(end=None))
    assert capsys.readouterr().out.strip() == "nobody is signed in to the desk"
