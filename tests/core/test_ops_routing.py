"""Automatic routing in business hours: building, trade, shift, absences, load, the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.actors import CLI
from core.storage.models import (
    Absence,
    Building,
    Channel,
    ContactKind,
    EventType,
    OutboxMessage,
    Person,
    Role,
    Ticket,
    TicketEvent,
    Unit,
)
from core.tickets.commands import NewTicket, RequesterHint
from core.tickets.timeline import event_text
from housedesk.bootstrap import App
from presentation.directory_file import import_directory_file
from tests.conftest import REPO
from tests.core.ops_world import OFFICE, build_world, new_ticket, on, routed


async def _routing_events(ticket: Ticket) -> list[TicketEvent]:
    return await TicketEvent.filter(ticket=ticket, type=EventType.ROUTING).order_by("id")


async def test_technician_on_vacation_is_skipped(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    await Absence.create(
        person=world.pat, kind="vacation", starts=on("2026-11-20"), ends=on("2026-11-30")
    )
    first = await new_ticket(app.tickets, world, "emergency", title="Leak under the sink")
    assert first.assignee.name == "Bob Plumber"

    second = await new_ticket(app.tickets, world, "emergency", title="Leak in the hall")

    # Pat, the other plumber, has fewer open tickets than Bob but is on vacation
    assert second.assignee.name == "Bob Plumber"
    [decision] = await _routing_events(second)
    assert decision.data["decision"] == "assign"
    assert decision.data["skipped"] == [  # codes for --json, whatever the reader's language
        {"name": "Pat Plumber", "reason": "away_until", "kind": "vacation", "day": "2026-11-30"}
    ]
    assert decision.data["open_tickets"] == {"Bob Plumber": 1}
    assert decision.text == (
        "Assigned to Bob Plumber: plumbing for building OAK, on shift, fewest open tickets (1)."
        " Passed over: Pat Plumber (away until 30 Nov)"
    )
    assert event_text(decision.text, decision.data, "ru").endswith(
        ". Пропущены: Pat Plumber (отсутствует до 30 нояб.)"
    )
    assert event_text(decision.text, decision.data, "zh").endswith(
        "。已跳过：Pat Plumber（不在岗至 11月30日）"
    )


async def test_fewest_open_tickets_wins_among_those_on_shift(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    first = await new_ticket(app.tickets, world, title="One")
    second = await new_ticket(app.tickets, world, title="Two")
    third = await new_ticket(app.tickets, world, title="Three")
    fourth = await new_ticket(app.tickets, world, title="Four")
    assert [t.assignee.name for t in (first, second, third, fourth)] == [
        "Bob Plumber",
        "Pat Plumber",
        "Olga Electric",
        "Bob Plumber",
    ]
    [assigned] = await TicketEvent.filter(ticket=fourth, type=EventType.ASSIGNED)
    assert assigned.actor_label == "routing" and "fewest open tickets (1)" in assigned.text
    card = await OutboxMessage.get(ticket=fourth, channel="staff_chat")
    assert card.recipient == "9001" and "Four" in str(card.payload["text"])


async def test_off_shift_and_sick_staff_are_skipped_and_trade_decides(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    app.clock.set(datetime(2026, 11, 27, 16, 30, tzinfo=UTC))  # Friday: office open till 16:00
    world.oak.hours = {**world.oak.hours, "fri": ["08:00-18:00"]}
    await world.oak.save()
    await Absence.create(
        person=world.pat, kind="sick", starts=on("2026-11-27"), ends=on("2026-11-27")
    )

    ticket = await new_ticket(app.tickets, world, "emergency", title="Pipe burst")

    assert ticket.assignee is None  # Bob's shift ended at 16:00, Pat is sick, Olga is no plumber
    [decision] = await _routing_events(ticket)
    assert decision.data["decision"] == "queue"
    assert decision.data["skipped"] == [
        {"name": "Bob Plumber", "reason": "off_shift"},
        {"name": "Pat Plumber", "reason": "away_until", "kind": "sick", "day": "2026-11-27"},
    ]
    assert decision.text.startswith("Left in the dispatchers' queue: nobody with trade plumbing")
    assert decision.text.endswith(
        ". Passed over: Bob Plumber (off shift), Pat Plumber (away until 27 Nov)"
    )
    assert event_text(decision.text, decision.data, "pl").endswith(
        ". Pominięto: Bob Plumber (poza zmianą), Pat Plumber (nieobecny(-a) do 27 lis)"
    )

    billing = await new_ticket(app.tickets, world, "billing", title="Wrong invoice")
    assert billing.assignee.name == "Carol Accounts"


async def test_zone_covers_a_building_nobody_serves_directly(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    world.oak.zone = "north"
    await world.oak.save()
    elm = await Building.create(code="ELM", name="Elm House", zone="north", hours=OFFICE)
    await Unit.create(building=elm, number="7")
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Door sticks",
            channel=Channel.CLI,
            actor=CLI,
            building="ELM",
            unit="7",
        )
    )
    ticket = await app.tickets.get(result.ticket.id)
    assert ticket.assignee.name == "Bob Plumber"
    [decision] = await _routing_events(ticket)
    assert decision.data["scope"] == "zone north"


async def test_unknown_building_goes_to_the_dispatchers_queue(app: App) -> None:
    await build_world()
    routed(app.tickets)
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Something broke",
            channel=Channel.EMAIL,
            actor=CLI,
            requester=RequesterHint(ContactKind.EMAIL, "stranger@example.org"),
        )
    )
    ticket = await app.tickets.get(result.ticket.id)
    assert ticket.assignee is None
    events = await _routing_events(ticket)
    queued = events[-1]
    assert {k: v for k, v in queued.data.items() if k != "say"} == {
        "decision": "queue",
        "reason": "the building is not known",
        "skipped": [],
    }
    assert queued.text == "Left in the dispatchers' queue: the building is not known"
    assert event_text(queued.text, queued.data, "ru") == (
        "Оставлена в очереди диспетчеров: дом неизвестен"
    )
    assert event_text(queued.text, queued.data, "zh") == "已留在调度员队列中：楼栋未知"


async def test_email_keywords_choose_emergency_and_are_recorded(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    ticket = await new_ticket(
        app.tickets,
        world,
        "technical",
        title="Срочно",
        description="У нас ПРОТЕЧКА с потолка, кухню затопило!",
        channel=Channel.EMAIL,
    )
    assert ticket.category.code == "emergency" and ticket.priority == 1
    assert ticket.response_due_at == app.clock.now() + timedelta(minutes=30)
    category_event = (await _routing_events(ticket))[0]
    assert category_event.data["category"] == "emergency"
    assert category_event.data["previous"] == "technical"
    assert category_event.data["matched"] == ["протечка", "затопило"]
    assert category_event.text == "Category emergency from keywords: протечка, затопило"


async def test_resident_choice_is_kept_on_telegram(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    ticket = await new_ticket(app.tickets, world, "technical", description="a small leak")
    assert ticket.category.code == "technical"
    assert all(e.data.get("decision") != "category" for e in await _routing_events(ticket))


async def test_business_hours_deadlines_skip_the_weekend(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    app.clock.set(datetime(2026, 11, 27, 15, 0, tzinfo=UTC))  # Friday, office open till 16:00
    ticket = await new_ticket(app.tickets, world, "technical")
    # 4 working hours: 1 on Friday, 3 on Monday from 08:00
    assert ticket.response_due_at == datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    # 3 working days of 9 hours = 1620 minutes: Fri 60, Mon 540, Tue 540, Wed 480 -> Wed 16:00
    assert ticket.due_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)

    emergency = await new_ticket(app.tickets, world, "emergency", title="Leak")
    assert emergency.response_due_at == app.clock.now() + timedelta(minutes=30)


async def test_inactive_staff_are_never_chosen(app: App) -> None:
    world = await build_world()
    routed(app.tickets)
    await Person.filter(role=Role.TECHNICIAN).exclude(id=world.olga.id).update(active=False)
    ticket = await new_ticket(app.tickets, world)
    assert ticket.assignee.name == "Olga Electric"


async def test_example_directory_counts_working_days(app: App) -> None:
    await import_directory_file(REPO / "examples" / "directory.toml")
    routed(app.tickets)
    app.clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))  # Wednesday 10:00 in Moscow
    result = await app.tickets.create(
        NewTicket(
            category="billing",
            title="Перерасчёт за отопление",
            channel=Channel.CLI,
            actor=CLI,
            building="LIPA",
            unit="12",
        )
    )
    ticket = await app.tickets.get(result.ticket.id)
    # 1 working day, then 10 working days of 9 hours: the same hour a day and two weeks later
    assert ticket.response_due_at == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert ticket.due_at == datetime(2026, 12, 9, 7, 0, tzinfo=UTC)
    assert ticket.assignee.name == "Carol Accounts"


async def test_a_category_without_a_trade_goes_to_a_technician_named_in_each_language(
    app: App,
) -> None:
    world = await build_world()
    routed(app.tickets)
    world.technical.trade = None
    await world.technical.save()
    ticket = await new_ticket(app.tickets, world, title="Door sticks")
    [decision] = await _routing_events(ticket)
    assert decision.data["trade"] == "technician"  # the code, for --json
    assert "technician for building OAK, on shift" in decision.text
    assert "исполнитель (дом OAK), на смене" in event_text(decision.text, decision.data, "ru")
    assert "技术人员（楼栋 OAK）" in event_text(decision.text, decision.data, "zh")
