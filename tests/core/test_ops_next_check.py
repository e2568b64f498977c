"""The deadline round looks only at tickets whose next check is due, and each change that
may move a deadline check brings it forward."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tortoise import connections
from tortoise.migrations.api import migrate

from core.actors import Actor
from core.operations.deadlines import NudgePolicy
from core.operations.jobs import BATCH, CHUNK, Operations, due_query
from core.storage.db import close_db, open_db, sqlite_url, tortoise_config
from core.storage.models import Channel, EventType, Status, Ticket, TicketEvent
from housedesk.bootstrap import App
from presentation.directory_file import import_directory_file
from tests.conftest import _pg_admin, _pg_url
from tests.core.ops_world import World, build_world, new_ticket, routed


async def _next_check(ticket: Ticket) -> datetime | None:
    return (await Ticket.get(id=ticket.id)).next_check_at


async def test_next_check_follows_the_ticket_through_its_life(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets), nudges=NudgePolicy(15, 60))
    start = app.clock.now()
    ticket = await new_ticket(app.tickets, world, "technical")  # Wed 09:00, response by 13:00
    assert await _next_check(ticket) == start  # the next round works it out

    await operations.run_deadlines(app.clock.now())
    assert await _next_check(ticket) == start.replace(hour=12, minute=45)  # the reminder

    app.clock.set(start.replace(hour=12, minute=45))
    assert await operations.run_deadlines(app.clock.now()) == 1
    assert await _next_check(ticket) == start.replace(hour=13)  # the breach

    app.clock.set(start.replace(hour=13, minute=5))
    assert await operations.run_deadlines(app.clock.now()) == 1
    assert await _next_check(ticket) == start.replace(hour=14)  # the first nudge

    app.clock.set(start.replace(hour=13, minute=10))
    await app.tickets.change_status(ticket.id, Actor.of(world.bob), Status.IN_PROGRESS)
    assert await _next_check(ticket) == app.clock.now()  # responded: looked at again
    await operations.run_deadlines(app.clock.now())
    resolution = (await Ticket.get(id=ticket.id)).due_at
    assert resolution is not None
    assert await _next_check(ticket) == resolution - timedelta(minutes=15)

    await app.tickets.change_status(ticket.id, Actor.of(world.bob), Status.DONE)
    assert await _next_check(ticket) is None


async def test_a_ticket_without_deadlines_is_never_checked(app: App) -> None:
    world = await build_world()
    world.technical.response_minutes = world.technical.resolution_minutes = None
    await world.technical.save()
    ticket = await new_ticket(app.tickets, world, "technical")
    assert await _next_check(ticket) is None


@asynccontextmanager
async def _selects() -> AsyncIterator[list[str]]:
    """The SELECT statements SQLite runs inside the block (on the writing connection and
    the read-only ones, the loop's and the thread's)."""
    traced: list[str] = []
    client = connections.get("default")
    both = [client._connection, client._reader]  # type: ignore[attr-defined]
    quick = client._quick._conn  # type: ignore[attr-defined]
    for connection in both:
        await connection.set_trace_callback(traced.append)
    quick.set_trace_callback(traced.append)
    try:
        yield traced
    finally:
        for connection in both:
            await connection.set_trace_callback(None)
        quick.set_trace_callback(None)
        traced[:] = [s for s in traced if s.lstrip().upper().startswith("SELECT")]


async def _overdue(world: World, n: int, next_check_at: datetime, now: datetime) -> list[int]:
    """``n`` open emergencies of Oak Court, long past both deadlines, checked at
    ``next_check_at``; their ids."""
    past = now - timedelta(days=30)
    rows = [
        Ticket(
            building=world.oak,
            category=world.emergency,
            assignee=world.bob,
            channel=Channel.CHAT,
            title=f"Old leak {i}",
            created_at=past,
            updated_at=past,
            response_due_at=past + timedelta(minutes=30),
            due_at=past + timedelta(days=3),
            next_check_at=next_check_at,
        )
        for i in range(n)
    ]
    await Ticket.bulk_create(rows)
    ids = await Ticket.filter(title__startswith="Old leak").order_by("-id").limit(n)
    return [t.id for t in ids]


@pytest.mark.sqlite_only
async def test_a_round_reads_due_tickets_in_batches_whatever_the_table_holds(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets), nudges=NudgePolicy(15, 0))
    now = app.clock.now()
    later = now + timedelta(days=1)
    not_due = await _overdue(world, 400, later, now)
    due = await _overdue(world, BATCH + 20, now, now)
    await operations.run_deadlines(now)  # the breaches; no nudges (every 0 minutes)

    await Ticket.filter(id__in=due).update(next_check_at=now)
    async with _selects() as few:
        assert await operations.run_deadlines(now) == 0  # done already: nothing to send
    await _overdue(world, 2000, later, now)  # the table grows, the due ones do not
    await Ticket.filter(id__in=due).update(next_check_at=now)
    async with _selects() as many:
        assert await operations.run_deadlines(now) == 0

    # two batches of tickets and their marks; buildings, categories, assignees read once
    assert len(few) == len(many) == 2 * 2 + 3
    breached = await TicketEvent.filter(type=EventType.DEADLINE_BREACH).values_list(
        "ticket_id", flat=True
    )
    assert sorted(set(breached)) == sorted(due)  # not one of the tickets not due
    assert len(breached) == 2 * len(due)  # response and resolution, once each
    assert not await Ticket.filter(id__in=due, next_check_at__not_isnull=True).exists()
    assert await Ticket.filter(id__in=not_due, next_check_at=later).count() == len(not_due)


async def test_a_ticket_that_fails_holds_up_no_other_of_its_chunk(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets), nudges=NudgePolicy(15, 0))
    now = app.clock.now()
    due = sorted(await _overdue(world, CHUNK + 5, now, now))
    broken = due[3]
    breach = Operations._breach

    async def failing_for_one(self: Operations, ticket: Ticket, *args: object) -> None:
        if ticket.id == broken:
            raise RuntimeError("the broken ticket")
        await breach(self, ticket, *args)

    monkeypatch.setattr(Operations, "_breach", failing_for_one)
    assert await operations.run_deadlines(now) == 2 * (len(due) - 1)
    breached = await TicketEvent.filter(type=EventType.DEADLINE_BREACH).values_list(
        "ticket_id", flat=True
    )
    assert sorted(set(breached)) == [t for t in due if t != broken]
    assert await _next_check(await Ticket.get(id=broken)) == now  # retried on the next run
    assert (
        not await Ticket.filter(id__in=due, next_check_at__not_isnull=True)
        .exclude(id=broken)
        .exists()
    )
    assert f"deadlines of #{broken} failed" in caplog.text

    monkeypatch.setattr(Operations, "_breach", breach)
    assert await operations.run_deadlines(now) == 2
    assert await TicketEvent.filter(type=EventType.DEADLINE_BREACH, ticket_id=broken).count() == 2


@pytest.fixture
async def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.config.getoption("--db") == "postgres":
        name = f"housedesk_nc_{uuid.uuid4().hex[:8]}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        yield _pg_url(name)
        await close_db()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield sqlite_url(f"sqlite://{tmp_path / 'old.sqlite3'}")
        await close_db()


async def test_upgrade_gives_open_tickets_owing_a_deadline_a_check(old_url: str) -> None:
    await migrate(config=tortoise_config(old_url), target="models.0009_outbox_lanes")
    await connections.get("default").execute_script(
        "INSERT INTO building (code, name, address, timezone, language, emergency_instructions,"
        " hours, holidays) VALUES ('OLD', 'Old House', '', 'UTC', 'en', '', '{}', '[]');"
        "INSERT INTO category (code, names, priority, emergency, business_hours)"
        " VALUES ('technical', '{}', 3, false, false);"
    )
    made = "'2025-01-01 10:00:00+00:00'"
    due = "'2025-01-02 10:00:00+00:00'"
    for title, status, response_due, due_at, first_response in (
        ("owes both", "new", due, due, "NULL"),
        ("owes the resolution", "in_progress", due, due, made),
        ("owes the response", "on_hold", due, "NULL", "NULL"),
        ("responded, no resolution deadline", "in_progress", due, "NULL", made),
        ("no deadlines", "new", "NULL", "NULL", "NULL"),
        ("closed", "closed", due, due, "NULL"),
    ):
        await connections.get("default").execute_script(
            "INSERT INTO ticket (building_id, category_id, priority, channel, status, title,"
            " description, language, verified, needs_attention, created_at, updated_at,"
            " response_due_at, due_at, first_response_at)"
            f" VALUES (1, 1, 3, 'email', '{status}', '{title}', '', 'en', true, '',"
            f" {made}, {made}, {response_due}, {due_at}, {first_response});"
        )
    await migrate(config=tortoise_config(old_url), target="models.0010_next_check")
    await close_db()

    await open_db(old_url)
    checks = {t.title: t.next_check_at for t in await Ticket.all()}
    created = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)
    assert checks == {
        "owes both": created,
        "owes the resolution": created,
        "owes the response": created,
        "responded, no resolution deadline": None,
        "no deadlines": None,
        "closed": None,
    }


async def test_new_opening_hours_bring_the_buildings_checks_forward(
    app: App, tmp_path: Path
) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets), nudges=NudgePolicy(15, 60))
    ticket = await new_ticket(app.tickets, world, "technical")
    await operations.run_deadlines(app.clock.now())
    assert await _next_check(ticket) == app.clock.now().replace(hour=12, minute=45)

    path = tmp_path / "directory.toml"
    path.write_text(
        '[[buildings]]\ncode = "OAK"\nname = "Oak Court"\ntimezone = "Europe/London"\n'
        'hours = { mon = ["08:00-17:00"], tue = ["08:00-17:00"], wed = ["08:00-12:00"] }\n'
    )
    await import_directory_file(path)
    assert await _next_check(ticket) == ticket.created_at  # looked at on the next round
    await operations.run_deadlines(app.clock.now())
    worked_out = await _next_check(ticket)
    assert worked_out is not None and worked_out > app.clock.now()
    await import_directory_file(path)  # the same hours again: nothing moves
    assert await _next_check(ticket) == worked_out


@pytest.mark.sqlite_only
async def test_the_due_query_searches_the_next_check_index(db: str, db_url: str) -> None:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    with sqlite3.connect(urlsplit(db_url).path) as sqlite:
        index = _index(sqlite, "next_check_at")
        for after in (None, (now - timedelta(hours=1), 42)):
            sql = due_query(now, after).sql(params_inline=True)
            plan = [row[3] for row in sqlite.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert plan == [f"SEARCH ticket USING INDEX {index} ({_range(after)})"]


def _index(db: sqlite3.Connection, column: str) -> str:
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'").fetchall()
    [name] = [n for n, sql in rows if sql and f'("{column}")' in sql]
    return str(name)


def _range(after: object) -> str:
    return "next_check_at<?" if after is None else "next_check_at>? AND next_check_at<?"
