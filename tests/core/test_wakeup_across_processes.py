"""A row written by another process wakes this process's idle lane through PostgreSQL
``LISTEN``/``NOTIFY`` (:class:`core.messaging.wakeup.PgListener`), long before the lane's
fallback poll."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from core.clock import SystemClock
from core.messaging.delivery import Delivery, DeliveryReceipt
from core.messaging.outbox import OutboxWorker
from core.messaging.routes import Route
from core.messaging.wakeup import PgListener
from tests.conftest import REPO

POLL_S = 600.0
"""The lane's fallback poll: far longer than the test may take."""

WRITER = """
import asyncio, sys
from tortoise.transactions import in_transaction
from core.clock import SystemClock
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import enqueue
from core.messaging.routes import Route
from core.storage.db import close_db, open_db

async def main() -> None:
    await open_db(sys.argv[1])
    async with in_transaction():
        await enqueue(
            route=Route.EMAIL,
            recipient="tenant@example.com",
            message=OutgoingMessage("Your request #1 is registered", message_id="<a1@oak.example>"),
            key="across-processes",
            now=SystemClock().now(),
        )
    await close_db()

asyncio.run(main())
"""


@pytest.mark.postgres  # LISTEN/NOTIFY is PostgreSQL's; on SQLite one process serves it
async def test_a_row_from_another_process_wakes_the_idle_lane(db: str) -> None:
    delivered: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        if not delivered.done():
            delivered.set_result(time.monotonic())
        return DeliveryReceipt(external_id=None)

    worker = OutboxWorker(SystemClock(), poll_interval=POLL_S)
    worker.register(Route.EMAIL, sender)
    listener = PgListener()
    stop = asyncio.Event()
    serving = asyncio.gather(worker.run(stop), listener.run(stop))
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        await asyncio.sleep(0.2)  # the lane has looked once and now waits for a wake-up
        writer = await asyncio.create_subprocess_exec(
            sys.executable, "-c", WRITER, db, cwd=REPO, stdout=subprocess.DEVNULL
        )
        assert await asyncio.wait_for(writer.wait(), 60) == 0
        written = time.monotonic()
        woke = await asyncio.wait_for(delivered, 10)
        assert woke - written < 5  # the notification, not the 600 s poll
    finally:
        stop.set()
        await serving
