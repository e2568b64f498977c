"""The desk's journal: what each filter selects, pages that neither skip nor repeat, the
count, what a technician may see, and (SQLite's planner) newest-first reads by index."""

from __future__ import annotations

import re
import sqlite3
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from tortoise.transactions import in_transaction

from core.actors import CLI
from core.clock import FrozenClock
from core.storage.models import Channel, Role, Status, Ticket
from core.storage.rawsql import bind
from core.tickets import text_search
from core.tickets.commands import NewTicket
from core.tickets.journal import OPEN, JournalFilter, journal_page, newest_ticket, page_sql
from housedesk.bootstrap import App
from tests.core import factories


async def _world(app: App, clock: FrozenClock) -> dict[str, object]:
    oak, lipa = await factories.building("OAK"), await factories.building("LIPA")
    await factories.category("technical")
    await factories.category("billing")
    bob = await factories.person("Bob", Role.TECHNICIAN, buildings=[oak])
    boss = await factories.person("Dana", Role.DISPATCHER, buildings=[oak, lipa])
    made = {}
    specs = [
        ("leak", oak, "technical", Channel.EMAIL),
        ("bill", oak, "billing", Channel.PHONE),
        ("lift", lipa, "technical", Channel.CHAT),
        ("heat", lipa, "technical", Channel.VOICEMAIL),
        ("door", oak, "technical", Channel.PHONE),
    ]
    for title, building, category, channel in specs:
        clock.advance(timedelta(minutes=1))
        created = await app.tickets.create(
            NewTicket(
                category=category,
                title=f"{title} report",
                description=f"about the {title}",
                channel=channel,
                actor=CLI,
                building=building.code,
                unit="1",
            )
        )
        made[title] = created.ticket
    now = clock.now()
    await Ticket.all().update(verified=True)
    await Ticket.filter(id=made["leak"].id).update(
        assignee_id=bob.id, due_at=now - timedelta(hours=1)
    )
    await Ticket.filter(id=made["lift"].id).update(due_at=now + timedelta(hours=3))
    await Ticket.filter(id=made["heat"].id).update(needs_attention="no transcript", verified=False)
    await Ticket.filter(id=made["door"].id).update(
        status=Status.DONE, due_at=now - timedelta(hours=2)
    )
    return {"tickets": made, "bob": bob, "boss": boss, "oak": oak}


def _titles(page: object) -> list[str]:
    return [t.title.split()[0] for t in page.tickets]  # type: ignore[attr-defined]


async def test_each_filter_selects_its_tickets(app: App, clock: FrozenClock) -> None:
    world = await _world(app, clock)
    boss, bob, oak = world["boss"], world["bob"], world["oak"]
    now = clock.now()
    cases = {
        JournalFilter(): ["door", "heat", "lift", "bill", "leak"],
        JournalFilter(building_id=oak.id): ["door", "bill", "leak"],  # type: ignore[attr-defined]
        JournalFilter(status=OPEN): ["heat", "lift", "bill", "leak"],
        JournalFilter(status="done"): ["door"],
        JournalFilter(category="billing"): ["bill"],
        JournalFilter(assignee_id=bob.id): ["leak"],  # type: ignore[attr-defined]
        JournalFilter(unassigned=True): ["door", "heat", "lift", "bill"],
        JournalFilter(overdue=True): ["leak"],  # "door" is late but done
        # core's "due soon": a first response owed within the 4 hours counts too
        JournalFilter(due_within_hours=4): ["heat", "lift", "bill", "leak"],
        JournalFilter(attention=True): ["heat"],
        JournalFilter(channel=Channel.PHONE): ["door", "bill"],
        JournalFilter(unverified=True): ["heat"],
        JournalFilter(text="LIFT"): ["lift"],
        JournalFilter(text="about the bill"): ["bill"],
        JournalFilter(text="LEAK REP"): ["leak"],
        JournalFilter(text="ea"): ["heat", "leak"],  # too short for the index
        JournalFilter(text="100%"): [],
    }
    for wanted, expected in cases.items():
        page = await journal_page(boss, wanted, now)  # type: ignore[arg-type]
        assert (_titles(page), page.count) == (expected, len(expected)), wanted


async def test_pages_continue_without_skipping_or_repeating(app: App, clock: FrozenClock) -> None:
    world = await _world(app, clock)
    seen: list[str] = []
    after = None
    while True:
        page = await journal_page(world["boss"], JournalFilter(), clock.now(), after=after, size=2)  # type: ignore[arg-type]
        assert page.count == 5
        seen += _titles(page)
        if page.after is None:
            break
        after = page.after
    assert seen == ["door", "heat", "lift", "bill", "leak"]


async def test_a_technician_sees_their_buildings_and_work_only(
    app: App, clock: FrozenClock
) -> None:
    world = await _world(app, clock)
    page = await journal_page(world["bob"], JournalFilter(), clock.now())  # type: ignore[arg-type]
    assert _titles(page) == ["door", "bill", "leak"]
    door = world["tickets"]["door"].id  # type: ignore[index]
    assert await newest_ticket(world["bob"]) == page.newest == door  # type: ignore[arg-type]


async def test_an_empty_page_still_knows_the_newest_ticket(app: App, clock: FrozenClock) -> None:
    world = await _world(app, clock)
    page = await journal_page(world["boss"], JournalFilter(text="100%"), clock.now())  # type: ignore[arg-type]
    assert (page.tickets, page.count, page.after) == ([], 0, None)
    assert page.newest == world["tickets"]["door"].id  # type: ignore[index]


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        ("a building", JournalFilter(building_id=1)),
        ("a status", JournalFilter(status="new")),
        ("an assignee", JournalFilter(assignee_id=1)),
        ("everything", JournalFilter()),
    ],
)
async def test_newest_first_pages_read_by_index(
    app: App, clock: FrozenClock, db_url: str, name: str, wanted: JournalFilter
) -> None:
    boss = await factories.person("Dana", Role.DISPATCHER)
    sql, values = page_sql(boss, wanted, clock.now(), "sqlite")
    with sqlite3.connect(urlsplit(db_url).path) as db:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", values)]
    assert not any(re.fullmatch(r"SCAN ticket", step) for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), (name, plan)


@pytest.mark.sqlite_only
async def test_text_search_reads_the_trigram_index(db_url: str) -> None:
    sql, values = bind(text_search._SQLITE, {"text": '"leak"', "cap": 10_001}, "sqlite")
    with sqlite3.connect(urlsplit(db_url).path) as db:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", values)]
    assert plan and all("VIRTUAL TABLE INDEX" in step for step in plan), plan


@pytest.mark.postgres
async def test_text_search_can_use_the_trigram_indexes(db: str) -> None:
    sql, values = bind(text_search._POSTGRES, {"like": "%leak%", "cap": 10_001}, "postgres")
    async with in_transaction() as tx:
        await tx.execute_script("SET LOCAL enable_seqscan = off")
        _, rows = await tx.execute_query(f"EXPLAIN {sql}", values)
    plan = "\n".join(str(next(iter(r.values()))) for r in rows)
    assert "idx_ticket_title_trgm" in plan and "idx_ticket_description_trgm" in plan, plan
