"""Incidents in core: opened, found where they are active, joined, updated and resolved,
each change one timeline event; stale and foreign actions change nothing and say why."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.actors import CLI, Actor
from core.clock import FrozenClock
from core.errors import AccessDenied, ConflictError, InvalidInput
from core.incidents.commands import IncidentReport, OpenIncident, UpdateIncident
from core.incidents.delivery import MailThread
from core.incidents.jobs import IncidentJobs
from core.incidents.queries import absorbed_by_channel, active_incidents, timeline
from core.incidents.service import IncidentService
from core.messaging.message import OutgoingMessage, Verb
from core.messaging.notifications import Notifier, NotifySettings
from core.reports.figures import Reports
from core.storage.models import (
    Channel,
    IncidentKind,
    IncidentStatus,
    OutboxMessage,
    Role,
    Status,
    Ticket,
    Unit,
)
from core.tickets.cards import attention_text
from core.tickets.commands import NewTicket
from core.tickets.service import TicketService
from presentation.reports.text import render_report
from tests.core import factories


def _service(clock: FrozenClock) -> IncidentService:
    return IncidentService(clock, TicketService(clock, Notifier(NotifySettings(), clock)))


async def _world() -> tuple:
    oak = await factories.building("OAK", units=3)
    elm = await factories.building("ELM", units=1)
    await factories.category("plumbing")
    await factories.category("technical")
    dispatcher = await factories.person("Dora", Role.DISPATCHER, telegram="900")
    residents = []
    for n, unit in enumerate(await oak.units.all().order_by("id"), start=1):
        resident = await factories.person(
            f"R{n}", telegram=f"10{n}", language="ru" if n == 1 else None
        )
        await resident.units.add(unit)
        residents.append(resident)
    stranger = await factories.person("Elm resident", telegram="200")
    await stranger.units.add(await elm.units.all().first())
    return oak, elm, dispatcher, residents, stranger


def _water(actor: Actor, **values: object) -> OpenIncident:
    fields: dict = {
        "kind": IncidentKind.EMERGENCY,
        "buildings": ("OAK",),
        "title": "Hot water off",
        "texts": {"en": "Hot water is off in your building.", "ru": "В доме нет горячей воды."},
        "actor": actor,
        "category": "plumbing",
        "keywords": ("water",),
    }
    fields.update(values)
    return OpenIncident(**fields)


async def test_open_join_update_resolve_and_reopen_one_link(db: str, clock: FrozenClock) -> None:
    oak, elm, dora, (ru, en, _third), stranger = await _world()
    incidents = _service(clock)
    end = clock.now() + timedelta(hours=4)
    incident = await incidents.open(_water(Actor.of(dora), expected_end_at=end))

    assert incident.status == IncidentStatus.ACTIVE
    assert [i.id for i in await active_incidents(oak.id, clock.now())] == [incident.id]
    assert await active_incidents(elm.id, clock.now()) == []
    staff_ticket = await Ticket.get(id=incident.ticket_id)
    assert staff_ticket.title == f"I{incident.id}: Hot water off"
    assert await Ticket.all().count() == 1

    first = await incidents.join(incident.id, ru, Channel.CHAT, "нет воды")
    again = await incidents.join(incident.id, ru, Channel.CHAT)
    await incidents.join(incident.id, en, Channel.CHAT)
    assert (first.created, again.created) == (True, False)
    with pytest.raises(AccessDenied):
        await incidents.join(incident.id, stranger, Channel.CHAT)
    assert await Ticket.all().count() == 1

    clock.advance(timedelta(minutes=30))
    told = await incidents.update(
        UpdateIncident(
            incident.id,
            Actor.of(dora),
            expected_end_at=end + timedelta(hours=1),
            note="The plumber is on site.",
            version=incident.version,
        )
    )
    assert told == 2
    with pytest.raises(ConflictError):  # decided on the copy before the update
        await incidents.update(UpdateIncident(incident.id, CLI, note="x", version=incident.version))

    clock.advance(timedelta(hours=2))
    assert await incidents.resolve(incident.id, Actor.of(dora)) == 2
    with pytest.raises(ConflictError):
        await incidents.resolve(incident.id, Actor.of(dora))
    assert (await Ticket.get(id=staff_ticket.id)).status == Status.DONE

    rows = await OutboxMessage.filter(channel="resident_chat", recipient="101").order_by("id")
    texts = [OutgoingMessage.from_payload(r.payload) for r in rows]
    assert len(texts) == 2  # the update and the resolution, once each
    assert "The plumber is on site." in texts[0].text
    assert texts[1].text.startswith("Fixed: В доме нет горячей воды.") or "В доме" in texts[1].text
    (still,) = texts[1].actions[0]
    assert still.verb == Verb.STILL_NOT_WORKING

    with pytest.raises(AccessDenied):  # another resident's button
        await incidents.still_not_working(still.ticket_id, en)
    ticket = await incidents.still_not_working(still.ticket_id, ru)
    assert ticket.requester_id == ru.id and ticket.status == Status.NEW
    assert attention_text(ticket.needs_attention, "ru") == (
        f"Всё ещё не работает после устранения аварии:\nI{incident.id}"
    )
    with pytest.raises(ConflictError):
        await incidents.still_not_working(still.ticket_id, ru)

    events = [e.type for e in await timeline(incident.id)]
    assert events == ["opened", "linked", "linked", "updated", "resolved", "reopened"]
    assert await absorbed_by_channel(incident.id) == {"chat": 2}

    report = await Reports(clock).report("today", "OAK")
    [shown] = report["incidents"]
    assert (shown["ref"], shown["absorbed"]) == (f"I{incident.id}", {"chat": 2})
    assert await Reports(clock).report("today", "ELM") | {"incidents": []} == await Reports(
        clock
    ).report("today", "ELM")
    text = render_report(report, "ru", {})
    assert text.endswith(f"\n  I{incident.id} Hot water off: 2 обращения (чат 2)")


async def test_only_coordinators_open_incidents(db: str, clock: FrozenClock) -> None:
    await _world()
    tech = await factories.person("Tom", Role.TECHNICIAN)
    with pytest.raises(AccessDenied):
        await _service(clock).open(_water(Actor.of(tech)))


async def test_planned_incident_announced_day_before_at_18_local_started_and_ended_on_time(
    db: str, clock: FrozenClock
) -> None:
    oak, _elm, dora, (_ru, en, _third), _stranger = await _world()
    oak.timezone = "Europe/Warsaw"  # UTC+1 in December
    await oak.save(update_fields=["timezone"])
    warsaw = ZoneInfo("Europe/Warsaw")
    start = datetime(2026, 12, 10, 10, 0, tzinfo=warsaw)  # a Thursday
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=warsaw))
    incidents = _service(clock)
    jobs = IncidentJobs(incidents)
    planned = await incidents.open(
        _water(
            Actor.of(dora),
            kind=IncidentKind.PLANNED,
            starts_at=start,
            expected_end_at=start + timedelta(hours=4),
        )
    )
    assert planned.status == IncidentStatus.SCHEDULED and planned.ticket_id is None
    assert await active_incidents(oak.id, clock.now()) == []

    async def tick_at(local: datetime) -> int:
        clock.set(local)
        return await jobs.run(clock.now())

    assert await tick_at(datetime(2026, 12, 9, 17, 59, tzinfo=warsaw)) == 0
    assert await OutboxMessage.filter(channel="resident_chat").count() == 0
    assert await tick_at(datetime(2026, 12, 9, 18, 0, tzinfo=warsaw)) == 1
    assert await tick_at(datetime(2026, 12, 9, 18, 1, tzinfo=warsaw)) == 0  # told once
    told = {
        r.recipient: OutgoingMessage.from_payload(r.payload).text
        for r in await OutboxMessage.filter(channel="resident_chat")
    }
    assert sorted(told) == ["101", "102", "103"]
    assert told["102"] == (
        "📢 Announcement · OAK House · Dora\n\n"
        "🛠 Hot water is off in your building.\nPlanned from 10 Dec, 10:00 to 10 Dec, 14:00."
    )
    assert "\n\n🛠 В доме нет горячей воды.\n" in told["101"]

    async def said_by_the_tick(local: datetime) -> dict[str, OutgoingMessage]:
        """What residents were told by the scheduler's round at ``local``, by chat."""
        last = await OutboxMessage.all().order_by("-id").first()
        assert await tick_at(local) == 1
        rows = await OutboxMessage.filter(
            channel="resident_chat", id__gt=last.id if last else 0
        ).order_by("id")
        said = [(r.recipient, OutgoingMessage.from_payload(r.payload)) for r in rows]
        assert len(said) == len(dict(said))  # once each
        return dict(said)

    assert await tick_at(datetime(2026, 12, 10, 9, 59, tzinfo=warsaw)) == 0
    begun = await said_by_the_tick(start)
    started = await incidents.get(planned.id)
    assert started.status == IncidentStatus.ACTIVE and started.ticket_id is not None
    assert sorted(begun) == ["101", "102", "103"]  # the whole building
    assert begun["102"].text == (
        "🛠 Hot water is off in your building.\n"
        "The planned shut-off started at 10 Dec, 10:00. Expected back by 10 Dec, 14:00."
    )
    assert begun["101"].text.startswith("🛠 В доме нет горячей воды.\nПлановое отключение")
    await incidents.join(planned.id, en, Channel.CHAT)

    assert await tick_at(datetime(2026, 12, 10, 13, 59, tzinfo=warsaw)) == 0
    over = await said_by_the_tick(datetime(2026, 12, 10, 14, 0, tzinfo=warsaw))
    ended = await incidents.get(planned.id)
    assert ended.status == IncidentStatus.RESOLVED and ended.ended_at == start + timedelta(hours=4)
    assert sorted(over) == ["101", "102", "103"]  # the building again, each once
    assert over["103"].text == (
        "✅ The planned shut-off is over: Hot water is off in your building.\n"
        "It works again since 10 Dec, 14:00. Tell us if it does not."
    )
    assert over["103"].actions == ()
    (still,) = over["102"].actions[0]  # the one who joined can say it still does not work
    assert (still.verb, over["102"].text) == (Verb.STILL_NOT_WORKING, over["103"].text)
    ticket = await incidents.still_not_working(still.ticket_id, en)
    assert ticket.requester_id == en.id
    assert [e.type for e in await timeline(planned.id)] == [
        "opened",
        "announced",
        "started",
        "linked",
        "resolved",
        "reopened",
    ]


