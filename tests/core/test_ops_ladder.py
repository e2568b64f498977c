"""Out of hours: emergencies walk the duty ladder, everything else waits for the morning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.actors import Actor
from core.errors import AccessDenied
from core.messaging.message import OutgoingMessage, Verb
from core.messaging.routes import Priority
from core.operations.jobs import Operations
from core.storage.models import (
    Absence,
    EventType,
    OutboxMessage,
    PlanKind,
    RoutingPlan,
    StaffChat,
    Status,
    Ticket,
    TicketEvent,
)
from core.tickets.timeline import event_text
from housedesk.bootstrap import App
from tests.core.ops_world import World, build_world, new_ticket, on, routed

EVENING = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # Wednesday, the office closed at 17:00


async def _cards(ticket: Ticket) -> list[str]:
    """Chats that got an assignment card for the ticket, in order."""
    rows = await OutboxMessage.filter(ticket=ticket, channel="staff_chat").order_by("id")
    return [r.recipient for r in rows if "actions" in r.payload]


async def _duty_steps(ticket: Ticket) -> list[tuple[str, str]]:
    events = await TicketEvent.filter(ticket=ticket, type=EventType.ROUTING).order_by("id")
    return [
        (str(e.data["person"]), str(e.data["reason"]))
        for e in events
        if e.data["decision"] == "duty"
    ]


async def _setup(app: App) -> tuple[World, Operations]:
    world = await build_world()
    operations = Operations(routed(app.tickets))
    app.clock.set(EVENING)
    return world, operations


async def test_after_hours_emergency_walks_the_ladder_until_someone_accepts(app: App) -> None:
    world, operations = await _setup(app)
    ticket = await new_ticket(app.tickets, world, "emergency", title="Water through the ceiling")
    assert ticket.assignee.name == "Bob Plumber"
    assert await _cards(ticket) == ["9001"]

    app.clock.advance(timedelta(minutes=14))
    assert (await operations.tick(app.clock.now()))["routing"] == 0
    app.clock.advance(timedelta(minutes=1))
    assert (await operations.tick(app.clock.now()))["routing"] == 1
    assert (await app.tickets.get(ticket.id)).assignee.name == "Pat Plumber"

    # a restart: new objects, same database, the ladder goes on
    operations = Operations(routed(app.tickets))
    app.clock.advance(timedelta(minutes=15))
    await operations.tick(app.clock.now())
    assert (await app.tickets.get(ticket.id)).assignee.name == "Olga Electric"

    # Pat's old card no longer counts: it is Olga's now
    with pytest.raises(AccessDenied, match="not assigned to you"):
        await app.tickets.change_status(ticket.id, Actor.of(world.pat), Status.IN_PROGRESS)
    # Olga accepts: nobody else is called
    await app.tickets.change_status(ticket.id, Actor.of(world.olga), Status.IN_PROGRESS)
    for _ in range(4):
        app.clock.advance(timedelta(minutes=15))
        await operations.tick(app.clock.now())

    assert await _cards(ticket) == ["9001", "9002", "9003"]
    assert await _duty_steps(ticket) == [
        ("Bob Plumber", "after-hours emergency"),
        ("Pat Plumber", "Bob Plumber did not accept within 15 min"),
        ("Olga Electric", "Pat Plumber did not accept within 15 min"),
    ]
    plan = await RoutingPlan.get(ticket=ticket)
    assert (plan.kind, plan.outcome, plan.next_at) == (PlanKind.DUTY, "accepted", None)


async def test_ladder_skips_the_absent_and_ends_with_the_manager(app: App) -> None:
    world, operations = await _setup(app)
    await Absence.create(
        person=world.pat, kind="sick", starts=on("2026-11-24"), ends=on("2026-11-26")
    )
    ticket = await new_ticket(app.tickets, world, "emergency", title="Smell of gas")

    for _ in range(4):
        app.clock.advance(timedelta(minutes=15))
        await operations.tick(app.clock.now())

    assert await _cards(ticket) == ["9001", "9003", "9006"]
    steps = await TicketEvent.filter(ticket=ticket, type=EventType.ROUTING).order_by("id")
    assert steps[1].data["skipped"] == [
        {"name": "Pat Plumber", "reason": "away_until", "kind": "sick", "day": "2026-11-26"}
    ]
    assert steps[1].text == (
        "Duty list step 3 of 4: Olga Electric (Bob Plumber did not accept within 15 min)."
        " Passed over: Pat Plumber (away until 26 Nov)"
    )
    assert steps[2].data["person"] == "Alice Manager"
    assert steps[-1].data["decision"] == "duty_exhausted"
    assert steps[-1].text == (
        "Nobody on the duty list accepted (Alice Manager did not accept within 15 min): "
        "left in the dispatchers' queue"
    )
    assert (await RoutingPlan.get(ticket=ticket)).outcome == "exhausted"
    assert event_text(steps[1].text, steps[1].data, "ru") == (
        "Дежурный список, шаг 3 из 4: Olga Electric (Bob Plumber: заявка не принята за 15 мин)."
        " Пропущены: Pat Plumber (отсутствует до 26 нояб.)"
    )
    escalated = await TicketEvent.filter(ticket=ticket, type=EventType.ASSIGNED).order_by("-id")
    assert event_text(escalated[0].text, escalated[0].data, "pl") == (
        "Olga Electric: zgłoszenie nieprzyjęte w ciągu 15 min"
    )


async def test_manual_assignment_stops_the_ladder(app: App) -> None:
    world, operations = await _setup(app)
    ticket = await new_ticket(app.tickets, world, "emergency", title="Lift stuck")
    await app.tickets.assign(ticket.id, Actor.of(world.dina), world.olga)

    app.clock.advance(timedelta(minutes=15))
    await operations.tick(app.clock.now())

    assert (await app.tickets.get(ticket.id)).assignee.name == "Olga Electric"
    assert (await RoutingPlan.get(ticket=ticket)).outcome == "accepted"
    assert len(await _duty_steps(ticket)) == 1


async def test_other_tickets_wait_for_the_morning_and_the_resident_is_told(app: App) -> None:
    world, operations = await _setup(app)
    ticket = await new_ticket(app.tickets, world, "technical", title="Radiator cold")
    assert ticket.assignee is None
    [wait] = await TicketEvent.filter(ticket=ticket, type=EventType.ROUTING)
    assert wait.public and wait.data["until"] == "2026-11-26T08:00:00+00:00"
    told = await OutboxMessage.filter(ticket=ticket, channel="resident_chat").order_by("id")
    assert [row.recipient for row in told] == ["5001", "5001"]
    assert told[0].payload["text"].startswith(f"Your request {ticket.ref} is registered")
    assert told[1].payload["text"] == (  # after the acknowledgement, in the same lane
        f"We received your request {ticket.ref} outside office hours. "
        "We will deal with it from Thursday 26 November, 08:00."
    )
    assert told[1].priority == told[0].priority

    app.clock.set(datetime(2026, 11, 26, 7, 59, tzinfo=UTC))
    assert (await operations.tick(app.clock.now()))["routing"] == 0
    app.clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    assert (await operations.tick(app.clock.now()))["routing"] == 1

    assert (await app.tickets.get(ticket.id)).assignee.name == "Bob Plumber"
    assert (await RoutingPlan.get(ticket=ticket)).outcome == "routed"


async def test_the_morning_wait_is_in_the_residents_language(app: App) -> None:
    world, _ = await _setup(app)
    world.tom.language = "ru"
    await world.tom.save()
    app.clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday
    ticket = await new_ticket(app.tickets, world, "technical")
    [wait] = await TicketEvent.filter(ticket=ticket, type=EventType.ROUTING)
    assert wait.text == (
        f"Мы получили вашу заявку {ticket.ref} в нерабочее время. "
        "Мы займёмся ею в ближайшее рабочее время: понедельник, 30 ноября, 08:00."
    )


async def test_the_person_on_duty_is_paged_even_when_cards_go_to_a_group(app: App) -> None:
    world, operations = await _setup(app)
    await StaffChat.create(chat_id=-100500, title="Plumbers", trade="plumbing")
    ticket = await new_ticket(app.tickets, world, "emergency", title="Burst pipe")
    app.clock.advance(timedelta(minutes=15))
    await operations.tick(app.clock.now())

    rows = await OutboxMessage.filter(ticket=ticket, channel="staff_chat").order_by("id")
    assert [r.recipient for r in rows] == ["-100500", "9001", "9001", "-100500", "9002"]
    assert rows[2].payload["text"] == (
        f"{ticket.ref} has moved on to Pat Plumber; you need not act on it."
    )
    assert (
        rows[3]
        .payload["text"]
        .endswith("Escalation: Bob Plumber had it and did not accept within 15 min.")
    )
    page = rows[1]
    assert page.payload["text"] == (
        f"Emergency {ticket.ref} «Burst pipe» out of hours: you are on duty. Please accept it."
    )
    first = OutgoingMessage.from_payload(page.payload).actions[0][0]
    assert (first.label, first.verb, first.ticket_id) == ("Accept", Verb.ACCEPT, ticket.id)
    assert page.priority == Priority.URGENT  # an emergency page goes before routine traffic
