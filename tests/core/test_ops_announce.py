"""Announcements reach every registered resident once, by chat first, spread over time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.actors import Actor
from core.errors import InvalidInput
from core.messaging.delivery import Delivery, DeliveryReceipt
from core.messaging.message import FileRef, OutgoingMessage
from core.messaging.outbox import OutboxWorker
from core.messaging.routes import Route
from core.operations.announcements import Announcer, Draft, Photo
from core.storage.models import Announcement, Building, Contact, OutboxMessage, Unit
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.ops_world import World, build_world, new_ticket

PHOTO = "ab" * 32


async def _residents(world: World) -> None:
    """Ann: email only; Ben: blocked the bot, has email; Cat: no contact; Dan: in ELM."""
    flat = await world.oak.units.filter(number__in=["4", "5", "6"]).order_by("id")
    ann = await factories.person("Ann", email="ann@tenant.example", language="ru")
    ben = await factories.person("Ben", telegram="5002", email="ben@tenant.example")
    await Contact.filter(value="5002").update(blocked=True)
    cat = await factories.person("Cat")
    for person, unit in zip((ann, ben, cat), flat, strict=True):
        await person.units.add(unit)
    elm = await Building.create(code="ELM", name="Elm House")
    dan = await factories.person("Dan", telegram="5003")
    await dan.units.add(await Unit.create(building=elm, number="1"))


def _announcer(app: App, per_second: float = 10.0) -> Announcer:
    return Announcer(app.clock, mail_domain="oak.example", per_second=per_second)


async def test_announcement_to_one_building(app: App) -> None:
    world = await build_world()
    await _residents(world)
    result = await _announcer(app).announce(
        Draft("Water is off on Friday 10:00-12:00.", "OAK"), Actor.of(world.alice)
    )
    assert (result.chat, result.email, result.unreachable, result.queued) == (1, 2, 1, 3)

    rows = await OutboxMessage.all().order_by("id")
    assert [(r.channel, r.recipient) for r in rows] == [
        ("resident_chat", "5001"),
        ("email", "ann@tenant.example"),
        ("email", "ben@tenant.example"),
    ]
    chat, ann, ben = (OutgoingMessage.from_payload(r.payload) for r in rows)
    header = "📢 Announcement · OAK House · Alice Manager"
    assert chat == OutgoingMessage(
        f"{header}\n\nWater is off on Friday 10:00-12:00.", language="en"
    )
    assert rows[0].idempotency_key == f"announce:{result.announcement_id}:resident_chat:5001"
    assert ann.subject == "Объявление: Water is off on Friday 10:00-12:00."  # Ann reads Russian
    assert ben.subject == "Announcement: Water is off on Friday 10:00-12:00."
    assert (
        ann.text
        == "📢 Объявление · OAK House · Alice Manager\n\nWater is off on Friday 10:00-12:00."
    )
    assert ann.automatic
    assert (ann.answers, ann.language) == (None, "ru")
    assert str(ann.message_id).startswith(f"<hd-ann-{result.announcement_id}-")
    assert str(ann.message_id).endswith("@oak.example>")
    assert all(r.ticket_id is None for r in rows)  # type: ignore[attr-defined]
    announcement = await Announcement.get(id=result.announcement_id)
    assert announcement.actor_label == "Alice Manager"
    assert announcement.counts == {"chat": 1, "email": 2, "unreachable": 1, "held": 0}


async def test_announcement_to_all_buildings_with_a_photo(app: App) -> None:
    world = await build_world()
    await _residents(world)
    result = await _announcer(app, per_second=2).announce(
        Draft("Lift inspection tomorrow", None, photo=Photo(PHOTO)), Actor.system("cli")
    )
    assert (result.chat, result.email, result.unreachable) == (2, 2, 1)
    chats = await OutboxMessage.filter(channel="resident_chat").order_by("id")
    assert [r.recipient for r in chats] == ["5001", "5003"]
    photo = FileRef(PHOTO, "announcement.jpg", "image/jpeg")
    assert OutgoingMessage.from_payload(chats[1].payload) == OutgoingMessage(
        "📢 Announcement · Elm House · the management\n\nLift inspection tomorrow",  # Dan's
        (photo,),
        language="en",
    )
    emails = await OutboxMessage.filter(channel="email").order_by("id")
    assert OutgoingMessage.from_payload(emails[0].payload).files == (photo,)
    now = app.clock.now()
    assert [r.next_attempt_at - now for r in chats] == [timedelta(0), timedelta(seconds=0.5)]
    assert [r.next_attempt_at - now for r in emails] == [timedelta(0), timedelta(seconds=0.5)]


async def test_a_big_announcement_does_not_hold_up_ticket_messages(app: App) -> None:
    world = await build_world()
    flat = await Unit.get(building=world.oak, number="1")
    for n in range(60):
        resident = await factories.person(f"Resident {n}", telegram=str(7000 + n))
        await resident.units.add(flat)
    await _announcer(app, per_second=10).announce(
        Draft("Parking closed", "OAK"), Actor.system("cli")
    )

    app.clock.advance(timedelta(seconds=1))
    ticket = await new_ticket(app.tickets, world, title="Radiator cold")  # Tom's ack

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        return DeliveryReceipt(external_id="1")

    worker = OutboxWorker(app.clock, batch_size=20)
    worker.register(Route.RESIDENT_CHAT, sender)
    claimed = await worker.claim(Route.RESIDENT_CHAT, limit=20)
    assert claimed[0].ticket_id == ticket.id  # type: ignore[attr-defined]  # before the bulk
    # 11 announcement rows are due; Tom's waits until his acknowledgement is out
    assert sum(1 for row in claimed if row.idempotency_key.startswith("announce:")) == 10


async def test_announcement_input_is_checked(app: App) -> None:
    world = await build_world()
    announcer = _announcer(app)
    actor = Actor.of(world.alice)
    with pytest.raises(InvalidInput):
        await announcer.announce(Draft("   ", "OAK"), actor)
    with pytest.raises(InvalidInput):
        await announcer.announce(Draft("Hello", "OAK", photo=Photo("not-a-hash")), actor)
    assert not await Announcement.exists()
    # A text longer than a photo caption is fine: the chat shows it before the photo.
    await announcer.announce(Draft("x" * 1025, "OAK", photo=Photo(PHOTO)), actor)
    assert await Announcement.exists()
