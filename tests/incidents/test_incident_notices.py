"""An incident's notices go the announcements' way: a planned shut-off's day-before notice
is an ordinary announcement (held back by the hourly limit, reported to whoever opened the
incident); an emergency incident's news is never held back, and its sender hears how many
got it, as after any announcement."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.actors import Actor
from core.clock import FrozenClock
from core.incidents.commands import UpdateIncident
from core.incidents.jobs import IncidentJobs
from core.messaging.delivery import Delivery, DeliveryReceipt, PermanentDeliveryError
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import OutboxWorker
from core.messaging.routes import Route
from core.operations.announcements import Draft
from core.storage.models import Announcement, Channel, IncidentKind, OutboxMessage
from tests.incidents.test_incident_service import _service, _water, _world

WARSAW = ZoneInfo("Europe/Warsaw")


def _warsaw(*when: int) -> datetime:
    """A Warsaw wall-clock time (the clock keeps it as UTC)."""
    return datetime(*when, tzinfo=WARSAW)


async def _refusing_chat_103(delivery: Delivery) -> DeliveryReceipt:
    if delivery.recipient == "103":
        raise PermanentDeliveryError("chat not found")
    return DeliveryReceipt(external_id=str(delivery.id))


async def _deliver_all(clock: FrozenClock) -> None:
    worker = OutboxWorker(clock)
    worker.register(Route.RESIDENT_CHAT, _refusing_chat_103)
    while await worker.run_once():
        pass


async def _reports() -> list[str]:
    """What the staff bot was asked to tell Dora (chat 900)."""
    rows = await OutboxMessage.filter(channel="staff_chat", recipient="900").order_by("id")
    return [OutgoingMessage.from_payload(r.payload).text for r in rows]


async def test_the_day_before_notice_is_held_by_the_hourly_limit_and_reported(
    db: str, clock: FrozenClock
) -> None:
    oak, _elm, dora, _residents, _stranger = await _world()
    oak.timezone = "Europe/Warsaw"
    await oak.save(update_fields=["timezone"])
    start = _warsaw(2026, 12, 10, 10, 0)
    clock.set(_warsaw(2026, 12, 7, 9, 0))
    incidents = _service(clock)
    planned = await incidents.open(
        _water(
            Actor.of(dora),
            kind=IncidentKind.PLANNED,
            starts_at=start,
            expected_end_at=start + timedelta(hours=4),
        )
    )
    clock.set(_warsaw(2026, 12, 9, 17, 30))  # half an hour before the notice
    await incidents.announcer.announce(Draft("Bins go out on Friday", "OAK"), Actor.of(dora))

    clock.set(_warsaw(2026, 12, 9, 18, 0))
    assert await IncidentJobs(incidents).run(clock.now()) == 1
    rows = await OutboxMessage.filter(channel="resident_chat").order_by("id")
    bins, notices = rows[:3], rows[3:]
    assert [r.recipient for r in notices] == ["101", "102", "103"]
    for bin_row, notice in zip(bins, notices, strict=True):  # an hour after the bins, not now
        assert notice.next_attempt_at == bin_row.next_attempt_at + timedelta(hours=1)
    assert all(r.announcement_id is not None for r in notices)

    clock.set(_warsaw(2026, 12, 9, 18, 45))
    await _deliver_all(clock)
    assert await incidents.announcer.run_due(clock.now()) == 2  # the bins and the notice
    *_, report = await _reports()
    assert report.endswith(
        " · 🛠 Hot water is off in your building.\n"
        "2 messages delivered\n"
        "1 message could not be delivered\n"
        "0 residents have no contact to send to"
    )
    assert (await incidents.get(planned.id)).status.value == "scheduled"


async def test_an_emergency_incidents_news_is_not_held_back_and_is_reported(
    db: str, clock: FrozenClock
) -> None:
    _oak, _elm, dora, (ru, en, third), _stranger = await _world()
    incidents = _service(clock)
    await incidents.announcer.announce(Draft("Bins go out on Friday", "OAK"), Actor.of(dora))
    incident = await incidents.open(_water(Actor.of(dora)))
    for person in (ru, en, third):
        await incidents.join(incident.id, person, Channel.CHAT)

    clock.advance(timedelta(minutes=5))
    told = await incidents.update(
        UpdateIncident(incident.id, Actor.of(dora), note="The plumber is on site.")
    )
    assert told == 3
    news = await OutboxMessage.filter(
        channel="resident_chat", announcement_id__isnull=False, priority__lt=9
    ).order_by("id")
    assert [r.recipient for r in news] == ["101", "102", "103"]
    assert all(r.next_attempt_at == clock.now() for r in news)  # not an hour after the bins

    await _deliver_all(clock)
    await incidents.announcer.run_due(clock.now())
    reports = await _reports()
    [update] = [r for r in reports if "Update: Hot water" in r]
    assert update.endswith(
        "2 messages delivered\n"
        "1 message could not be delivered\n"
        "0 residents have no contact to send to"
    )


async def test_news_with_nobody_linked_is_no_announcement(db: str, clock: FrozenClock) -> None:
    _oak, _elm, dora, _residents, _stranger = await _world()
    incidents = _service(clock)
    incident = await incidents.open(_water(Actor.of(dora)))
    assert await incidents.resolve(incident.id, Actor.of(dora)) == 0
    assert await Announcement.filter(incident_id=incident.id).count() == 0
    await incidents.announcer.run_due(clock.now())
    assert await _reports() == []  # nothing to report to Dora
