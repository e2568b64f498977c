"""Telegram updates per second through the residents' bot, against a bare dispatcher.

Full path: ``Dispatcher.feed_update`` of a resident's message in the middle of a report →
who is writing (database) → the conversation state (database FSM storage) → the ticket,
its timeline event and its outbox acknowledgement committed in one transaction → the new
conversation state. Baseline, in the same run: a bare ``Dispatcher`` whose only handler
does nothing, fed the same updates. Updates are parsed with the bot in their context, as
polling and webhooks do. SQLite with housedesk's pragmas (WAL, synchronous=FULL).

For scale, the same tickets created by calling the core directly (no Telegram, no
conversation) are measured too, and a Dispatcher whose handler does one 3-row tortoise
transaction (the issue measured that at about 1,500 updates/s with tortoise's own SQLite
backend; here it runs on housedesk's, see ``bench/tortoise_reference.py``).

Run with ``python -m bench.telegram_bench`` (``--count N``). Target: >= 500 new-ticket
updates/s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import Message, Update

from bench.tortoise_reference import three_rows
from bots.dispatchers import BotServices, build_resident_dispatcher
from bots.fsm_storage import DatabaseStorage
from bots.residents.states import Report
from core.actors import Actor
from core.clock import SystemClock
from core.storage.conversations import save_conversation_data, save_conversation_state
from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from core.storage.models import (
    Building,
    Category,
    Channel,
    Contact,
    ContactKind,
    OutboxMessage,
    Person,
    Ticket,
    Unit,
)
from core.tickets.commands import InboundRef, NewTicket
from core.tickets.service import TicketService
from housedesk.bootstrap import bootstrap
from housedesk.settings.config import Settings

TOKEN = "710000001:AAbenchmarkTokenNeverSentAnywhere-000"
BOT_ID = 710000001
FIRST_USER = 9_000_000
TARGET = 500


async def _seed(count: int, clock: SystemClock) -> None:
    """A building, the categories, and ``count`` residents, each mid-report."""
    building = await Building.create(code="B1", name="Bench House")
    unit = await Unit.create(building=building, number="1")
    await Category.create(code="technical", names={"en": "Technical"}, response_minutes=60)
    people = [Person(name=f"Resident {n}", language="en") for n in range(count)]
    await Person.bulk_create(people)
    people = await Person.all().order_by("id")
    await Contact.bulk_create(
        [
            Contact(person=p, kind=ContactKind.CHAT, value=str(FIRST_USER + n))
            for n, p in enumerate(people)
        ]
    )
    await unit.residents.add(*people)  # type: ignore[attr-defined]
    keys = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
    data = {
        "category": "technical",
        "building": "B1",
        "unit": "1",
        "started": clock.now().isoformat(),
    }
    for n in range(count):
        chat = FIRST_USER + n
        key = keys.build(StorageKey(bot_id=BOT_ID, chat_id=chat, user_id=chat))
        await save_conversation_state(key, Report.describing.state, clock.now())
        await save_conversation_data(key, data, clock.now())


def _updates(bot: Bot, count: int) -> list[Update]:
    now = int(datetime.now(UTC).timestamp())
    raw: list[dict[str, Any]] = [
        {
            "update_id": n + 1,
            "message": {
                "message_id": 10,
                "date": now,
                "chat": {"id": FIRST_USER + n, "type": "private", "first_name": "R"},
                "from": {"id": FIRST_USER + n, "is_bot": False, "first_name": "R"},
                "text": f"Dripping tap in the kitchen, report {n}",
            },
        }
        for n in range(count)
    ]
    return [Update.model_validate(u, context={"bot": bot}) for u in raw]


async def _core_rate(tickets: TicketService, count: int) -> float:
    """The same tickets through ``TicketService.create`` alone (residents after the first
    ``count``, so both sides start from the same kind of row)."""
    people = [p.id for p in await Person.filter(name__startswith="Resident").order_by("id")]
    start = time.perf_counter()
    for n, person_id in enumerate(people[count:]):
        await tickets.create(
            NewTicket(
                category="technical",
                title=f"Dripping tap in the kitchen, report {n}",
                description=f"Dripping tap in the kitchen, report {n}",
                channel=Channel.CHAT,
                actor=Actor(label="bench"),
                building="B1",
                unit="1",
                requester_id=person_id,
                inbound=InboundRef("resident_chat", f"core:{n}"),
                language="en",
            )
        )
    return (len(people) - count) / (time.perf_counter() - start)


def _one_transaction_dispatcher() -> Dispatcher:
    """The issue's reference point: a handler doing one 3-row tortoise transaction."""
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def reference(message: Message) -> None:
        """Ticket, event and outbox row, as plain tortoise creates in one transaction."""
        chat = str(message.chat.id)
        await three_rows(message.text or "", chat, f"bench:{chat}")

    return dispatcher


async def _rate(dispatcher: Dispatcher, bot: Bot, updates: list[Update]) -> float:
    start = time.perf_counter()
    for update in updates:
        await dispatcher.feed_update(bot, update)
    return len(updates) / (time.perf_counter() - start)


async def run(count: int, synchronous: str = "FULL") -> bool:
    """Measure both sides on a fresh SQLite database; True when the target is met."""
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(f"sqlite://{tmp}/bench.sqlite3", synchronous)
        await migrate_db(url)
        await open_db(url)
        clock = SystemClock()
        await _seed(2 * count, clock)
        app = bootstrap(
            Settings(database={"url": url}, storage={"data_dir": Path(tmp)}), clock=clock
        )
        bot = Bot(TOKEN)  # never calls Telegram: acknowledgements wait in the outbox
        services = BotServices(tickets=app.tickets, blobs=app.blobs, clock=clock)
        full = build_resident_dispatcher(services, DatabaseStorage(clock), SimpleEventIsolation())
        bare = Dispatcher()

        @bare.message()
        async def nothing(message: Message) -> None:
            """The baseline handler."""

        bare_rate = await _rate(bare, bot, _updates(bot, count))
        full_rate = await _rate(full, bot, _updates(bot, count))
        tickets = await Ticket.all().count()
        acks = await OutboxMessage.filter(channel="resident_chat").count()
        plain_rate = await _rate(_one_transaction_dispatcher(), bot, _updates(bot, count))
        core_rate = await _core_rate(app.tickets, count)
        await bot.session.close()
        await close_db()
    ok = tickets == acks == count and full_rate >= TARGET
    print(
        f"telegram, sqlite synchronous={synchronous}: full path {full_rate:,.0f} updates/s "
        f"({tickets} tickets, {acks} outbox rows), bare dispatcher {bare_rate:,.0f} updates/s "
        f"(target >= {TARGET}/s) {'OK' if ok else 'MISSED'}; "
        f"core alone {core_rate:,.0f} tickets/s, full/core {full_rate / core_rate:.2f}; "
        f"one 3-row tortoise transaction per update {plain_rate:,.0f} updates/s, "
        f"full path {plain_rate / full_rate:.2f}x slower"
    )
    return ok


def main() -> int:
    """``python -m bench.telegram_bench [--count N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="updates per side")
    parser.add_argument(
        "--synchronous",
        choices=("FULL", "NORMAL"),
        default="FULL",
        help="SQLite durability (housedesk's default FULL; NORMAL shows the rate without fsyncs)",
    )
    args = parser.parse_args()
    return 0 if asyncio.run(run(args.count, args.synchronous)) else 1


if __name__ == "__main__":
    sys.exit(main())
