"""A database made by the first migration, with rows in it, upgrades with every row kept."""

from __future__ import annotations

import os
import uuid

import pytest
from tortoise import connections
from tortoise.migrations.api import migrate

from core.storage.db import (
    close_db,
    migrate_db,
    open_db,
    pending_migrations,
    sqlite_url,
    tortoise_config,
)
from core.storage.models import Building, Channel, Contact, ContactKind, Ticket, TicketEvent
from tests.conftest import REPO, _pg_admin, _pg_url

LATER_MIGRATIONS = sorted(
    path.stem
    for path in (REPO / "core" / "storage" / "migrations").glob("0*.py")
    if not path.stem.startswith("0001")
)


@pytest.fixture
async def empty_url(request: pytest.FixtureRequest, tmp_path: object) -> object:
    if request.config.getoption("--db") == "postgres":
        name = f"housedesk_mig_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        yield _pg_url(name)
        await close_db()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield sqlite_url(f"sqlite://{os.path.join(str(tmp_path), 'old.sqlite3')}")


async def test_upgrade_from_first_migration_keeps_rows(empty_url: str) -> None:
    await migrate(config=tortoise_config(empty_url), target="models.0001_initial")
    conn = connections.get("default")
    await conn.execute_script(
        "INSERT INTO building (code, name, address, timezone, language, emergency_instructions,"
        " hours, holidays) VALUES ('OLD', 'Old House', '', 'UTC', 'en', '', '{}', '[]');"
        "INSERT INTO category (code, names, priority, emergency, business_hours)"
        " VALUES ('technical', '{}', 3, false, false);"
    )
    for n in (1, 2, 3):
        await conn.execute_script(
            "INSERT INTO ticket (building_id, category_id, priority, channel, status, title,"
            " description, language, verified, needs_attention, created_at, updated_at)"
            f" VALUES (1, 1, 3, 'email', 'new', 'Old ticket {n}', 'kept', 'en', true, '',"
            " '2025-01-01 10:00:00+00:00', '2025-01-01 10:00:00+00:00');"
        )
    await close_db()

    applied = await migrate_db(empty_url)
    assert applied == LATER_MIGRATIONS

    await open_db(empty_url)
    assert await pending_migrations() == []
    tickets = await Ticket.all().order_by("id")
    assert [t.title for t in tickets] == ["Old ticket 1", "Old ticket 2", "Old ticket 3"]
    assert all(t.description == "kept" and t.rating_comment == "" for t in tickets)
    assert (await Building.get(code="OLD")).name == "Old House"
    await close_db()


async def test_chat_channel_renames_stored_rows_and_keeps_them(empty_url: str) -> None:
    await migrate(config=tortoise_config(empty_url), target="models.0005_ticket_version")
    conn = connections.get("default")
    await conn.execute_script(
        "INSERT INTO building (code, name, address, timezone, language, emergency_instructions,"
        " hours, holidays) VALUES ('OLD', 'Old House', '', 'UTC', 'en', '', '{}', '[]');"
        "INSERT INTO category (code, names, priority, emergency, business_hours)"
        " VALUES ('technical', '{}', 3, false, false);"
        "INSERT INTO person (name, role, trades, work_hours, active, created_at)"
        " VALUES ('Anna', 'resident', '[]', '{}', true, '2025-01-01 10:00:00+00:00');"
        "INSERT INTO contact (person_id, kind, value, blocked) VALUES (1, 'telegram', '42', false);"
        "INSERT INTO contact (person_id, kind, value, blocked)"
        " VALUES (1, 'email', 'anna@example.org', false);"
    )
    for n, channel in enumerate(("telegram", "email"), start=1):
        await conn.execute_script(
            "INSERT INTO ticket (building_id, category_id, requester_id, priority, channel,"
            " status, title, description, language, verified, needs_attention, created_at,"
            f" updated_at) VALUES (1, 1, 1, 3, '{channel}', 'new', 'Old ticket {n}', 'kept',"
            " 'en', true, '', '2025-01-01 10:00:00+00:00', '2025-01-01 10:00:00+00:00');"
            "INSERT INTO ticket_event (ticket_id, type, public, text, actor_label, data, at)"
            f" VALUES ({n}, 'created', true, 'kept', 'Anna',"
            f' \'{{"channel": "{channel}", "title": "Old ticket {n}"}}\','
            " '2025-01-01 10:00:00+00:00');"
        )
    await close_db()

    assert await migrate_db(empty_url) == [m for m in LATER_MIGRATIONS if m >= "0006"]

    await open_db(empty_url)
    assert await pending_migrations() == []
    contacts = await Contact.all().order_by("id")
    assert [(c.kind, c.value) for c in contacts] == [
        (ContactKind.CHAT, "42"),
        (ContactKind.EMAIL, "anna@example.org"),
    ]
    tickets = await Ticket.all().order_by("id")
    assert [(t.title, t.channel) for t in tickets] == [
        ("Old ticket 1", Channel.CHAT),
        ("Old ticket 2", Channel.EMAIL),
    ]
    events = await TicketEvent.all().order_by("id")
    assert [e.data for e in events] == [
        {"channel": "chat", "title": "Old ticket 1"},
        {"channel": "email", "title": "Old ticket 2"},
    ]
    await close_db()
