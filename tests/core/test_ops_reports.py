"""Reports on a seeded month equal the numbers worked out by hand; text, chart, XLSX, CLI."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image

from core.errors import InvalidInput
from core.reports.figures import Reports, parse_period, percentile
from core.storage.models import (
    Building,
    Category,
    Channel,
    EventType,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
)
from housedesk.bootstrap import App
from housedesk.cli.operations import add_ops_commands
from presentation.reports.chart import render_chart, report_png
from presentation.reports.text import report_text
from presentation.reports.xlsx import export_xlsx
from tests.core import factories


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def _seed() -> None:
    """Seven tickets in November 2026 (and two outside it); the clock says 25 Nov 09:00."""
    oak = await factories.building("OAK")
    elm = await factories.building("ELM")
    technical = await factories.category("technical")
    emergency = await factories.category("emergency", emergency=True, priority=1)
    bob = await factories.person("Bob", Role.TECHNICIAN)
    olga = await factories.person("Olga", Role.TECHNICIAN)
    await factories.person("Idle Ian", Role.TECHNICIAN, buildings=[oak])

    async def ticket(
        created: datetime,
        status: Status,
        category: Category,
        building: Building | None,
        channel: Channel,
        assignee: Person | None,
        **times: Any,
    ) -> Ticket:
        return await Ticket.create(
            created_at=created,
            updated_at=created,
            status=status,
            category=category,
            building=building,
            channel=channel,
            assignee=assignee,
            title=f"Ticket of {created:%d %b %H:%M}",
            **times,
        )

    first = await ticket(
        at(2, 10), Status.DONE, technical, oak, Channel.CHAT, bob,
        response_due_at=at(2, 12), first_response_at=at(2, 10, 30),
        due_at=at(5, 10), resolved_at=at(3, 10), rating=5,
    )  # fmt: skip
    await ticket(
        at(3, 10), Status.CLOSED, emergency, oak, Channel.EMAIL, bob,
        response_due_at=at(3, 10, 30), first_response_at=at(3, 10, 20),
        due_at=at(3, 14), resolved_at=at(3, 16), closed_at=at(4, 9), rating=3,
    )  # fmt: skip
    await ticket(
        at(10, 8), Status.IN_PROGRESS, technical, elm, Channel.VOICEMAIL, olga,
        response_due_at=at(10, 12), first_response_at=at(10, 9), due_at=at(13, 8),
    )  # fmt: skip
    await ticket(
        at(20, 9), Status.NEW, technical, elm, Channel.CHAT, None,
        response_due_at=at(20, 13), due_at=at(27, 9),
    )  # fmt: skip
    await ticket(
        at(24, 9), Status.NEW, emergency, oak, Channel.PHONE, bob,
        response_due_at=at(26, 9), due_at=at(28, 9),
    )  # fmt: skip
    await ticket(
        at(15, 12), Status.REJECTED, technical, oak, Channel.EMAIL, olga,
        response_due_at=at(15, 16), due_at=at(18, 12),
    )  # fmt: skip
    await ticket(
        at(5, 9), Status.DONE, technical, None, Channel.EMAIL, olga,
        response_due_at=at(5, 13), due_at=at(8, 9), resolved_at=at(5, 11), rating=2,
    )  # fmt: skip
    await ticket(at(31, 23, month=10), Status.NEW, technical, oak, Channel.EMAIL, bob)
    await ticket(at(1, 0, month=12), Status.NEW, technical, oak, Channel.EMAIL, bob)
    await TicketEvent.create(
        ticket=first,
        type=EventType.CREATED,
        public=True,
        text='=HYPERLINK("http://x")',
        data={"channel": Channel.CHAT.value},
        at=at(2, 10),
    )
    await TicketEvent.create(
        ticket=first,
        type=EventType.STATUS_CHANGED,
        text="fixed",
        data={"from": "new", "to": "done"},
        at=at(3, 10),
    )


EXPECTED = {
    "total": 7,
    "by_status": {"closed": 1, "done": 2, "in_progress": 1, "new": 2, "rejected": 1},
    "by_category": {"emergency": 2, "technical": 5},
    "by_building": {"ELM": 2, "OAK": 4, "none": 1},
    "by_channel": {"chat": 2, "email": 3, "phone": 1, "voicemail": 1},
    # #3 is past its resolution deadline, #4 past its response deadline; #5 is not due yet
    "overdue": 2,
    # met: #1, #7 (the resolution counts as the response); missed: #2 (resolved late),
    # #3 (unresolved, due passed), #4 (no response, due passed); #5 undecided; #6 rejected
    "deadlines": {"met": 2, "missed": 3, "met_share": 0.4},
    # first responses 1200, 1800, 3600 s: median 1800; p90 at rank 1.8 = 1800 + 0.8 * 1800
    "first_response": {"count": 3, "median_s": 1800.0, "p90_s": 3240.0},
    # resolutions 7200, 21600, 86400 s: p90 = 21600 + 0.8 * 64800
    "resolution": {"count": 3, "median_s": 21600.0, "p90_s": 73440.0},
    "technicians": [
        {"name": "Bob", "open": 1, "done": 2, "average_rating": 4.0, "rated": 2},
        {"name": "Olga", "open": 1, "done": 1, "average_rating": 2.0, "rated": 1},
    ],
}


async def test_report_numbers_equal_the_hand_computed_ones(app: App) -> None:
    await _seed()
    reports = Reports(app.clock)
    for period in ("2026-11-01..2026-11-30", "month"):
        report = await reports.report(period)
        for tech in report["technicians"]:
            assert tech.pop("id") == (await Person.get(name=tech["name"])).id
        assert {k: report[k] for k in EXPECTED} == EXPECTED, period
        by_building = {
            b["code"]: {k: b[k] for k in ("total", "met", "missed", "met_share")}
            for b in report["buildings"]
        }
        assert by_building == {
            "ELM": {"total": 2, "met": 0, "missed": 2, "met_share": 0.0},
            "OAK": {"total": 4, "met": 1, "missed": 1, "met_share": 0.5},
            None: {"total": 1, "met": 1, "missed": 0, "met_share": 1.0},
        }
    assert report["period"] == {
        "name": "month",
        "from": "2026-11-01",
        "to": "2026-11-25",
        "timezone": "UTC",
    }


async def test_report_for_one_building(app: App) -> None:
    await _seed()
    report = await Reports(app.clock).report("2026-11-01..2026-11-30", "OAK")
    assert report["building"] == "OAK"
    assert (report["total"], report["by_building"], report["overdue"]) == (4, {"OAK": 4}, 0)
    assert report["deadlines"] == {"met": 1, "missed": 1, "met_share": 0.5}
    assert report["first_response"] == {"count": 2, "median_s": 1500.0, "p90_s": 1740.0}


async def test_an_empty_period_reports_zeros(app: App) -> None:
    await _seed()
    report = await Reports(app.clock).report("2025-01-01..2025-01-31")
    assert report["total"] == 0 and report["by_status"] == {} and report["technicians"] == []
    assert report["first_response"] == {"count": 0, "median_s": None, "p90_s": None}
    assert report["deadlines"]["met_share"] is None


async def test_report_text_in_english(app: App) -> None:
    await _seed()
    text = await report_text(Reports(app.clock), "2026-11-01..2026-11-30", language="en")
    assert text == "\n".join(
        [
            "Report for 2026-11-01 – 2026-11-30 (UTC)",
            "All buildings",
            "Tickets: 7",
            "By status: done 2, new 2, closed 1, in progress 1, rejected 1",
            "By category: Technical 5, Emergency 2",
            "By channel: email 3, Telegram 2, phone 1, voicemail 1",
            "By building: OAK 4, ELM 2, none 1",
            "Overdue now: 2",
            "Deadlines met: 40% (2 of 5)",
            "First response: median 30 min, 90% within 54 min",
            "Resolution: median 6 h 0 min, 90% within 20 h 24 min",
            "Technicians:",
            "  Bob: 1 open, 2 done, average rating 4.0",
            "  Olga: 1 open, 1 done, average rating 2.0",
        ]
    )


async def test_report_text_in_russian(app: App) -> None:
    await _seed()
    text = await report_text(Reports(app.clock), "2026-11-01..2026-11-30", "OAK", language="ru")
    lines = text.splitlines()
    assert lines[0] == "Отчёт за 2026-11-01 – 2026-11-30 (UTC)"
    assert lines[1] == "Дом: OAK"
    assert lines[2] == "Заявок: 4"
    assert "Просрочено сейчас: 0" in lines
    assert "Первый ответ: медиана 25 мин, 90% — в пределах 29 мин" in lines


async def test_report_chart_names_building_and_period(app: App) -> None:
    await _seed()
    png = await report_png(Reports(app.clock), "2026-11-01..2026-11-30", "OAK", language="ru")
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (1300, 480))
    assert image.info["Title"] == "OAK House (OAK): 2026-11-01 – 2026-11-30 (UTC)"
    everywhere = await report_png(Reports(app.clock), "2026-11-01..2026-11-30", language="en")
    assert Image.open(io.BytesIO(everywhere)).info["Title"] == (
        "All buildings: 2026-11-01 – 2026-11-30 (UTC)"
    )


async def test_report_chart_as_svg_keeps_its_words(app: App) -> None:
    await _seed()
    report = await Reports(app.clock).report("2026-11-01..2026-11-30")
    svg = render_chart(report, "en", "svg").decode()
    for words in (
        "All buildings: 2026-11-01 – 2026-11-30 (UTC)",
        "Deadlines met, %",
        "Response times, hours",
        "Technicians: tickets and average rating",
        "Bob",
        "★ 4.0",
        "1 / 2",  # OAK: 1 deadline met of 2 decided
    ):
        assert words in svg, words


def _sheet(workbook: Any, name: str) -> list[tuple[Any, ...]]:
    return list(workbook[name].iter_rows(values_only=True))


async def test_xlsx_holds_every_ticket_and_its_timeline(app: App) -> None:
    await _seed()
    await Building.filter(code="OAK").update(timezone="Europe/Warsaw")
    data = await export_xlsx(Reports(app.clock), "2026-11-01..2026-11-30", language="en")
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Summary", "Tickets", "Timeline"]
    tickets = _sheet(workbook, "Tickets")
    assert tickets[0][:9] == (
        "Ref", "Created", "Time zone", "Building", "Flat", "Category", "Channel", "Status",
        "Priority",
    )  # fmt: skip
    refs = [row[0] for row in tickets[1:]]
    in_period = await Ticket.filter(created_at__gte=at(1, 0), created_at__lt=at(1, 0, month=12))
    assert sorted(refs) == sorted(t.ref for t in in_period) and len(refs) == 7
    first = tickets[1]  # created 10:00 UTC, 11:00 in Warsaw
    assert first[:8] == (
        "#1", datetime(2026, 11, 2, 11, 0), "Europe/Warsaw", "OAK", None, "Technical",
        "Telegram", "done",
    )  # fmt: skip
    elm = next(row for row in tickets if row[3] == "ELM")
    assert (elm[1], elm[2], elm[7]) == (datetime(2026, 11, 10, 8, 0), "UTC", "in progress")
    sheet = workbook["Tickets"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:T8"
    assert sheet.column_dimensions["J"].width >= len("Ticket of 02 Nov 10:00")
    timeline = _sheet(workbook, "Timeline")
    assert timeline[0] == ("Ref", "At", "Time zone", "Event", "Who", "Seen by", "What happened")
    assert timeline[1][:6] == (
        "#1",
        datetime(2026, 11, 2, 11, 0),
        "Europe/Warsaw",
        "created",
        "System",
        "public",
    )
    assert timeline[1][6] == "System created the request (Telegram)"
    assert timeline[2][6] == "System changed the status from new to done: fixed"
    assert workbook["Timeline"].freeze_panes == "A2"


async def test_xlsx_timeline_says_who_assigned_whom_in_russian(app: App) -> None:
    await _seed()
    first = await Ticket.get(title="Ticket of 02 Nov 10:00")
    await TicketEvent.create(
        ticket=first, type=EventType.ASSIGNED, actor_label="Anna", at=at(2, 11),
        data={"from": "Olga", "to": "Bob", "to_id": 1},
    )  # fmt: skip
    await TicketEvent.create(
        ticket=first, type=EventType.INTERNAL_NOTE, actor_label="Anna", at=at(2, 12),
        text='<b>"=1+1"</b>',
    )  # fmt: skip
    data = await export_xlsx(Reports(app.clock), "2026-11-01..2026-11-30", language="ru")
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Сводка", "Заявки", "История"]
    said = [row[6] for row in _sheet(workbook, "История")[1:]]
    assert "Anna: исполнитель Olga → Bob" in said
    assert 'Anna: внутренняя заметка — <b>"=1+1"</b>' in said
    tickets = _sheet(workbook, "Заявки")
    assert tickets[0][7] == "Статус" and tickets[1][5:8] == ("technical", "Telegram", "выполнена")


async def test_xlsx_summary_sheet_has_the_monitors_figures(app: App) -> None:
    await _seed()
    data = await export_xlsx(Reports(app.clock), "2026-11-01..2026-11-30", language="en")
    rows = _sheet(load_workbook(io.BytesIO(data)), "Summary")
    figures = {row[0]: row[1] for row in rows if row and row[0] and len(row) > 1}
    assert figures["Open"] == 5 and figures["Overdue"] == 2 and figures["Unassigned"] == 1
    assert figures["Tickets created"] == 7 and figures["Deadlines met"] == "40%"
    assert figures["First response, median"] == "30 min"
    assert rows[0][0] == "Open tickets now"
    assert ("Olga", 1, 1, 0, 1, "2.0", 1) in rows


async def test_overdue_load_and_ratings_for_the_staff_bot(app: App) -> None:
    await _seed()
    reports = Reports(app.clock)
    overdue = await reports.overdue()
    assert [t.title for t in overdue] == ["Ticket of 10 Nov 08:00", "Ticket of 20 Nov 09:00"]
    assert await reports.load_per_technician() == [
        {"name": "Bob", "open": 3, "overdue": 0},
        {"name": "Idle Ian", "open": 0, "overdue": 0},
        {"name": "Olga", "open": 1, "overdue": 1},
    ]
    assert await reports.ratings("2026-11-01..2026-11-30") == [
        {"name": "Bob", "average_rating": 4.0, "rated": 2},
        {"name": "Olga", "average_rating": 2.0, "rated": 1},
    ]


def test_periods_are_cut_in_the_local_timezone() -> None:
    now = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)  # already the 26th in Moscow
    moscow = ZoneInfo("Europe/Moscow")
    today = parse_period("today", now, moscow)
    assert (today.start, today.end) == (
        datetime(2026, 11, 25, 21, 0, tzinfo=UTC),
        datetime(2026, 11, 26, 21, 0, tzinfo=UTC),
    )
    week = parse_period("week", now, moscow)
    assert (week.first_day.isoformat(), week.last_day.isoformat()) == ("2026-11-23", "2026-11-26")
    month = parse_period("Month", now, ZoneInfo("UTC"))
    assert month.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert month.end - month.start == timedelta(days=25)
    for bad in ("yesterday", "2026-11-30..2026-11-01", "2026-02-30..2026-03-01"):
        with pytest.raises(InvalidInput):
            parse_period(bad, now, moscow)


def test_percentile_interpolates_like_postgres() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 0.9) == pytest.approx(46.0)


async def test_cli_report_writes_json_xlsx_and_png(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _seed()
    parser = argparse.ArgumentParser()
    add_ops_commands(parser.add_subparsers(dest="command"))

    async def run(*argv: str) -> str:
        args = parser.parse_args(["report", *argv])
        assert await args.func(app, args) == 0
        return capsys.readouterr().out

    report = json.loads(await run("2026-11-01..2026-11-30", "--json"))
    assert report["total"] == 7 and report["overdue"] == 2
    # the documented JSON names the chat channel "telegram"
    assert report["by_channel"] == {"email": 3, "phone": 1, "telegram": 2, "voicemail": 1}
    assert (await run("month", "--xlsx", str(tmp_path / "m.xlsx"))).strip().startswith("wrote")
    assert load_workbook(tmp_path / "m.xlsx")["Tickets"].max_row == 8
    await run("week", "--building", "OAK", "--png", str(tmp_path / "w.png"))
    assert (tmp_path / "w.png").read_bytes().startswith(b"\x89PNG")
    assert (await run("today")).startswith("Report for 2026-11-25 – 2026-11-25 (UTC)")
    with pytest.raises(SystemExit):
        parser.parse_args(["report", "month", "--json", "--png", "x.png"])
