"""The outbox worker: delivery, retry with backoff, giving up, and no double sends."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta

from core.actors import CLI
from core.clock import FrozenClock
from core.messaging.delivery import (
    Delivery,
    DeliveryReceipt,
    PermanentDeliveryError,
    RecipientBlockedError,
    TemporaryDeliveryError,
)
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import OutboxWorker, RetryPolicy, enqueue, enqueue_once
from core.messaging.routes import Priority, Route
from core.storage.models import (
    Channel,
    Contact,
    EventType,
    MessageRef,
    OutboxMessage,
    OutboxStatus,
    TicketEvent,
)
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.core import factories


class FlakySender:
    """Fails ``failures`` times with a temporary error, then succeeds."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or TemporaryDeliveryError("relay busy")
        self.calls: list[Delivery] = []
        self.delivered: list[Delivery] = []

    async def __call__(self, delivery: Delivery) -> DeliveryReceipt:
        self.calls.append(delivery)
        if len(self.calls) <= self.failures:
            raise self.error
        self.delivered.append(delivery)
        reference = f"{delivery.recipient}:{1000 + len(self.delivered)}"
        return DeliveryReceipt(external_id=reference, references=(reference,))


async def _ticket_with_ack(app: App) -> int:
    await factories.building("OAK")
    await factories.category("technical")
    tom = await factories.person("Tom", telegram="5001")
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Leak",
            channel=Channel.CHAT,
            actor=CLI,
            building="OAK",
            requester_id=tom.id,
        )
    )
    return result.ticket.id


def _worker(clock: FrozenClock, **kwargs: object) -> OutboxWorker:
    return OutboxWorker(clock, policy=RetryPolicy(5, 600), rng=random.Random(1), **kwargs)  # type: ignore[arg-type]


async def _drain(worker: OutboxWorker, clock: FrozenClock, rounds: int = 20) -> None:
    for _ in range(rounds):
        await worker.run_once()
        clock.advance(timedelta(minutes=15))


async def test_fails_twice_then_delivers_once(app: App, clock: FrozenClock) -> None:
    ticket_id = await _ticket_with_ack(app)
    sender = FlakySender(failures=2)
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, sender)

    await worker.run_once()
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert (row.attempts, row.status, row.last_error) == (1, OutboxStatus.PENDING, "relay busy")
    assert row.next_attempt_at > clock.now()
    await worker.run_once()  # not due yet: nothing happens
    assert len(sender.calls) == 1

    await _drain(worker, clock)
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert (row.status, row.attempts, row.external_id) == (OutboxStatus.SENT, 3, "5001:1001")
    assert len(sender.delivered) == 1 and len(sender.calls) == 3
    assert await MessageRef.exists(channel="resident_chat", external_id="5001:1001")
    assert (
        await TicketEvent.filter(ticket_id=ticket_id, type=EventType.NOTIFICATION_SENT).count() == 1
    )


async def test_backoff_grows_and_has_jitter() -> None:
    policy = RetryPolicy(5, 600)
    rng = random.Random(7)
    delays = [policy.delay(n, rng) for n in range(1, 10)]
    assert all(2.5 <= d <= 5 for d in delays[:1])
    assert delays[3] > delays[0] and max(delays) <= 600
    assert len({round(d, 6) for d in delays}) == len(delays)


async def test_always_failing_ends_failed_with_timeline_event(app: App, clock: FrozenClock) -> None:
    ticket_id = await _ticket_with_ack(app)
    sender = FlakySender(failures=10**6)
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, sender)
    await _drain(worker, clock, rounds=30)
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert row.status == OutboxStatus.FAILED and row.attempts == row.max_attempts == 8
    assert len(sender.calls) == 8
    [event] = await TicketEvent.filter(ticket_id=ticket_id, type=EventType.NOTIFICATION_FAILED)
    assert "gave up after 8 attempts" in event.text and not event.public


async def test_permanent_error_is_not_retried(app: App, clock: FrozenClock) -> None:
    ticket_id = await _ticket_with_ack(app)
    sender = FlakySender(failures=1, error=PermanentDeliveryError("550 no such user"))
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, sender)
    await _drain(worker, clock)
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert row.status == OutboxStatus.FAILED and len(sender.calls) == 1
    assert "550 no such user" in row.last_error


async def test_blocked_recipient_is_marked(app: App, clock: FrozenClock) -> None:
    await _ticket_with_ack(app)
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, FlakySender(1, RecipientBlockedError("bot was blocked")))
    await worker.run_once()
    contact = await Contact.get(value="5001")
    assert contact.blocked


