"""The ticket service: one transaction writes the ticket, its timeline and its outbox rows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest

from core.actors import CLI, Actor
from core.clock import FrozenClock
from core.directory.verification import claim_flat
from core.errors import AccessDenied, InvalidInput, InvalidTransition, NotFound
from core.messaging.message import FileRef, OutgoingMessage, Verb
from core.storage.models import (
    Building,
    Channel,
    ContactKind,
    EventType,
    OutboxMessage,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
    Unit,
)
from core.tickets.commands import InboundRef, NewAttachment, NewTicket, RequesterHint
from housedesk.bootstrap import App
from presentation.views import ticket_detail
from tests.core import factories


@dataclass
class World:
    """The people of a small two-building directory."""

    oak: Building
    tom: Person
    bob: Person
    eve: Person
    mia: Person


async def _setup() -> World:
    oak = await factories.building("OAK")
    elm = await factories.building("ELM")
    await factories.category("technical")
    await factories.category("emergency", emergency=True, priority=1, response_minutes=30)
    tom = await factories.person("Tom", telegram="5001", email="tom@tenant.example")
    await tom.units.add(*(await oak.units.filter(number="3")))
    bob = await factories.person("Bob", Role.TECHNICIAN, telegram="9001", buildings=[oak])
    eve = await factories.person("Eve", Role.TECHNICIAN, telegram="9002", buildings=[elm])
    mia = await factories.person("Mia", Role.MANAGER)
    return World(oak=oak, tom=tom, bob=bob, eve=eve, mia=mia)


def _new(**values: object) -> NewTicket:
    base: dict[str, object] = {
        "category": "technical",
        "title": "Radiator cold",
        "description": "The radiator in the bedroom is cold.",
        "channel": Channel.CHAT,
        "actor": CLI,
        "building": "OAK",
        "unit": "3",
    }
    base.update(values)
    return NewTicket(**base)


async def test_create_writes_ticket_event_outbox_and_deadlines(app: App) -> None:
    people = await _setup()
    result = await app.tickets.create(_new(requester_id=people.tom.id))
    ticket = result.ticket
    assert result.created and ticket.ref == f"#{ticket.id}"
    assert (ticket.status, ticket.building.code, ticket.unit.number) == (Status.NEW, "OAK", "3")
    assert ticket.response_due_at == app.clock.now() + timedelta(minutes=60)
    assert ticket.due_at == app.clock.now() + timedelta(days=1)
    events = await TicketEvent.filter(ticket=ticket)
    assert [e.type for e in events] == [EventType.CREATED]
    [ack] = await OutboxMessage.filter(ticket=ticket)
    assert ack.channel == "resident_chat" and ack.recipient == "5001"
    assert ticket.ref in str(ack.payload["text"]) and "Radiator cold" in str(ack.payload["text"])


async def test_same_inbound_message_twice_makes_one_ticket(app: App) -> None:
    people = await _setup()
    ref = InboundRef("telegram_update", "777")
    cmd = _new(requester_id=people.tom.id, inbound=ref)
    first, second = await asyncio.gather(app.tickets.create(cmd), app.tickets.create(cmd))
    assert first.ticket.id == second.ticket.id
    assert sorted([first.created, second.created]) == [False, True]
    assert await Ticket.all().count() == 1
    assert await OutboxMessage.all().count() == 1


async def test_a_message_filed_again_under_another_reference_is_its_ticket(app: App) -> None:
    """A report handled again may name itself anew (its chat and a new start); its message
    was recorded with the ticket, so it is that ticket, not a second one."""
    people = await _setup()
    message = InboundRef("resident_chat", "5550001:41")
    first = await app.tickets.create(
        _new(requester_id=people.tom.id, inbound=InboundRef("resident_chat", "report:1:a")),
        also_seen=[message],
    )
    again = await app.tickets.create(
        _new(requester_id=people.tom.id, inbound=InboundRef("resident_chat", "report:1:b")),
        also_seen=[message],
    )
    assert (again.ticket.id, again.created) == (first.ticket.id, False)
    assert await Ticket.all().count() == 1
    assert await OutboxMessage.all().count() == 1


async def test_unknown_email_sender_gets_an_unverified_ticket(app: App) -> None:
    await _setup()
    result = await app.tickets.create(
        _new(
            building=None,
            unit=None,
            channel=Channel.EMAIL,
            requester=RequesterHint(ContactKind.EMAIL, "New.Person@Example.org", "New Person"),
        )
    )
    assert not result.ticket.verified
    assert result.ticket.requester.name == "New Person"
    [ack] = await OutboxMessage.filter(ticket=result.ticket)
    assert ack.channel == "email" and ack.recipient == "new.person@example.org"
    assert ack.payload["subject"] == f"[{result.ticket.ref}] Radiator cold"
    assert ack.payload["automatic"] is True


async def test_a_residents_mail_is_unverified_while_their_claim_to_that_flat_is(app: App) -> None:
    people = await _setup()
    home = await Unit.get(building=people.oak, number="3")
    elsewhere = await Unit.get(building__code="ELM", number="1")
    mail = _new(building=None, unit=None, channel=Channel.EMAIL, requester_id=people.tom.id)
    await claim_flat(people.tom, elsewhere, app.clock.now())
    first = (await app.tickets.create(mail)).ticket
    await claim_flat(people.tom, home, app.clock.now())
    second = (await app.tickets.create(mail)).ticket
    assert (first.building_id, first.unit_id, first.verified) == (people.oak.id, home.id, True)
    assert (second.building_id, second.unit_id, second.verified) == (people.oak.id, home.id, False)


async def test_public_reply_reaches_requester_and_note_does_not(app: App) -> None:
    people = await _setup()
    ticket = (await app.tickets.create(_new(requester_id=people.tom.id, acknowledge=False))).ticket
    await app.tickets.reply(ticket.ref, Actor.of(people.bob), "Coming at 3pm", public=True)
    await app.tickets.reply(ticket.ref, Actor.of(people.bob), "Needs a new valve", public=False)
    rows = await OutboxMessage.filter(ticket=ticket)
    assert [r.payload["text"] for r in rows] == [
        f"Reply on your request {ticket.ref}:\nComing at 3pm"
    ]
    detail = ticket_detail(await app.tickets.detail(ticket.ref, people.tom))
    texts = [e["text"] for e in detail["events"]]
    assert "Coming at 3pm" in texts and "Needs a new valve" not in texts
    refreshed = await Ticket.get(id=ticket.id)
    assert refreshed.first_response_at == app.clock.now()


async def test_forbidden_transition_changes_nothing(app: App) -> None:
    people = await _setup()
    ticket = (await app.tickets.create(_new(requester_id=people.tom.id))).ticket
    with pytest.raises(InvalidTransition, match="from new to closed"):
        await app.tickets.change_status(ticket.ref, CLI, Status.CLOSED)
    assert (await Ticket.get(id=ticket.id)).status == Status.NEW
    assert await TicketEvent.filter(ticket=ticket, type=EventType.STATUS_CHANGED).count() == 0


async def test_done_with_photo_tells_the_resident_with_the_photo(app: App) -> None:
    people = await _setup()
    ticket = (await app.tickets.create(_new(requester_id=people.tom.id, acknowledge=False))).ticket
    photo = NewAttachment("a" * 64, 10, "image/jpeg", "done.jpg")
    await app.tickets.change_status(ticket.ref, CLI, Status.IN_PROGRESS)
    await app.tickets.change_status(
        ticket.ref, CLI, Status.DONE, note="Valve replaced", attachments=[photo]
    )
    last = await OutboxMessage.filter(ticket=ticket).order_by("-id").first()
    assert last is not None
    told = OutgoingMessage.from_payload(last.payload)
    assert told.files == (FileRef("a" * 64, "done.jpg", "image/jpeg"),)
    assert "done" in told.text and "Valve replaced" in told.text
    assert [a.verb for a in told.actions[0]] == [Verb.RATE] * 5
    done = await Ticket.get(id=ticket.id)
    assert done.resolved_at == app.clock.now()


async def test_assign_sends_card_with_buttons_to_the_technician(app: App) -> None:
    people = await _setup()
    ticket = (await app.tickets.create(_new(requester_id=people.tom.id, acknowledge=False))).ticket
    await app.tickets.assign(ticket.ref, CLI, people.bob)
    [card] = await OutboxMessage.filter(ticket=ticket, channel="staff_chat")
    assert card.recipient == "9001"
    assert "Radiator cold" in str(card.payload["text"]) and "Tom" in str(card.payload["text"])
    actions = OutgoingMessage.from_payload(card.payload).actions
    assert [(a.label, a.verb, a.ticket_id) for row in actions for a in row] == [
        (verb.value.capitalize(), verb, ticket.id)
        for verb in (Verb.ACCEPT, Verb.DECLINE, Verb.POSTPONE, Verb.DONE)
    ]
    with pytest.raises(InvalidInput):
        await app.tickets.assign(ticket.ref, CLI, people.tom)


async def test_rating_only_when_done_and_in_range(app: App) -> None:
    people = await _setup()
    ticket = (await app.tickets.create(_new(requester_id=people.tom.id))).ticket
    tom = Actor.of(people.tom)
    with pytest.raises(InvalidInput, match="not done"):
        await app.tickets.rate(ticket.ref, tom, 5)
    await app.tickets.change_status(ticket.ref, CLI, Status.DONE)
    with pytest.raises(InvalidInput, match="1 to 5"):
        await app.tickets.rate(ticket.ref, tom, 6)
    await app.tickets.rate(ticket.ref, tom, 4, "quick, thanks")
    rated = await Ticket.get(id=ticket.id)
    assert (rated.rating, rated.rating_comment) == (4, "quick, thanks")


async def test_a_rating_comment_taken_in_twice_is_recorded_once(app: App) -> None:
    people = await _setup()
    ticket = (await app.tickets.create(_new(requester_id=people.tom.id))).ticket
    tom = Actor.of(people.tom)
    await app.tickets.change_status(ticket.ref, CLI, Status.DONE)
    await app.tickets.rate(ticket.ref, tom, 4)
    said = InboundRef("resident_chat", "5001:77")
    for _ in range(2):  # the update handled again (its first answer never went out)
        await app.tickets.comment_rating(ticket.ref, tom, "quick, thanks", inbound=said)
    comments = await TicketEvent.filter(ticket=ticket, type=EventType.RATING, text="quick, thanks")
    assert len(comments) == 1
    assert (await Ticket.get(id=ticket.id)).rating_comment == "quick, thanks"


def _refs(tickets: list[Ticket]) -> list[str]:
    return sorted(t.ref for t in tickets)


async def test_access_rules(app: App) -> None:
    people = await _setup()
    mine = (await app.tickets.create(_new(requester_id=people.tom.id))).ticket
    other_resident = await factories.person("Ann", telegram="5002")
    elm = (
        await app.tickets.create(_new(building="ELM", unit="1", requester_id=other_resident.id))
    ).ticket
    assert _refs(await app.tickets.find(people.tom)) == [mine.ref]
    assert _refs(await app.tickets.find(people.bob)) == [mine.ref]
    assert _refs(await app.tickets.find(people.eve)) == [elm.ref]
    assert _refs(await app.tickets.find(people.mia)) == sorted([mine.ref, elm.ref])
    with pytest.raises(AccessDenied):
        await app.tickets.detail(elm.ref, people.tom)
    with pytest.raises(AccessDenied):
        await app.tickets.reply(elm.ref, Actor.of(people.tom), "hello?")


async def test_bad_input_is_a_clear_error(app: App) -> None:
    await _setup()
    with pytest.raises(NotFound, match=r"unknown category 'plumbing'.*technical"):
        await app.tickets.create(_new(category="plumbing"))
    with pytest.raises(NotFound, match="no unit '99'"):
        await app.tickets.create(_new(unit="99"))
    with pytest.raises(InvalidInput, match="title or a description"):
        await app.tickets.create(_new(title="  ", description=""))
    with pytest.raises(NotFound, match="no ticket #404"):
        await app.tickets.get("#404")
    assert await Ticket.all().count() == 0


async def test_list_is_newest_first_and_limited(app: App, clock: FrozenClock) -> None:
    await _setup()
    for n in range(3):
        await app.tickets.create(_new(title=f"T{n}"))
        clock.advance(timedelta(minutes=1))
    assert [t.title for t in await app.tickets.find()] == ["T2", "T1", "T0"]
    assert [t.title for t in await app.tickets.find(limit=2)] == ["T2", "T1"]
    assert [t.title for t in await app.tickets.find(statuses=[Status.DONE])] == []
