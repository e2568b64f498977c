"""A technician's card buttons and commands, and what managers and dispatchers can do."""

from __future__ import annotations

from datetime import UTC, datetime

from core.actors import CLI
from core.storage.models import Channel, EventType, Status, Ticket, TicketEvent
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
    start_report,
)
from tests.fakes.botapi import BotApiServer


async def _report(resident: TelegramUser, text: str) -> Ticket:
    resident.send(text)
    await resident.sees(f"is registered: {text}")
    return await Ticket.get(title=text)


async def test_decline_postpone_note_and_commands(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        dmitri = TelegramUser.of(botapi, STAFF, 100002, "Dmitri", "ru")
        await start_report(resident, "OAK")
        ticket = await _report(resident, "Radiator is cold")

        # Only managers and dispatchers assign.
        bob.send(f"/assign {ticket.id} Bob Plumber")
        await bob.sees("Sorry, you cannot do that.")
        alice.send(f"/assign {ticket.id} Bob Plumber")
        await alice.sees(f"#{ticket.id} is assigned to Bob Plumber")
        card = await bob.sees("Radiator is cold")

        # Decline with a reason: unassigned, the coordinators are told.
        bob.press_data(card, f"tk:decline:{ticket.id}")
        await bob.sees(f"Why do you decline #{ticket.id}?")
        bob.send("No parts for this model")
        await bob.sees(f"You declined #{ticket.id}.")
        await alice.sees(f"#{ticket.id} was declined by Bob Plumber: No parts for this model")
        await dmitri.sees(f"От заявки #{ticket.id} отказался(ась) Bob Plumber")
        assert (await app.tickets.get(ticket.id)).assignee is None

        # Postpone with a button: on hold, the resident is told until when (London time).
        alice.send(f"/assign {ticket.id} Bob Plumber")
        card = await bob.sees("Radiator is cold")
        bob.press_data(card, f"tk:postpone:{ticket.id}")
        choices = await bob.sees(f"Until when do you postpone #{ticket.id}?")
        bob.press(choices, "Tomorrow morning")
        await bob.sees(f"#{ticket.id} is on hold until 26 Nov, 09:00")
        told = await resident.sees("is now: on hold")
        assert "The work is postponed until 26 Nov, 09:00." in shown_text(told)

        # Postpone to a typed date; a bad one is explained.
        bob.press_data(card, f"tk:postpone:{ticket.id}")
        await bob.sees("Until when do you postpone")
        bob.send("next Tuesday")
        await bob.sees("I could not read that date")
        bob.send("2026-12-01 10:00")
        await bob.sees(f"#{ticket.id} is on hold until 1 Dec, 10:00")

        # An internal note never reaches the resident; /ticket shows it to staff.
        bob.send(f"/note {ticket.id} Valve is from the 1970s", reply_to_message_id=None)
        await bob.sees(f"Internal note added to #{ticket.id}.")
        bob.send("/note Order part 4711", reply_to_message_id=card["message_id"])
        await bob.sees(f"Internal note added to #{ticket.id}.")
        bob.send(f"/ticket {ticket.id}")
        shown = await bob.sees("History:")
        assert "Valve is from the 1970s" in shown_text(shown)
        assert "Resident: Mina" in shown_text(shown)
        bob.send("/mine")
        await bob.sees(f"#{ticket.id} · on hold · Radiator is cold")

        # Done without a photo: a note alone is enough.
        bob.press_data(card, f"tk:done:{ticket.id}")
        await bob.sees("Send a photo of the finished work")
        bob.send("Bled the radiator")
        await bob.sees(f"#{ticket.id} is done.")
        done = await resident.sees("is now: done")
        assert "Bled the radiator" in shown_text(done)

    said = " ".join(shown_text(m) for m in resident.bot_messages())
    assert "1970s" not in said and "4711" not in said
    notes = await TicketEvent.filter(ticket=ticket, type=EventType.INTERNAL_NOTE)
    assert sorted(n.text for n in notes) == ["Order part 4711", "Valve is from the 1970s"]
    holds = await TicketEvent.filter(ticket=ticket, type=EventType.STATUS_CHANGED).order_by("id")
    assert [h.data.get("until") for h in holds if h.data["to"] == Status.ON_HOLD.value] == [
        datetime(2026, 11, 26, 9, 0, tzinfo=UTC).isoformat(),
        datetime(2026, 12, 1, 10, 0, tzinfo=UTC).isoformat(),
    ]


async def test_a_technician_sees_only_their_buildings(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    lipa = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Домофон не работает",
            channel=Channel.CLI,
            actor=CLI,
            building="LIPA",
            unit="3",
        )
    )
    async with running_housedesk(app, botapi):
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")  # serves Oak Court only
        bob.send("/open")
        await bob.sees("No open requests.")
        bob.send(f"/ticket {lipa.ticket.id}")
        await bob.sees("Sorry, you cannot do that.")
        bob.press_data(bob.send("/mine"), f"tk:accept:{lipa.ticket.id}")
        await eventually(lambda: botapi.calls(STAFF, "answerCallbackQuery"))
        ivan = TelegramUser.of(botapi, STAFF, 100004, "Ivan", "ru")
        ivan.send("/open")
        await ivan.sees(f"#{lipa.ticket.id} · новая · Домофон не работает")

    [refused] = botapi.calls(STAFF, "answerCallbackQuery")
    assert refused.params["text"] == f"#{lipa.ticket.id} is not in your buildings."
    assert (await app.tickets.get(lipa.ticket.id)).assignee is None
