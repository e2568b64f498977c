"""An update is handled at least once: when the topic question of a report could not be sent
(Telegram failing, or the process killed before it went out), the update is handled again
and the question is asked then, while the message is kept once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from core.clock import FrozenClock
from core.directory.residents import register_resident
from core.storage.models import InboundUpdate, Ticket, TicketEvent
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_errors import Fault

TOPIC = "What is it about? Choose a topic"


def failing_once(call: Callable[..., Awaitable[object]]) -> Callable[..., Awaitable[object]]:
    """``call``, failing its first time as when the process dies there."""
    failures = []

    async def fails_once(*args: object, **kwargs: object) -> object:
        if not failures:
            failures.append(1)
            raise RuntimeError("the process died here")
        return await call(*args, **kwargs)

    return fails_once


async def test_a_topic_question_that_failed_is_asked_when_the_update_is_handled_again(
    app: App, botapi: BotApiServer, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_housedesk(app, botapi):
        await load_example_directory()
        await register_resident(5550001, "Mina", "OAK", "12")
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        botapi.fail_next(RESIDENT, "sendMessage", Fault.SERVER_ERROR, count=4)  # all 4 tries
        resident.send("The kitchen tap drips")
        await eventually(lambda: "not answered" in caplog.text, timeout=10, what="the give-up")
        clock.advance(timedelta(seconds=3))  # past the inbox's first backoff
        question = await resident.sees(TOPIC, timeout=10)
        resident.press(question, "Technical problem")
        await resident.sees("is registered", timeout=10)

        tickets = await Ticket.all()

    asked = [m for m in resident.bot_messages() if TOPIC in str(m.get("text"))]
    assert len(asked) == 1
    assert [t.title for t in tickets] == ["The kitchen tap drips"]


async def test_a_report_whose_filing_failed_is_filed_when_the_press_is_handled_again(
    app: App,
    botapi: BotApiServer,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The topic's press moved the conversation on, then filing the kept message failed (as
    when the process dies there): handled again, the press files it, once."""
    async with running_housedesk(app, botapi):
        await load_example_directory()
        await register_resident(5550002, "Ola", "OAK", "12")
        resident = TelegramUser.of(botapi, RESIDENT, 5550002, "Ola")
        resident.send("The radiator is cold")
        question = await resident.sees(TOPIC, timeout=10)
        monkeypatch.setattr(app.tickets, "create", failing_once(app.tickets.create))
        resident.press(question, "Technical problem")
        await eventually(
            lambda: InboundUpdate.filter(attempts=1).exists(), timeout=10, what="the failure"
        )
        clock.advance(timedelta(seconds=3))  # past the inbox's first backoff
        await resident.sees("is registered", timeout=10)

        tickets = await Ticket.all()

    assert [t.title for t in tickets] == ["The radiator is cold"]
    registered = [m for m in resident.bot_messages() if "is registered" in str(m.get("text"))]
    assert len(registered) == 1


async def test_a_comment_whose_adding_failed_goes_onto_the_request_when_handled_again(
    app: App, botapi: BotApiServer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comment on a chosen request whose adding failed (as when the process dies there) is
    still the conversation's when its update is handled again: it goes onto the request, and
    is not taken for a new report."""
    async with running_housedesk(app, botapi):
        await load_example_directory()
        await register_resident(5550003, "Per", "OAK", "12")
        resident = TelegramUser.of(botapi, RESIDENT, 5550003, "Per")
        resident.send("The radiator is cold")
        resident.press(await resident.sees(TOPIC, timeout=10), "Technical problem")
        await resident.sees("is registered", timeout=10)
        resident.send("/my")
        resident.press(await resident.sees("The radiator is cold", timeout=10), "#1")
        await resident.sees("Write a message to add to #1", timeout=10)
        monkeypatch.setattr(app.tickets, "reply", failing_once(app.tickets.reply))
        resident.send("Still cold this morning")
        await eventually(
            lambda: InboundUpdate.filter(attempts=1).exists(), timeout=10, what="the failure"
        )
        clock.advance(timedelta(seconds=3))  # past the inbox's first backoff
        await resident.sees("Added to your request #1", timeout=10)

        tickets = await Ticket.all()
        texts = await TicketEvent.filter(ticket_id=tickets[0].id).values_list("text", flat=True)

    assert len(tickets) == 1
    assert "Still cold this morning" in texts
    asked = [m for m in resident.bot_messages() if TOPIC in str(m.get("text"))]
    assert len(asked) == 1  # the first report's only