async def test_the_ticket_done_resolves_the_incident(db: str, clock: FrozenClock) -> None:
    _oak, _elm, dora, (ru, _en, _third), _stranger = await _world()
    incidents = _service(clock)
    incident = await incidents.open(_water(Actor.of(dora)))
    await incidents.join(incident.id, ru, Channel.CHAT)
    await incidents.tickets.change_status(incident.ticket_id, Actor.of(dora), Status.DONE)  # type: ignore[arg-type]
    assert await IncidentJobs(incidents).run(clock.now()) == 1
    assert (await incidents.get(incident.id)).status == IncidentStatus.RESOLVED
    told = await OutboxMessage.filter(channel="resident_chat", recipient="101")
    assert [OutgoingMessage.from_payload(r.payload).text.split(":")[0] for r in told] == [
        "Исправлено"
    ]


async def test_a_wrong_match_is_unlinked_into_a_ticket(db: str, clock: FrozenClock) -> None:
    _oak, _elm, dora, (_ru, en, _third), _stranger = await _world()
    incidents = _service(clock)
    incident = await incidents.open(_water(Actor.of(dora)))
    report = IncidentReport(en.id, Channel.EMAIL, "The water meter door is broken", category=None)
    joined = await incidents.absorb(report, MailThread("<m1@tenant.example>", "Meter door"))
    assert joined is not None and joined.created  # "water" matched, wrongly

    tech = await factories.person("Tom", Role.TECHNICIAN)
    with pytest.raises(AccessDenied):
        await incidents.unlink(joined.link.id, Actor.of(tech))
    ticket = await incidents.unlink(joined.link.id, Actor.of(dora))
    assert (ticket.requester_id, ticket.description) == (en.id, "The water meter door is broken")
    with pytest.raises(ConflictError):  # a second tap, or another dispatcher at once
        await incidents.unlink(joined.link.id, Actor.of(dora))
    assert await absorbed_by_channel(incident.id) == {"email": 1}
    assert [e.type for e in await timeline(incident.id)][-2:] == ["linked", "unlinked"]
    acks = [
        OutgoingMessage.from_payload(r.payload).text
        for r in await OutboxMessage.filter(recipient="102")
    ]
    assert acks[-1].startswith(f"Your request {ticket.ref} is registered")


