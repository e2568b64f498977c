"""Retention of the timeline: kept whole by default; with ``[retention]
closed_timeline_days`` only the delivery bookkeeping of long-closed tickets goes. And the
clean-up runs daily in the scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from core.actors import CLI
from core.clock import FrozenClock
from core.storage.models import Channel, EventType, Status, Ticket, TicketEvent
from core.storage.retention import RetentionPolicy, collect_garbage
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App, bootstrap
from housedesk.gc_job import DailyGc
from housedesk.settings.config import Settings
from tests.core import factories

KEPT = [
    EventType.CREATED,
    EventType.PUBLIC_REPLY,
    EventType.INTERNAL_NOTE,
    EventType.STATUS_CHANGED,
    EventType.ASSIGNED,
]
BOOKKEEPING = [
    EventType.NOTIFICATION_SENT,
    EventType.NOTIFICATION_FAILED,
    EventType.ROUTING,
    EventType.DEADLINE_BREACH,
]


async def _ticket(app: App, status: Status, changed: datetime) -> Ticket:
    """A ticket with one timeline row of each kind, last changed at ``changed``."""
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title=f"{status} since {changed:%Y-%m-%d}",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="1",
        )
    )
    ticket = result.ticket
    for kind in [*KEPT[1:], *BOOKKEEPING]:
        await TicketEvent.create(ticket=ticket, type=kind, text=str(kind), at=changed)
    await Ticket.filter(id=ticket.id).update(status=status, updated_at=changed)
    return ticket


async def _kinds(ticket: Ticket) -> list[str]:
    rows = await TicketEvent.filter(ticket_id=ticket.id).order_by("id").values_list("type")
    return sorted({str(kind) for (kind,) in rows})


async def test_the_timeline_is_kept_whole_unless_closed_tickets_are_purged(
    app: App, clock: FrozenClock
) -> None:
    await factories.building()
    await factories.category()
    now = clock.now()
    long_closed = await _ticket(app, Status.CLOSED, now - timedelta(days=400))
    long_rejected = await _ticket(app, Status.REJECTED, now - timedelta(days=400))
    recently_closed = await _ticket(app, Status.CLOSED, now - timedelta(days=10))
    long_open = await _ticket(app, Status.IN_PROGRESS, now - timedelta(days=400))
    every_kind = sorted(str(k) for k in [*KEPT, *BOOKKEEPING])

    report = await collect_garbage(app.blobs, now, RetentionPolicy())
    assert report.events == 0
    for ticket in (long_closed, long_rejected, recently_closed, long_open):
        assert await _kinds(ticket) == every_kind

    policy = RetentionPolicy(closed_timeline_after=timedelta(days=365))
    counted = await collect_garbage(app.blobs, now, policy, dry_run=True)
    assert counted.events == 2 * len(BOOKKEEPING) and await _kinds(long_closed) == every_kind
    report = await collect_garbage(app.blobs, now, policy)
    assert report.events == 2 * len(BOOKKEEPING)
    assert "8 closed tickets' bookkeeping event(s)" in report.summary()
    for ticket in (long_closed, long_rejected):
        assert await _kinds(ticket) == sorted(str(k) for k in KEPT)
    for ticket in (recently_closed, long_open):
        assert await _kinds(ticket) == every_kind
    shown = await app.tickets.detail(long_closed.id)
    assert sorted({str(e.type) for e in shown.events}) == sorted(str(k) for k in KEPT)


async def test_the_clean_up_runs_once_a_day_in_the_scheduler(
    db: str, settings: Settings, clock: FrozenClock
) -> None:
    with_scheduler = settings.model_copy(
        update={"operations": settings.operations.model_copy(update={"scheduler_enabled": True})}
    )
    app = bootstrap(with_scheduler, clock=clock)
    assert app.scheduler is not None
    job = app.scheduler.jobs["gc"]
    assert isinstance(job, DailyGc) and job.at == time(3, 30)

    day = datetime(2026, 12, 3, tzinfo=UTC)
    assert not job.due(day.replace(hour=3, minute=29))
    assert await job(day.replace(hour=3, minute=31)) == 0  # ran: nothing to remove yet
    assert job.last_day == day.date()
    assert not job.due(day.replace(hour=23))  # once a day
    assert job.due(day.replace(hour=3, minute=30) + timedelta(days=1))

    off = with_scheduler.model_copy(
        update={"retention": with_scheduler.retention.model_copy(update={"gc_daily": False})}
    )
    scheduler = bootstrap(off, clock=clock).scheduler
    assert scheduler is not None and "gc" not in scheduler.jobs
