"""Announcements grown up: counted before they go, confirmed by their sender, scoped to an
entrance, scheduled, limited per resident per hour unless an emergency, and reported after."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.actors import Actor
from core.errors import AccessDenied, ConflictError, InvalidInput, NotFound
from core.messaging.delivery import Delivery, DeliveryReceipt, PermanentDeliveryError
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import OutboxWorker
from core.messaging.routes import Priority, Route
from core.operations.announce_report import delivery_counts
from core.operations.announcements import Announcer, Draft
from core.operations.audience import Scope
from core.storage.models import (
    Announcement,
    AnnouncementStatus,
    Incident,
    IncidentKind,
    OutboxMessage,
    Unit,
)
from housedesk.bootstrap import App
from presentation.directory_file import import_directory_file
from tests.core import factories
from tests.core.ops_world import World, build_world

ANNOUNCE = "announce:"


async def _stairwells(world: World) -> None:
    """Flats 1-10 of Oak are reached by entrance 1, flats 11-20 by entrance 2; one resident
    with a chat in each of flats 10-13 (Tom, in flat 3, is in entrance 1 too)."""
    for unit in await Unit.filter(building=world.oak):
        number = int(unit.number)
        unit.entrance = "1" if number <= 10 else "2"
        unit.floor = str((number - 1) // 4 + 1)
        await unit.save()
    for n in range(10, 14):
        resident = await factories.person(f"Resident {n}", telegram=str(8000 + n), language="pl")
        await resident.units.add(await Unit.get(building=world.oak, number=str(n)))


def _announcer(app: App, per_hour: int = 1) -> Announcer:
    return Announcer(
        app.clock, mail_domain="oak.example", per_resident_per_hour=per_hour, timezone="UTC"
    )


async def _rows() -> list[OutboxMessage]:
    return await OutboxMessage.filter(idempotency_key__startswith=ANNOUNCE).order_by("id")


async def test_a_draft_counts_its_audience_and_goes_only_when_its_sender_confirms(
    app: App,
) -> None:
    world = await build_world()
    await _stairwells(world)
    announcer = _announcer(app)
    alice, olga = Actor.of(world.alice), Actor.of(world.olga)

    draft = await announcer.draft(Draft("Parking closed on Monday", "OAK"), alice)
    assert (draft.status, draft.people, draft.chat, draft.email) == (
        AnnouncementStatus.DRAFT,
        5,  # Tom and the four residents of flats 10-13
        5,
        0,
    )
    assert await _rows() == []  # nothing goes before the sender says so

    with pytest.raises(AccessDenied) as foreign:
        await announcer.confirm(draft.announcement_id, olga)
    assert foreign.value.text("en") == "Only Alice Manager can send or cancel this announcement."
    assert await _rows() == []

    sent = await announcer.confirm(draft.announcement_id, alice)
    assert (sent.status, sent.queued) == (AnnouncementStatus.SENT, 5)
    assert len(await _rows()) == 5

    with pytest.raises(ConflictError) as stale:
        await announcer.confirm(draft.announcement_id, alice)
    assert stale.value.text("ru") == f"Объявление {draft.announcement_id} уже отправлено."
    with pytest.raises(ConflictError):
        await announcer.cancel(draft.announcement_id, alice)
    assert len(await _rows()) == 5  # the stale buttons changed nothing

    kept = await Announcement.get(id=draft.announcement_id)
    assert [e["type"] for e in kept.history] == ["drafted", "confirmed", "sent"]
    assert [e["actor"] for e in kept.history][:2] == ["Alice Manager", "Alice Manager"]


async def test_a_scoped_announcement_reaches_only_its_entrance(app: App) -> None:
    world = await build_world()
    await _stairwells(world)
    announcer = _announcer(app)
    scope = Scope.of(entrances=["2"])
    result = await announcer.announce(
        Draft("The entrance 2 door is being painted", "OAK", scope=scope), Actor.of(world.alice)
    )
    assert result.queued == 3
    rows = await _rows()
    assert sorted(r.recipient for r in rows) == ["8011", "8012", "8013"]
    first = OutgoingMessage.from_payload(rows[0].payload)
    assert first.text.startswith("📢 Ogłoszenie · OAK House · Alice Manager\n\n")  # Polish

    floors = await announcer.draft(
        Draft("Floor 3: no water at noon", "OAK", scope=Scope.of(entrances=["2"], floors=["3"])),
        Actor.of(world.alice),
    )
    assert floors.people == 2  # flats 11 and 12 (floor 3 of entrance 2), not 13
    flats = await announcer.draft(
        Draft("Meter readings", "OAK", scope=Scope.of(flats=["3", "12-13"])),
        Actor.of(world.alice),
    )
    assert flats.people == 3  # Tom, 12 and 13
    with pytest.raises(InvalidInput):
        await announcer.draft(Draft("x", None, scope=scope), Actor.of(world.alice))


async def test_ordinary_announcements_are_limited_per_resident_and_emergencies_are_not(
    app: App,
) -> None:
    world = await build_world()
    await _stairwells(world)
    announcer = _announcer(app, per_hour=1)
    alice = Actor.of(world.alice)
    now = app.clock.now()

    await announcer.announce(Draft("Bins are collected on Tuesday", "OAK"), alice)
    second = await announcer.draft(Draft("The lift is serviced on Friday", "OAK"), alice)
    assert second.held == 5  # the sender sees it before confirming
    await announcer.confirm(second.announcement_id, alice)
    emergency = await announcer.announce(
        Draft("Gas smell: leave the building now", "OAK", emergency=True), alice
    )
    assert emergency.held == 0

    tom = [r for r in await _rows() if r.recipient == "5001"]
    bins, lift, gas = tom
    assert bins.next_attempt_at - now < timedelta(seconds=1)
    assert lift.next_attempt_at == bins.next_attempt_at + timedelta(hours=1)  # later, not dropped
    assert gas.next_attempt_at == now and gas.priority == Priority.URGENT
    assert bins.priority == lift.priority == Priority.BULK
    text = OutgoingMessage.from_payload(gas.payload).text
    assert text.startswith("🚨 Emergency · OAK House · Alice Manager")

    worker = OutboxWorker(app.clock)
    worker.register(Route.RESIDENT_CHAT, _delivered)
    [first] = await worker.claim(Route.RESIDENT_CHAT)
    assert first.priority == Priority.URGENT  # the emergency goes first


async def test_the_hourly_limit_holds_with_the_clock_set_in_local_time(app: App) -> None:
    world = await build_world()
    await _stairwells(world)
    announcer = _announcer(app, per_hour=1)
    alice = Actor.of(world.alice)
    app.clock.set(datetime(2026, 12, 9, 18, 0, tzinfo=ZoneInfo("Europe/Warsaw")))

    await announcer.announce(Draft("Bins are collected on Tuesday", "OAK"), alice)
    app.clock.advance(timedelta(minutes=10))
    second = await announcer.draft(Draft("The lift is serviced on Friday", "OAK"), alice)
    assert second.held == 5
    await announcer.confirm(second.announcement_id, alice)
    bins, lift = [r for r in await _rows() if r.recipient == "5001"]
    assert lift.next_attempt_at == bins.next_attempt_at + timedelta(hours=1)
    assert app.clock.now() == datetime(2026, 12, 9, 17, 10, tzinfo=UTC)


async def test_a_scheduled_announcement_goes_out_at_its_local_time(app: App) -> None:
    world = await build_world()
    await _stairwells(world)
    world.oak.timezone = "Europe/Oslo"  # UTC+1 in November
    await world.oak.save()
    announcer = _announcer(app)
    alice = Actor.of(world.alice)
    local = datetime(2026, 11, 25, 18, 0)
    draft = await announcer.draft(
        Draft("Water off tomorrow 10-14", "OAK", send_at_local=local), alice
    )
    result = await announcer.confirm(draft.announcement_id, alice)
    assert result.status is AnnouncementStatus.SCHEDULED
    assert result.send_time("en") == "Wed 25 Nov, 18:00 (Europe/Oslo)"
    assert result.send_time("ru") == "ср, 25 нояб., 18:00 (Europe/Oslo)"
    assert result.send_time("zh") == "11月25日周三 18:00 (Europe/Oslo)"
    assert await announcer.run_due(app.clock.now()) == 0
    assert await _rows() == []

    app.clock.advance(timedelta(hours=7, minutes=59))  # 16:59 UTC = 17:59 in Oslo
    await announcer.run_due(app.clock.now())
    assert await _rows() == []
    app.clock.advance(timedelta(minutes=1))
    await announcer.run_due(app.clock.now())
    assert len(await _rows()) == 5
    assert (await Announcement.get(id=draft.announcement_id)).status is AnnouncementStatus.SENT

    with pytest.raises(InvalidInput) as passed:  # a time that has passed, on Oslo's clock
        await announcer.draft(Draft("Too late", "OAK", send_at_local=local), alice)
    assert passed.value.text("en") == (
        "Wed 25 Nov, 18:00 (Europe/Oslo) has passed; give a later time."
    )
    assert passed.value.text("ru") == (
        "ср, 25 нояб., 18:00 (Europe/Oslo) уже прошло; укажите более позднее время."
    )
    assert (
        passed.value.text("zh") == "11月25日周三 18:00 (Europe/Oslo) 已经过去，请给出更晚的时间。"
    )
    later = await announcer.draft(
        Draft("Cancelled one", "OAK", send_at_local=local + timedelta(days=1)), alice
    )
    await announcer.confirm(later.announcement_id, alice)
    cancelled = await announcer.cancel(later.announcement_id, alice)
    assert cancelled.status is AnnouncementStatus.CANCELLED
    app.clock.advance(timedelta(days=1))
    await announcer.run_due(app.clock.now())
    assert len(await _rows()) == 5


async def test_the_sender_is_told_what_was_delivered_failed_and_unreachable(app: App) -> None:
    world = await build_world()
    await _stairwells(world)
    no_contact = await factories.person("No Contact")
    await no_contact.units.add(await Unit.get(building=world.oak, number="14"))
    announcer = _announcer(app)
    result = await announcer.announce(Draft("Heating test on Friday", "OAK"), Actor.of(world.alice))
    assert (result.queued, result.unreachable) == (5, 1)
    announcement = await Announcement.get(id=result.announcement_id)

    worker = OutboxWorker(app.clock)
    worker.register(Route.RESIDENT_CHAT, _refused_by("8012"))
    app.clock.advance(timedelta(seconds=5))
    while await worker.run_once():
        pass
    counts = await delivery_counts(announcement)
    assert (counts.delivered, counts.failed, counts.pending, counts.unreachable) == (4, 1, 0, 1)

    assert await announcer.run_due(app.clock.now()) == 1
    [report] = await OutboxMessage.filter(channel=Route.STAFF_CHAT.value).order_by("id")
    assert report.idempotency_key == f"announce-report:{announcement.id}"
    assert OutgoingMessage.from_payload(report.payload).text == (
        f"Announcement {announcement.id} · Heating test on Friday\n"
        "4 messages delivered\n"
        "1 message could not be delivered\n"
        "1 resident has no contact to send to"
    )
    assert await announcer.run_due(app.clock.now()) == 0  # told once
    announcement = await Announcement.get(id=result.announcement_id)
    await OutboxMessage.filter(announcement_id=announcement.id).delete()  # purged later
    assert (await delivery_counts(announcement)).delivered == 4  # kept


async def _delivered(delivery: Delivery) -> DeliveryReceipt:
    return DeliveryReceipt(external_id=str(delivery.id))


def _refused_by(chat: str) -> Callable[[Delivery], Awaitable[DeliveryReceipt]]:
    async def send(delivery: Delivery) -> DeliveryReceipt:
        if delivery.recipient == chat:
            raise PermanentDeliveryError("chat not found")
        return DeliveryReceipt(external_id=str(delivery.id))

    return send


PINE = """
[[buildings]]
code = "PINE"
name = "Pine Yard"
units = ["1-8"]
entrances = { "A" = ["1-4"], "B" = ["5-8"] }
floors = { "1" = ["1-2", "5-6"], "2" = ["3-4", "7-8"] }

