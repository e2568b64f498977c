"""Every command of the staff bot's and the residents' bot's menus answered in Russian and
Chinese: no English word left (names, codes, people's own words and command syntax aside),
and times in the building's zone written the reader's way."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from bots.dispatchers import RESIDENT_COMMANDS
from bots.staff.menus import commands_for
from core.actors import Actor
from core.directory.residents import register_resident
from core.storage.models import Building, Channel, Person, Role, Status
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer

TOKYO = ZoneInfo("Asia/Tokyo")
GIVEN = re.compile(
    r"Alice Manager|Bob Plumber|Olga Electric|Carol Accounts|Dmitri Dispatcher|Ivan Slesar"
    r"|Oak Court|OAK|LIPA|Tom|Mia|Water through the ceiling|Door bell is broken|Telegram"
    r"|Mini App|housedesk|UTC|Asia/Tokyo|@\w+|https?://\S+|\S+@\S+"
)
"""Names of people, places and services, the reports' titles, and links."""
SYNTAX = re.compile(r"/[a-z]+(?:[ ][A-Za-z0-9#.]+)*|\[[a-z]+(?:=[^\]]*)?\]|\|all\b")
"""A command with its example arguments (``/edit 12 building OAK``) and options
(``[floor=N]``, ``[emergency]``, ``|all``)."""
LATIN = re.compile(r"[A-Za-z]{3,}")
ARGUMENTS = {"ticket": "{ref}", "report": "week", "export": "week", "ratings": "month"}
"""Arguments a command gets in the walk (the rest is sent bare: its usage or its list)."""
DUE_PATTERNS = {"ru": "d MMM, HH:mm", "zh": "M月d日 HH:mm"}
"""How a deadline is written: ``28 нояб., 18:00``, ``11月28日 18:00``."""


async def _answers(user: TelegramUser, commands: list[str]) -> dict[str, list[str]]:
    """What ``user`` reads after each of ``commands`` (each waits for its first answer)."""
    answers: dict[str, list[str]] = {}
    for command in commands:
        before = len(user.bot_messages())
        user.send(command)
        for _ in range(300):
            if len(user.bot_messages()) > before:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"{command} got no answer")
        await asyncio.sleep(0.3)  # a report's chart, an export's file follow its text
        answers[command.split()[0][1:]] = [shown_text(m) for m in user.bot_messages()[before:]]
    return answers


def _english(shown: list[str]) -> list[str]:
    """Lines of ``shown`` with English words, and the words."""
    english = []
    for text in shown:
        for line in text.splitlines():
            words = LATIN.findall(SYNTAX.sub(" ", GIVEN.sub(" ", line)))
            if words:
                english.append(f"{words} in {line!r}")
    return english


async def _walk(app: App, botapi: BotApiServer, language: str) -> list[str]:
    await load_example_directory()
    await Building.filter(code="OAK").update(timezone="Asia/Tokyo")
    await Person.filter(role__not=Role.RESIDENT).update(language=language)
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12", language)
    alice = await Person.get(name="Alice Manager")
    late = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Water through the ceiling",
            channel=Channel.CHAT,
            actor=Actor.of(tom),
            building="OAK",
            unit="12",
            requester_id=tom.id,
        )
    )
    bob = await Person.get(name="Bob Plumber")
    await app.tickets.assign(late.ticket.id, Actor.of(alice), bob)
    done = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Door bell is broken",
            channel=Channel.CHAT,
            actor=Actor.of(tom),
            building="OAK",
            unit="12",
            requester_id=tom.id,
        )
    )
    await app.tickets.assign(done.ticket.id, Actor.of(alice), bob)
    await app.tickets.change_status(done.ticket.id, Actor.of(bob), Status.DONE)
    await app.tickets.rate(done.ticket.id, Actor.of(tom), 4, "")
    app.clock.advance(timedelta(days=3))  # the first request is overdue now
    async with running_housedesk(app, botapi):
        manager = TelegramUser.of(botapi, STAFF, 100001, "Alice", language)
        commands = [
            f"/{name} {ARGUMENTS.get(name, '').format(ref=late.ticket.id)}".strip()
            for name, _ in commands_for(Role.MANAGER)
        ]
        answers = await _answers(manager, commands)
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Tom", language)
        told = await _answers(resident, [f"/{name}" for name, _ in reversed(RESIDENT_COMMANDS)])
    due = late.ticket.due_at
    assert due is not None
    overdue = format_datetime(due, DUE_PATTERNS[language], tzinfo=TOKYO, locale=language)
    assert overdue in "\n".join(answers["overdue"]), (overdue, answers["overdue"])
    assert any("Water through the ceiling" in text for text in told["my"]), told["my"]
    return [text for texts in (*answers.values(), *told.values()) for text in texts]


@pytest.mark.parametrize("language", ["ru", "zh"])
async def test_every_command_answers_in_the_readers_language(
    app: App, botapi: BotApiServer, language: str
) -> None:
    english = _english(await _walk(app, botapi, language))
    assert english == [], "\n".join(english)
