"""Two people change one ticket at once: one wins, the other is told, nothing is overwritten.

Runs on SQLite by default and on PostgreSQL with ``--db=postgres``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from core.actors import CLI, Actor
from core.errors import StaleTicket
from core.operations.jobs import Operations
from core.storage.models import (
    Channel,
    EventType,
    OutboxMessage,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
)
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.ops_world import build_world, new_ticket, routed


@dataclass
class People:
    tom: Person  # the resident
    bob: Person  # a technician
    mia: Person  # the manager


async def _ticket(app: App) -> tuple[Ticket, People]:
    oak = await factories.building("OAK")
    await factories.category("technical")
    tom = await factories.person("Tom", telegram="5001")
    await tom.units.add(*(await oak.units.filter(number="3")))
    bob = await factories.person("Bob", Role.TECHNICIAN, telegram="9001", buildings=[oak])
    mia = await factories.person("Mia", Role.MANAGER, telegram="9009")
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Radiator cold",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="3",
            requester_id=tom.id,
        )
    )
    return result.ticket, People(tom, bob, mia)


async def _timeline(ticket_id: int) -> list[tuple[EventType, str]]:
    events = await TicketEvent.filter(ticket_id=ticket_id).order_by("id")
    return [(e.type, e.actor_label) for e in events]


async def test_two_staff_change_one_ticket_at_once_one_wins(app: App) -> None:
    ticket, people = await _ticket(app)
    outbox_before = await OutboxMessage.filter(ticket_id=ticket.id).count()
    # both look at #1 before either of them acts
    bobs_copy = await app.tickets.get(ticket.id)
    mias_copy = await app.tickets.get(ticket.id)
    assert bobs_copy.version == mias_copy.version == 1

    accepted, rejected = await asyncio.gather(
        app.tickets.accept(bobs_copy, Actor.of(people.bob)),
        app.tickets.change_status(mias_copy, Actor.of(people.mia), Status.REJECTED, note="dup"),
        return_exceptions=True,
    )

    outcomes = [accepted, rejected]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], StaleTicket), outcomes
    stale = errors[0]
    assert (
        str(stale) == f"#{ticket.id} was changed meanwhile by someone else; look again and retry."
    )
    assert stale.text("ru").startswith(f"#{ticket.id} тем временем изменил кто-то другой")

    saved = await app.tickets.get(ticket.id)
    assert saved.version == 2
    events = await _timeline(ticket.id)
    if isinstance(rejected, StaleTicket):  # Bob won: his work, Mia's rejection left no trace
        assert (saved.status, saved.assignee.name) == (Status.IN_PROGRESS, "Bob")
        assert events == [
            (EventType.CREATED, "cli"),
            (EventType.ASSIGNED, "Bob"),
            (EventType.STATUS_CHANGED, "Bob"),
        ]
    else:  # Mia won: rejected and nobody's; Bob's acceptance left no trace
        assert (saved.status, saved.assignee) == (Status.REJECTED, None)
        assert events == [(EventType.CREATED, "cli"), (EventType.STATUS_CHANGED, "Mia")]
    # the winner told the resident once; the loser wrote no outbox row
    assert await OutboxMessage.filter(ticket_id=ticket.id).count() == outbox_before + 1


async def test_a_change_on_a_copy_read_before_another_change_is_refused(app: App) -> None:
    ticket, people = await _ticket(app)
    stale_copy = await app.tickets.get(ticket.id)
    await app.tickets.assign(ticket.id, Actor.of(people.mia), people.bob)

    with pytest.raises(StaleTicket):
        await app.tickets.change_status(stale_copy, Actor.of(people.mia), Status.ON_HOLD)

    saved = await app.tickets.get(ticket.id)
    assert (saved.status, saved.assignee.name, saved.version) == (Status.NEW, "Bob", 2)
    assert [kind for kind, _ in await _timeline(ticket.id)] == [
        EventType.CREATED,
        EventType.ASSIGNED,
    ]


async def test_a_resident_reply_is_retried_on_a_fresh_copy(app: App) -> None:
    ticket, people = await _ticket(app)
    residents_copy = await app.tickets.get(ticket.id)
    # Bob accepts while the resident is typing
    await app.tickets.accept(ticket.id, Actor.of(people.bob))

    event = await app.tickets.reply(residents_copy, Actor.of(people.tom), "It is still cold")

    assert event is not None and event.text == "It is still cold"
    saved = await app.tickets.get(ticket.id)
    assert (saved.status, saved.assignee.name, saved.version) == (Status.IN_PROGRESS, "Bob", 3)
    assert [kind for kind, _ in await _timeline(ticket.id)] == [
        EventType.CREATED,
        EventType.ASSIGNED,
        EventType.STATUS_CHANGED,
        EventType.PUBLIC_REPLY,
    ]
    # the fresh copy knows Bob has the work now: he is told what the resident wrote
    to_bob = await OutboxMessage.filter(ticket_id=ticket.id, recipient="9001").order_by("id")
    assert "It is still cold" in str(to_bob[-1].payload)


async def test_concurrent_replies_both_land(app: App) -> None:
    ticket, people = await _ticket(app)
    first = await app.tickets.get(ticket.id)
    second = await app.tickets.get(ticket.id)

    await asyncio.gather(
        app.tickets.reply(first, Actor.of(people.tom), "Hello?"),
        app.tickets.reply(second, Actor.of(people.mia), "We are on it."),
    )

    saved = await app.tickets.get(ticket.id)
    assert saved.version == 3
    texts = sorted(
        e.text for e in await TicketEvent.filter(ticket_id=ticket.id, type=EventType.PUBLIC_REPLY)
    )
    assert texts == ["Hello?", "We are on it."]


async def test_a_duty_list_step_is_taken_again_on_a_fresh_copy(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets))
    app.clock.set(datetime(2026, 11, 25, 20, 0, tzinfo=UTC))  # after hours
    ticket = await new_ticket(app.tickets, world, "emergency", title="Water through the ceiling")
    assert ticket.assignee.name == "Bob Plumber"
    read = app.tickets.get
    stale: list[int] = []

    async def first_read_is_one_change_behind(ref: str | int) -> Ticket:
        """The scheduler's first copy misses a change that landed right after reading it
        (within one SQLite write transaction nothing else can land: the copy says so)."""
        copy = await read(ref)
        if not stale:
            stale.append(copy.version)
            copy.version -= 1
        return copy

    monkeypatch.setattr(app.tickets, "get", first_read_is_one_change_behind)
    app.clock.advance(timedelta(minutes=15))
    assert (await operations.tick(app.clock.now()))["routing"] == 1

    saved = await read(ticket.id)
    assert stale and saved.assignee.name == "Pat Plumber"
    assert saved.version == stale[0] + 1  # the second attempt's change alone
    steps = await TicketEvent.filter(ticket_id=ticket.id, type=EventType.ROUTING).order_by("id")
    assert [e.data["person"] for e in steps if e.data["decision"] == "duty"] == [
        "Bob Plumber",
        "Pat Plumber",
    ]
