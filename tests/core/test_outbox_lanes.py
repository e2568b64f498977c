"""Outbox lanes: a dead relay delays only its own lane, urgent rows overtake bulk ones, one
recipient's rows keep their order, a slow send is not taken over, and a write wakes an idle
lane at once. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from tortoise.transactions import in_transaction

from core.clock import FrozenClock, SystemClock
from core.messaging.delivery import Delivery, DeliveryReceipt
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import Lane, OutboxWorker, enqueue
from core.messaging.routes import Priority, Route
from core.storage.models import OutboxMessage, OutboxStatus

pytestmark = pytest.mark.usefixtures("db")

Send = Callable[[Delivery], Awaitable[DeliveryReceipt]]


async def _write(
    clock: FrozenClock | SystemClock,
    route: Route,
    recipient: str,
    text: str,
    priority: Priority = Priority.NORMAL,
) -> None:
    await enqueue(
        route=route,
        recipient=recipient,
        message=OutgoingMessage(text),
        key=f"{route}:{recipient}:{text}",
        now=clock.now(),
        priority=priority,
    )


class Recorder:
    """Records what was sent, in order, after ``delay`` seconds per send."""

    def __init__(self, delay: float = 0.0, jitter: float = 0.0) -> None:
        self.delay, self.jitter = delay, jitter
        self.sent: list[tuple[str, str, float]] = []
        self.rng = random.Random(3)

    async def __call__(self, delivery: Delivery) -> DeliveryReceipt:
        await asyncio.sleep(self.delay + self.rng.random() * self.jitter)
        self.sent.append((delivery.recipient, delivery.message.text, time.monotonic()))
        return DeliveryReceipt()

    def texts(self) -> list[str]:
        return [text for _, text, _ in self.sent]


async def black_hole(delivery: Delivery) -> DeliveryReceipt:
    """A relay that accepts the connection and never answers."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


