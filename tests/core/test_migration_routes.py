"""Migration 0007: a database upgraded with messages still queued in the old per-protocol
payloads and channel names delivers them as they would have looked, and threads replies."""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tortoise import connections
from tortoise.migrations.api import migrate

from bots.telegram_render import Method, render
from core.clock import FrozenClock
from core.messaging.delivery import Delivery, DeliveryReceipt
from core.messaging.message import FileRef, OutgoingMessage
from core.messaging.outbox import OutboxWorker
from core.messaging.routes import Route
from core.storage.db import close_db, migrate_db, open_db, sqlite_url, tortoise_config
from core.storage.models import MessageRef, OutboxMessage, OutboxStatus
from intake.email.compose import compose_message
from tests.conftest import _pg_admin, _pg_url

PHOTO = "ab" * 32
OLD_CARD = {
    "method": "sendMessage",
    "text": "New work: T-1 Leak",
    "reply_markup": {
        "inline_keyboard": [
            [
                {"text": "Accept", "callback_data": "tk:accept:1"},
                {"text": "Decline", "callback_data": "tk:decline:1"},
            ],
            [{"text": "Done", "callback_data": "tk:done:1"}],
        ]
    },
}
OLD_DONE_PHOTO = {
    "method": "sendPhoto",
    "caption": "Your request T-1 is now: done.",
    "text": "Your request T-1 is now: done.",
    "files": [{"sha256": PHOTO, "filename": "after.jpg", "content_type": "image/jpeg"}],
    "reply_markup": {
        "inline_keyboard": [
            [{"text": "★" * n, "callback_data": f"rs:rate:1:{n}"} for n in range(1, 6)],
            [{"text": "Not fixed", "callback_data": "rs:reopen:1:0"}],
        ]
    },
}
OLD_MAIL = {
    "to": "tom@tenant.example",
    "subject": "[T-1] Leak",
    "text": "We have your request.",
    "message_id": "<hd-1-abc@oak.example>",
    "in_reply_to": "<m1@tenant.example>",
    "references": ["<m0@tenant.example>", "<m1@tenant.example>"],
    "auto_submitted": "auto-replied",
    "attachments": [],
    "language": "en",
}
OLD_SENT = {"method": "sendMessage", "text": "Sent long ago"}


@pytest.fixture
async def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.config.getoption("--db") == "postgres":
        name = f"housedesk_mig_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        yield _pg_url(name)
        await close_db()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield sqlite_url(f"sqlite://{os.path.join(str(tmp_path), 'old.sqlite3')}")


def _outbox_row(n: int, channel: str, recipient: str, payload: dict[str, Any], status: str) -> str:
    quoted = json.dumps(payload, ensure_ascii=False).replace("'", "''")
    return (
        "INSERT INTO outbox (ticket_id, channel, recipient, payload, idempotency_key, status,"
        " attempts, max_attempts, next_attempt_at, last_error, created_at)"
        f" VALUES (1, '{channel}', '{recipient}', '{quoted}', 'old:{n}', '{status}', 0, 8,"
        " '2025-01-01 10:00:00+00:00', '', '2025-01-01 10:00:00+00:00');"
    )


async def _queue_the_old_way(url: str) -> None:
    await migrate(config=tortoise_config(url), target="models.0006_chat_channel")
    conn = connections.get("default")
    await conn.execute_script(
        "INSERT INTO building (code, name, address, timezone, language, emergency_instructions,"
        " hours, holidays) VALUES ('OAK', 'Oak House', '', 'UTC', 'en', '', '{}', '[]');"
        "INSERT INTO category (code, names, priority, emergency, business_hours)"
        " VALUES ('technical', '{}', 3, false, false);"
        "INSERT INTO ticket (building_id, category_id, priority, channel, status, title,"
        " description, language, verified, needs_attention, created_at, updated_at)"
        " VALUES (1, 1, 3, 'chat', 'new', 'Leak', 'dripping', 'en', true, '',"
        " '2025-01-01 10:00:00+00:00', '2025-01-01 10:00:00+00:00');"
        "INSERT INTO message_ref (channel, external_id, inbound, ticket_id, created_at)"
        " VALUES ('telegram_staff', '-100500:7', false, 1, '2025-01-01 10:00:00+00:00');"
        + _outbox_row(1, "telegram_staff", "-100500", OLD_CARD, "pending")
        + _outbox_row(2, "telegram_resident", "5001", OLD_DONE_PHOTO, "pending")
        + _outbox_row(3, "email", "tom@tenant.example", OLD_MAIL, "pending")
        + _outbox_row(4, "telegram_resident", "5001", OLD_SENT, "sent")
    )
    await close_db()


async def test_queued_old_messages_are_delivered_after_the_upgrade(
    old_url: str, tmp_path: Path
) -> None:
    await _queue_the_old_way(old_url)

    assert "0007_message_routes" in await migrate_db(old_url)

    await open_db(old_url)
    rows = await OutboxMessage.all().order_by("id")
    assert [(r.channel, r.progress) for r in rows] == [
        ("staff_chat", 0),
        ("resident_chat", 0),
        ("email", 0),
        ("resident_chat", 0),
    ]
    assert rows[3].payload == OLD_SENT  # a sent row stays as the record it was
    ref = await MessageRef.get(external_id="-100500:7")
    assert ref.channel == "staff_chat"  # a reply to an old card still finds its ticket

    card, done, mail = (OutgoingMessage.from_payload(r.payload) for r in rows[:3])
    [card_part] = render(card)
    assert (card_part.method, card_part.text) == (Method.SEND_MESSAGE, OLD_CARD["text"])
    assert card_part.keyboard == OLD_CARD["reply_markup"]
    [photo_part] = render(done)
    assert (photo_part.method, photo_part.text) == (Method.SEND_PHOTO, OLD_DONE_PHOTO["caption"])
    assert photo_part.files == (FileRef(PHOTO, "after.jpg", "image/jpeg"),)
    assert photo_part.keyboard == OLD_DONE_PHOTO["reply_markup"]
    composed = compose_message(
        mail, to="tom@tenant.example", from_address="help@oak.example", files={}
    )
    assert (composed["Subject"], composed["Message-ID"]) == ("[T-1] Leak", OLD_MAIL["message_id"])
    assert composed["In-Reply-To"] == "<m1@tenant.example>"
    assert composed["References"].split() == ["<m0@tenant.example>", "<m1@tenant.example>"]
    assert composed["Auto-Submitted"] == "auto-replied"

    delivered: list[Delivery] = []

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        delivered.append(delivery)
        return DeliveryReceipt()

    clock = FrozenClock(rows[0].next_attempt_at + timedelta(minutes=1))
    worker = OutboxWorker(clock, rng=random.Random(1))
    for route in Route:
        worker.register(route, sender)
    assert await worker.run_once() == 3
    assert sorted(d.route for d in delivered) == ["email", "resident_chat", "staff_chat"]
    statuses = await OutboxMessage.all().order_by("id").values_list("status", flat=True)
    assert statuses == [OutboxStatus.SENT] * 4
    await close_db()
