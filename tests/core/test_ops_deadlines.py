"""Deadlines: a reminder before, exactly one breach event, nudges until met, calendar-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.actors import Actor
from core.operations.deadlines import NudgePolicy
from core.operations.jobs import Operations
from core.storage.models import (
    EventType,
    OpsMark,
    OutboxMessage,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
)
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.ops_world import World, build_world, new_ticket, routed


async def _ticking(
    app: App,
    operations: Operations,
    until: datetime,
    every: timedelta,
    actions: dict[datetime, object],
) -> None:
    """Tick every ``every`` up to ``until``; run ``actions[moment]()`` just before that tick."""
    while app.clock.now() < until:
        app.clock.advance(every)
        action = actions.get(app.clock.now())
        if action is not None:
            await action()  # type: ignore[operator]
        await operations.tick(app.clock.now())


async def _messages(ticket: Ticket, chat: str) -> list[tuple[str, str]]:
    """(kind of scheduled message, HH:MM written) sent to a staff chat about the ticket."""
    rows = await OutboxMessage.filter(ticket=ticket, recipient=chat).order_by("id")
    return [
        (r.idempotency_key.split(":")[0], f"{r.created_at:%a %H:%M}")
        for r in rows
        if r.idempotency_key.split(":")[0] in ("remind", "breach", "nudge")
    ]


async def _world(app: App, every: int = 60, before: int = 15) -> tuple[World, Operations]:
    world = await build_world()
    operations = Operations(routed(app.tickets), nudges=NudgePolicy(before, every))
    return world, operations


async def test_breach_is_recorded_once_and_nudges_repeat_until_done(app: App) -> None:
    world, operations = await _world(app)
    await factories.category(
        "drain",
        emergency=True,
        priority=2,
        response_minutes=30,
        resolution_minutes=120,
        trade="plumbing",
    )
    ticket = await new_ticket(app.tickets, world, "drain", title="Toilet overflowing")
    assert ticket.assignee.name == "Bob Plumber"

    async def accept() -> None:
        await app.tickets.change_status(ticket.id, Actor.of(world.bob), Status.IN_PROGRESS)

    async def finish() -> None:
        await app.tickets.change_status(ticket.id, Actor.of(world.bob), Status.DONE)

    day = app.clock.now().replace(hour=0, minute=0)
    await _ticking(
        app,
        operations,
        until=day.replace(hour=16),
        every=timedelta(minutes=5),
        actions={day.replace(hour=9, minute=10): accept, day.replace(hour=13, minute=30): finish},
    )

    breaches = await TicketEvent.filter(ticket=ticket, type=EventType.DEADLINE_BREACH)
    assert [(e.data["deadline"], e.at) for e in breaches] == [
        ("resolution", day.replace(hour=11, minute=5))
    ]
    assert await _messages(ticket, "9001") == [
        ("remind", "Wed 10:45"),
        ("breach", "Wed 11:05"),
        ("nudge", "Wed 12:00"),
        ("nudge", "Wed 13:00"),
    ]
    assert await _messages(ticket, "9006") == [("breach", "Wed 11:05")]  # Alice, the manager
    nudge = await OutboxMessage.get(
        idempotency_key=f"nudge:resolution:{ticket.id}:2:{world.bob.id}"
    )
    assert nudge.payload["text"] == (
        f"{ticket.ref} «Toilet overflowing» is still not resolved: it was due 25 Nov 11:00."
    )


async def test_running_the_jobs_again_changes_nothing(app: App) -> None:
    world, operations = await _world(app)
    ticket = await new_ticket(app.tickets, world, "emergency", title="Leak")
    app.clock.advance(timedelta(minutes=31))
    first = await operations.tick(app.clock.now())
    rows = await OutboxMessage.all().count()
    again = await operations.tick(app.clock.now())
    assert first["deadlines"] == 1 and again["deadlines"] == 0
    assert await OutboxMessage.all().count() == rows
    assert await TicketEvent.filter(ticket=ticket, type=EventType.DEADLINE_BREACH).count() == 1
    assert await OpsMark.filter(ticket=ticket).values_list("key", flat=True) == [
        f"breach:response:{ticket.id}"
    ]


async def test_no_night_or_weekend_nudges_for_non_emergencies(app: App) -> None:
    world, operations = await _world(app)
    ticket = await new_ticket(app.tickets, world, "technical")  # Wed 09:00, due 13:00
    assert ticket.response_due_at == app.clock.now() + timedelta(hours=4)

    await _ticking(
        app,
        operations,
        until=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
        every=timedelta(minutes=15),
        actions={},
    )

    # 60 minutes of opening time between nudges: 14, 15, 16 on Wednesday; closed from
    # 17:00 (the 4th hour is complete at closing and waits for the morning), then 09:00
    assert await _messages(ticket, "9001") == [
        ("remind", "Wed 12:45"),
        ("breach", "Wed 13:15"),
        ("nudge", "Wed 14:00"),
        ("nudge", "Wed 15:00"),
        ("nudge", "Wed 16:00"),
        ("nudge", "Thu 08:00"),
        ("nudge", "Thu 09:00"),
    ]


async def test_breach_messages_of_a_non_emergency_wait_for_opening_hours(app: App) -> None:
    world, operations = await _world(app)
    await factories.category("noise", response_minutes=60, resolution_minutes=None, trade="general")
    app.clock.set(datetime(2026, 11, 27, 15, 30, tzinfo=UTC))  # Friday, open till 16:00
    ticket = await new_ticket(app.tickets, world, "noise", title="Loud music")

    app.clock.set(datetime(2026, 11, 27, 17, 0, tzinfo=UTC))
    await operations.tick(app.clock.now())

    [breach] = await TicketEvent.filter(ticket=ticket, type=EventType.DEADLINE_BREACH)
    assert breach.at == app.clock.now()  # the timeline says when it was noticed
    held = await OutboxMessage.filter(idempotency_key__startswith=f"breach:response:{ticket.id}:")
    assert {r.recipient for r in held} == {"9001", "9006"}
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert {r.next_attempt_at for r in held} == {monday}

    app.clock.set(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # Saturday noon
    await operations.tick(app.clock.now())
    assert not await OutboxMessage.filter(idempotency_key__startswith="nudge:").exists()


async def test_tickets_in_the_queue_remind_the_dispatchers(app: App) -> None:
    world, operations = await _world(app, before=60)
    await world.roster.delete()
    await Person.filter(role=Role.TECHNICIAN).update(active=False)
    ticket = await new_ticket(app.tickets, world, "emergency", title="Leak")  # nobody: the queue
    assert ticket.assignee is None
    app.clock.advance(timedelta(minutes=31))
    await operations.tick(app.clock.now())
    recipients = await OutboxMessage.filter(
        idempotency_key__startswith=f"breach:response:{ticket.id}:"
    ).values_list("recipient", flat=True)
    assert sorted(recipients) == ["9004", "9005", "9006"]  # Carol, Dina, Alice