async def test_retry_after_is_honoured(app: App, clock: FrozenClock) -> None:
    ticket_id = await _ticket_with_ack(app)
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, FlakySender(1, TemporaryDeliveryError("429", 42)))
    await worker.run_once()
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=42)


async def test_unknown_exception_counts_as_temporary(app: App, clock: FrozenClock) -> None:
    ticket_id = await _ticket_with_ack(app)
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, FlakySender(1, RuntimeError("boom")))
    await _drain(worker, clock)
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert row.status == OutboxStatus.SENT and row.attempts == 2


async def test_idempotency_key_writes_once(db: str, clock: FrozenClock) -> None:
    hello = OutgoingMessage("Hello")
    first = await enqueue_once(
        route=Route.EMAIL, recipient="a@b", message=hello, key="k1", now=clock.now()
    )
    second = await enqueue_once(
        route=Route.EMAIL, recipient="a@b", message=hello, key="k1", now=clock.now()
    )
    assert first is not None and second is None
    assert await OutboxMessage.all().count() == 1


async def test_two_workers_never_send_a_row_twice(db: str, clock: FrozenClock) -> None:
    for n in range(60):
        await enqueue(
            route=Route.EMAIL,
            recipient=f"r{n}@x",
            message=OutgoingMessage(f"Message {n}"),
            key=f"k{n}",
            now=clock.now(),
        )
    sent: Counter[int] = Counter()

    async def slow_sender(delivery: Delivery) -> DeliveryReceipt:
        await asyncio.sleep(0.001)
        sent[delivery.id] += 1
        return DeliveryReceipt()

    workers = [_worker(clock, batch_size=7) for _ in range(2)]
    for worker in workers:
        worker.register(Route.EMAIL, slow_sender)

    async def drain(worker: OutboxWorker) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    assert len(sent) == 60 and set(sent.values()) == {1}
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 60


async def test_worker_stops_after_the_send_in_flight(db: str, clock: FrozenClock) -> None:
    await enqueue(
        route=Route.EMAIL, recipient="a@x", message=OutgoingMessage("Hi"), key="k", now=clock.now()
    )
    started, release = asyncio.Event(), asyncio.Event()

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        started.set()
        await release.wait()
        return DeliveryReceipt()

    worker = _worker(clock)
    worker.register(Route.EMAIL, sender)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await started.wait()
    stop.set()
    release.set()
    await asyncio.wait_for(task, 5)
    assert (await OutboxMessage.get(idempotency_key="k")).status == OutboxStatus.SENT


async def test_a_broken_payload_fails_without_reaching_the_sender(
    app: App, clock: FrozenClock
) -> None:
    ticket_id = await _ticket_with_ack(app)
    await OutboxMessage.filter(ticket_id=ticket_id).update(payload={"v": 1, "text": " "})
    sender = FlakySender()
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, sender)
    await worker.run_once()
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert row.status == OutboxStatus.FAILED and sender.calls == []
    assert "needs a text or a file" in row.last_error


async def test_parts_sent_before_a_failure_are_remembered(app: App, clock: FrozenClock) -> None:
    """The sender got part 1 out, then failed: the retry starts at part 2, and a reply to
    part 1 already threads to the ticket."""
    ticket_id = await _ticket_with_ack(app)
    error = TemporaryDeliveryError("timeout", progress=1, references=("5001:77",))
    sender = FlakySender(failures=1, error=error)
    worker = _worker(clock)
    worker.register(Route.RESIDENT_CHAT, sender)

    await worker.run_once()
    row = await OutboxMessage.get(ticket_id=ticket_id)
    assert (row.status, row.progress) == (OutboxStatus.PENDING, 1)
    ref = await MessageRef.get(channel="resident_chat", external_id="5001:77")
    assert ref.ticket_id == ticket_id and not ref.inbound  # type: ignore[attr-defined]

    await _drain(worker, clock)
    assert [d.progress for d in sender.calls] == [0, 1]
    assert (await OutboxMessage.get(ticket_id=ticket_id)).status == OutboxStatus.SENT


async def test_the_sender_is_told_the_rows_priority(db: str, clock: FrozenClock) -> None:
    """The Telegram sender lets bulk (announcements) wait behind answers to people."""
    for key, priority in (("news", Priority.BULK), ("reply", Priority.URGENT)):
        await enqueue(
            route=Route.EMAIL,
            recipient=f"{key}@x",
            message=OutgoingMessage(key),
            key=key,
            now=clock.now(),
            priority=priority,
        )
    seen: dict[str, int] = {}

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        seen[delivery.message.text] = delivery.priority
        return DeliveryReceipt()

    worker = _worker(clock)
    worker.register(Route.EMAIL, sender)
    while await worker.run_once():
        pass
    assert seen == {"news": Priority.BULK, "reply": Priority.URGENT}
