"""The issues' reference point: a ticket, its event and its outbox row as three plain
tortoise creates in one transaction (no housedesk code). The issues measured it on the
machine where they set their targets (about 1,340/s on SQLite with synchronous=FULL, about
3,000/s on PostgreSQL with 4 tasks, about 1,500 Telegram updates/s), so printing it in the
same run tells how this machine compares with that one. That holds on PostgreSQL, where
tortoise's own backend runs it; on SQLite it runs on housedesk's engine
(``core/sqlite_engine.py``), faster than the backend the issues measured.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core.storage.models import Channel, EventType, OutboxMessage, Ticket, TicketEvent


async def three_rows(title: str, recipient: str, key: str) -> None:
    """Ticket, event and outbox row as plain tortoise creates in one transaction."""
    now = datetime.now(UTC)
    async with in_transaction():
        ticket = await Ticket.create(
            category_id=1,
            channel=Channel.CHAT,
            title=title,
            language="en",
            created_at=now,
            updated_at=now,
        )
        await TicketEvent.create(ticket=ticket, type=EventType.CREATED, public=True, at=now)
        await OutboxMessage.create(
            ticket=ticket,
            channel="resident_chat",
            recipient=recipient,
            payload={"v": 1, "text": "ok"},
            idempotency_key=key,
            next_attempt_at=now,
            created_at=now,
        )


async def three_rows_rate(count: int, workers: int) -> float:
    """Transactions per second with ``workers`` concurrent tasks (the models connected)."""

    async def creator(worker: int, n: int) -> None:
        for i in range(n):
            await three_rows(f"Reference {i}", "42", f"reference:{worker}:{i}")

    start = time.perf_counter()
    await asyncio.gather(*(creator(w, count // workers) for w in range(workers)))
    return (count // workers * workers) / (time.perf_counter() - start)
