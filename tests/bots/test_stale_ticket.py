"""A button pressed on a ticket someone else changed meanwhile: a clear answer, no change."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from core.actors import CLI
from core.storage.models import Channel, Status, Ticket
from core.tickets.commands import NewTicket
from core.tickets.versioned import save_changes
from housedesk.bootstrap import App
from tests.bots.support import (
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
)
from tests.fakes.botapi import BotApiServer


async def test_accept_on_a_ticket_changed_meanwhile_is_refused_with_a_clear_alert(
    app: App, botapi: BotApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load_example_directory()
    created = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Radiator is cold",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="3",
        )
    )
    ticket_id = created.ticket.id
    read = app.tickets.get

    async def read_then_changed_by_someone_else(ref: str | int) -> Ticket:
        copy = await read(ref)
        other = await read(ref)
        other.title = "Radiator is cold (kitchen)"
        async with in_transaction():
            await save_changes(other, "title")
        return copy

    monkeypatch.setattr(app.tickets, "get", read_then_changed_by_someone_else)
    async with running_housedesk(app, botapi):
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        bob.press_data(bob.send("/mine"), f"tk:accept:{ticket_id}")
        await eventually(lambda: botapi.calls(STAFF, "answerCallbackQuery"))

    [alert] = botapi.calls(STAFF, "answerCallbackQuery")
    assert alert.params["text"] == (
        f"#{ticket_id} was changed meanwhile by someone else; look again and retry."
    )
    saved = await read(ticket_id)
    assert (saved.status, saved.assignee, saved.title) == (
        Status.NEW,
        None,
        "Radiator is cold (kitchen)",
    )