[[residents]]
name = "Ada"
building = "PINE"
units = ["2"]
email = "ada@tenant.example"

[[residents]]
name = "Bea"
building = "PINE"
units = ["7"]
email = "bea@tenant.example"
"""


async def test_the_directory_says_which_entrance_and_floor_a_flat_is_on(
    app: App, tmp_path: Path
) -> None:
    path = tmp_path / "pine.toml"
    path.write_text(PINE)
    await import_directory_file(path)
    units = await Unit.filter(building__code="PINE").order_by("id")
    assert [(u.number, u.entrance, u.floor) for u in units][1::3] == [
        ("2", "A", "1"),
        ("5", "B", "1"),
        ("8", "B", "2"),
    ]
    report = await import_directory_file(path)
    assert report["updated"] == 0  # the same file changes nothing

    announcer = _announcer(app)
    actor = Actor.system("cli")
    entrance_b = await announcer.draft(Draft("Lift B", "PINE", scope=Scope.of(["B"])), actor)
    assert (entrance_b.people, entrance_b.email) == (1, 1)
    ground = await announcer.draft(Draft("Floor 1", "PINE", scope=Scope.of(floors=["1"])), actor)
    assert ground.people == 1  # Ada in 2; Bea lives on floor 2

    path.write_text(PINE.replace('"1-2", "5-6"', '"1-2", "5-7"').replace('"7-8"', '"8"'))
    await import_directory_file(path)
    assert (await Unit.get(building__code="PINE", number="7")).floor == "1"


async def test_an_announcement_can_be_the_public_face_of_an_incident(app: App) -> None:
    world = await build_world()
    now = app.clock.now()
    incident = await Incident.create(
        kind=IncidentKind.EMERGENCY, title="No water", starts_at=now, created_at=now, updated_at=now
    )
    announcer = _announcer(app)
    result = await announcer.announce(
        Draft("Water is back at 14:00", "OAK", incident_id=incident.id), Actor.of(world.alice)
    )
    assert (await Announcement.get(id=result.announcement_id)).incident_id == incident.id  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        await announcer.draft(Draft("x", "OAK", incident_id=incident.id + 1), Actor.of(world.alice))