async def test_an_incident_of_one_entrance(db: str, clock: FrozenClock) -> None:
    oak, _elm, dora, (first, second, third), _stranger = await _world()
    await Unit.filter(building=oak, number__in=["1", "2"]).update(entrance="A")
    await Unit.filter(building=oak, number="3").update(entrance="B")
    incidents = _service(clock)
    with pytest.raises(InvalidInput) as nowhere:
        await incidents.open(_water(Actor.of(dora), entrances=("C",)))
    assert nowhere.value.text("en") == "No flat of OAK House is in that part of it."

    incident = await incidents.open(_water(Actor.of(dora), entrances=("B",)))
    assert [i.id for i, _ in await incidents.for_person(third)] == [incident.id]
    assert await incidents.for_person(first) == []
    with pytest.raises(AccessDenied):
        await incidents.join(incident.id, second, Channel.CHAT)
    assert (await incidents.join(incident.id, third, Channel.CHAT)).created


async def test_a_ticket_is_linked_only_where_it_belongs(db: str, clock: FrozenClock) -> None:
    _oak, _elm, dora, (ru, _en, third), stranger = await _world()
    incidents = _service(clock)
    incident = await incidents.open(_water(Actor.of(dora)))

    async def ticket_of(person: object, building: str = "OAK") -> Ticket:
        created = await incidents.tickets.create(
            NewTicket(
                category="plumbing",
                title="No water",
                channel=Channel.PHONE,
                actor=CLI,
                building=building,
                requester_id=getattr(person, "id", None),
            )
        )
        return created.ticket

    async def link(ticket: Ticket, actor: Actor | None = None) -> object:
        return await incidents.link_ticket(
            ticket.id, incident.id, actor or Actor.of(dora), version=ticket.version
        )

    elsewhere = await ticket_of(stranger, "ELM")
    with pytest.raises(InvalidInput) as wrong_building:
        await link(elsewhere)
    assert wrong_building.value.text("en") == (
        f"I{incident.id} does not affect the building of {elsewhere.ref}."
    )
    with pytest.raises(InvalidInput):
        await link(await ticket_of(None))  # nobody to tell
    mine = await ticket_of(ru)
    tech = await factories.person("Tom", Role.TECHNICIAN)
    with pytest.raises(AccessDenied):
        await link(mine, Actor.of(tech))

    await link(mine)
    assert (await Ticket.get(id=mine.id)).status == Status.CLOSED
    with pytest.raises(ConflictError) as twice:  # another report of the same resident
        await link(await ticket_of(ru))
    assert twice.value.text("en") == f"R1 is linked to I{incident.id} already."
    assert await absorbed_by_channel(incident.id) == {"phone": 1}

    await incidents.resolve(incident.id, Actor.of(dora))
    with pytest.raises(ConflictError):
        await link(await ticket_of(third))
    assert await absorbed_by_channel(incident.id) == {"phone": 1}