@pytest.fixture
async def running() -> AsyncIterator[Callable[[OutboxWorker], None]]:
    """Start workers with ``running(worker)``; they are stopped after the test."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    yield lambda worker: tasks.append(asyncio.create_task(worker.run(stop)))
    stop.set()
    for task in tasks:
        task.cancel()  # a black-holed send never ends on its own
    await asyncio.gather(*tasks, return_exceptions=True)


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def _until_sent(count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while await OutboxMessage.filter(status=OutboxStatus.SENT).count() < count:
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_black_holed_mail_lane_does_not_delay_a_chat_reply(
    clock: FrozenClock, running: Callable[[OutboxWorker], None]
) -> None:
    for n in range(20):
        await _write(clock, Route.EMAIL, f"r{n}@example.org", f"mail {n}")
    chat = Recorder()
    worker = OutboxWorker(clock, poll_interval=30)
    worker.register(Route.EMAIL, black_hole)
    worker.register(Route.RESIDENT_CHAT, chat)
    running(worker)
    await asyncio.sleep(0.1)  # both mail tasks are stuck now
    written = time.monotonic()
    await _write(clock, Route.RESIDENT_CHAT, "5001", "your ticket 42 is in progress")
    await _until(lambda: bool(chat.sent), timeout=2)
    assert chat.texts() == ["your ticket 42 is in progress"]
    assert chat.sent[0][2] - written < 0.5
    mails = await OutboxMessage.filter(channel="email", status=OutboxStatus.PENDING).count()
    assert mails == 20


async def test_an_urgent_row_overtakes_two_hundred_announcement_rows(
    clock: FrozenClock, running: Callable[[OutboxWorker], None]
) -> None:
    for n in range(200):
        await _write(clock, Route.RESIDENT_CHAT, f"{6000 + n}", f"announcement {n}", Priority.BULK)
    await _write(clock, Route.RESIDENT_CHAT, "5001", "EMERGENCY: water leak", Priority.URGENT)
    chat = Recorder(delay=0.001)
    worker = OutboxWorker(clock, lanes={"resident_chat": Lane(concurrency=1)})
    worker.register(Route.RESIDENT_CHAT, chat)
    running(worker)
    await _until(lambda: len(chat.sent) == 201, timeout=30)
    assert chat.texts()[0] == "EMERGENCY: water leak"


async def test_one_recipients_rows_keep_their_order_with_four_senders(
    clock: FrozenClock, running: Callable[[OutboxWorker], None]
) -> None:
    for n in range(8):
        await _write(clock, Route.STAFF_CHAT, "7001", f"part {n}")
        await _write(clock, Route.STAFF_CHAT, f"{7100 + n}", f"other {n}")
    await _write(clock, Route.STAFF_CHAT, "7001", "escalation", Priority.URGENT)
    chat = Recorder(delay=0.002, jitter=0.02)
    in_flight: Counter[str] = Counter()
    overlaps: list[str] = []

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        in_flight[delivery.recipient] += 1
        if in_flight[delivery.recipient] > 1:
            overlaps.append(delivery.recipient)
        try:
            return await chat(delivery)
        finally:
            in_flight[delivery.recipient] -= 1

    worker = OutboxWorker(clock, lanes={"staff_chat": Lane(concurrency=4)})
    worker.register(Route.STAFF_CHAT, sender)
    running(worker)
    await _until(lambda: len(chat.sent) == 17, timeout=10)
    mine = [text for recipient, text, _ in chat.sent if recipient == "7001"]
    assert mine == ["escalation", *(f"part {n}" for n in range(8))]
    assert overlaps == []


async def test_a_send_slower_than_the_lease_is_not_sent_twice_by_a_second_worker(
    running: Callable[[OutboxWorker], None],
) -> None:
    clock = SystemClock()
    for n in range(3):
        await _write(clock, Route.EMAIL, f"r{n}@example.org", f"mail {n}")
    sent: Counter[int] = Counter()

    async def slow(delivery: Delivery) -> DeliveryReceipt:
        sent[delivery.id] += 1
        await asyncio.sleep(1.0)  # more than three leases
        return DeliveryReceipt()

    for _ in range(2):
        worker = OutboxWorker(clock, lease_seconds=0.3, poll_interval=0.05)
        worker.register(Route.EMAIL, slow)
        running(worker)
    await _until(lambda: len(sent) == 3, timeout=10)
    await _until_sent(3)  # each send outlived three leases: any wrong second claim is made
    await asyncio.sleep(0.2)  # and has reached the sender
    assert set(sent.values()) == {1}
    assert await OutboxMessage.filter(status=OutboxStatus.SENT).count() == 3


async def test_a_row_written_to_an_idle_lane_is_handed_over_at_once(
    clock: FrozenClock, running: Callable[[OutboxWorker], None]
) -> None:
    chat = Recorder()
    worker = OutboxWorker(clock, poll_interval=30)
    worker.register(Route.RESIDENT_CHAT, chat)
    running(worker)
    await asyncio.sleep(0.2)  # idle: every task waits
    for n in range(3):
        written = time.monotonic()
        async with in_transaction():
            await _write(clock, Route.RESIDENT_CHAT, "5001", f"ack {n}")
            await asyncio.sleep(0.05)  # not sent before the transaction commits
            assert len(chat.sent) == n
        count = n + 1
        await _until(lambda: len(chat.sent) == count, timeout=2)  # noqa: B023
        assert chat.sent[-1][2] - written - 0.05 < 0.1


async def test_a_reply_is_sent_while_bulk_rows_wait_for_the_rate_budget(
    clock: FrozenClock, running: Callable[[OutboxWorker], None]
) -> None:
    budget = asyncio.Event()  # the bot's rate budget, spent: bulk sends wait for it
    bulk_waiting: list[str] = []
    sent: list[str] = []

    async def chat(delivery: Delivery) -> DeliveryReceipt:
        if delivery.priority >= Priority.BULK:
            bulk_waiting.append(delivery.recipient)
            await budget.wait()
        sent.append(delivery.message.text)
        return DeliveryReceipt()

    for n in range(10):
        await _write(clock, Route.RESIDENT_CHAT, f"70{n:02}", "Water off on Friday", Priority.BULK)
    worker = OutboxWorker(clock, poll_interval=30)
    worker.register(Route.RESIDENT_CHAT, chat)
    running(worker)
    await _until(lambda: len(bulk_waiting) >= 2)
    await _write(clock, Route.RESIDENT_CHAT, "5001", "#12 is registered")
    await _write(clock, Route.RESIDENT_CHAT, "5002", "The plumber comes at 2pm", Priority.URGENT)
    await _until(lambda: len(sent) == 2, timeout=2)  # both handed over, bulk still waiting
    assert sorted(sent) == ["#12 is registered", "The plumber comes at 2pm"]
    assert len(bulk_waiting) == 2  # a chat lane holds at most two bulk rows at once
    budget.set()
    await _until_sent(12)
