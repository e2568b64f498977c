"""A report read from SQLite's hourly tally (migration 0024) equals the same report counted
ticket by ticket, after tickets are created, moved along, reassigned, edited, rated, merged
and deleted, for periods cut at whole hours and at half hours (Asia/Kolkata); so do the
open tickets now read from the open tickets' tally."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tortoise import connections

from core.actors import CLI, Actor
from core.reports import figures, open_now
from core.reports.figures import build_report, parse_period
from core.reports.open_now import open_now as open_tickets_now
from core.storage.models import Channel, Role, Status, Ticket
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.core import factories

ZONES = ("UTC", "Asia/Kolkata")
PERIODS = ("today", "week", "month")


def _ticket(building: str, category: str, channel: Channel, requester_id: int) -> NewTicket:
    return NewTicket(
        category=category,
        title="Leak",
        description="Water on the floor.",
        channel=channel,
        actor=CLI,
        building=building,
        unit="1",
        requester_id=requester_id,
    )


async def _reports(app: App) -> dict[tuple[str, str], dict[str, Any]]:
    now = app.clock.now()
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for zone in ZONES:
        for name in PERIODS:
            period = parse_period(name, now, ZoneInfo(zone))
            found[zone, name] = await build_report(period, None, now)
    for hours in (1, 24):
        found["open now", str(hours)] = await open_tickets_now(now, due_within=hours)
    return found


async def _counted_ticket_by_ticket(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> dict[tuple[str, str], dict[str, Any]]:
    with monkeypatch.context() as patched:
        patched.setattr(figures, "_tallied_hours", _no_tally)
        patched.setattr(open_now, "open_now_sql", _open_now_ticket_by_ticket)
        return await _reports(app)


def _open_now_ticket_by_ticket(building: bool, dialect: str = "postgres") -> str:
    return open_now.OPEN_NOW_SQL.replace(
        "{building}", " AND building_id = :building" if building else ""
    )


def _no_tally(period: figures.Period, building_id: int | None) -> dict[str, Any]:
    return {
        "first_hour": 0,
        "end_hour": 0,
        "tallied_from": period.start,
        "tallied_to": period.start,
    }


async def _assert_agree(app: App, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    tallied, counted = await _reports(app), await _counted_ticket_by_ticket(app, monkeypatch)
    for key, report in tallied.items():
        assert report == counted[key], key
    return tallied["UTC", "month"]


async def test_the_tally_gives_the_figures_counted_ticket_by_ticket(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await factories.building("OAK")
    await factories.building("ELM")
    await factories.category("technical")
    await factories.category("emergency", emergency=True, priority=1, response_minutes=30)
    tom = await factories.person("Tom", telegram="5001")
    bob = await factories.person("Bob", Role.TECHNICIAN, telegram="9001")
    eve = await factories.person("Eve", Role.TECHNICIAN, telegram="9002")
    clock = app.clock
    created = []
    for n in range(12):  # two days of tickets, some on the half hour
        building, category = ("OAK", "ELM")[n % 2], ("technical", "emergency")[n % 3 == 0]
        channel = (Channel.CHAT, Channel.EMAIL, Channel.PHONE)[n % 3]
        created.append(
            (await app.tickets.create(_ticket(building, category, channel, tom.id))).ticket
        )
        clock.advance(timedelta(hours=3, minutes=30 * (n % 2)))
    report = await _assert_agree(app, monkeypatch)
    assert report["total"] == 12

    first, second, third, fourth, fifth, sixth = created[:6]
    await app.tickets.assign(first.ref, CLI, bob)
    await app.tickets.assign(second.ref, CLI, bob)
    await app.tickets.assign(second.ref, CLI, eve)  # reassigned
    await app.tickets.change_status(first.ref, CLI, Status.IN_PROGRESS)
    await app.tickets.change_status(first.ref, CLI, Status.DONE)
    await app.tickets.rate(first.ref, Actor.of(tom), 4)
    await app.tickets.change_status(third.ref, CLI, Status.DONE)
    await app.tickets.change_status(third.ref, CLI, Status.CLOSED)
    await app.tickets.change_status(fourth.ref, CLI, Status.REJECTED)
    await app.tickets.change_status(fifth.ref, CLI, Status.DONE)
    await app.tickets.change_status(fifth.ref, CLI, Status.REOPENED)
    await app.tickets.edit(sixth.ref, CLI, building="ELM", category="emergency")
    await app.tickets.merge(created[7].ref, created[8].ref, CLI)
    await Ticket.filter(id=created[10].id).update(needs_attention="unknown flat")
    clock.advance(timedelta(hours=5))  # more deadlines pass
    report = await _assert_agree(app, monkeypatch)
    assert report["by_status"]["done"] == 1
    assert report["by_status"]["closed"] == 2  # closed, and merged into another
    assert [t["name"] for t in report["technicians"]] == ["Bob", "Eve"]

    await Ticket.filter(id=created[9].id).delete()
    report = await _assert_agree(app, monkeypatch)
    assert report["total"] == 11


@pytest.mark.sqlite_only
async def test_the_tally_is_what_the_report_reads(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await factories.building("OAK")
    await factories.category("technical")
    tom = await factories.person("Tom", telegram="5001")
    await app.tickets.create(_ticket("OAK", "technical", Channel.CHAT, tom.id))
    await connections.get("default").execute_script(
        "UPDATE ticket_tally SET n = n + 1 WHERE dimension = 'status'"
    )
    await connections.get("default").execute_script(
        "UPDATE ticket_open_tally SET attention = attention + 1 WHERE dimension = 'status'"
    )
    tallied, counted = await _reports(app), await _counted_ticket_by_ticket(app, monkeypatch)
    assert tallied["UTC", "today"]["total"] == 2
    assert counted["UTC", "today"]["total"] == 1
    assert tallied["open now", "24"]["attention"] == 1
    assert counted["open now", "24"]["attention"] == 0
