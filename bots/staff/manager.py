"""Manager and dispatcher commands: /report, /overdue, /load, /ratings, /export, /announce."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bots.callbacks import AnnouncementChoice
from bots.context import IsStaff
from bots.lazy_import import imported
from bots.staff import announcing
from core.i18n import N_, gettext, ngettext
from core.reports.figures import Reports
from core.storage.models import Person
from core.tickets.access import SEES_ALL, require_role
from core.tickets.cards import local_time
from presentation.reports.text import report_text

PERIODS = ("today", "week", "month")
NOTHING = N_("Nothing to show.")


def period_and_building(command: CommandObject, default: str) -> tuple[str, str | None]:
    """``/report [today|week|month|FROM..TO] [BUILDING]`` in either order."""
    period, building = default, None
    for word in (command.args or "").split():
        if word.lower() in PERIODS or ".." in word:
            period = word.lower()
        else:
            building = word
    return period, building


async def report(
    message: Message, command: CommandObject, staff: Person, lang: str, reports: Reports
) -> None:
    require_role(staff, SEES_ALL)
    period, building = period_and_building(command, "today")
    await message.answer(await report_text(reports, period, building, lang))
    charts = await imported("presentation.reports.chart")  # matplotlib: off the loop, once
    chart = await charts.report_png(reports, period, building, lang)
    await message.answer_photo(BufferedInputFile(chart, f"report-{period}.png"))


async def overdue(
    message: Message, command: CommandObject, staff: Person, lang: str, reports: Reports
) -> None:
    require_role(staff, SEES_ALL)
    late = await reports.overdue((command.args or "").strip() or None)
    lines = [
        f"{t.ref} · {t.title} · {t.assignee.name if t.assignee else '—'} · "
        f"{local_time(t.due_at, t.building, lang)}"
        for t in late
        if t.due_at
    ]
    header = gettext(lang, N_("Overdue tickets: {count}"), count=len(lines))
    await message.answer("\n".join([header, *lines]))


async def load(
    message: Message, command: CommandObject, staff: Person, lang: str, reports: Reports
) -> None:
    require_role(staff, SEES_ALL)
    rows = await reports.load_per_technician((command.args or "").strip() or None)
    lines = [load_line(row, lang) for row in rows]
    await message.answer("\n".join(lines) or gettext(lang, NOTHING))


def load_line(row: dict[str, Any], lang: str) -> str:
    """``Bob Plumber: 3 open tickets, 1 overdue``, each count in the plural form ``lang``
    gives it."""
    return gettext(
        lang,
        N_("{name}: {open}, {overdue}"),
        name=row["name"],
        open=ngettext(lang, "{n} open ticket", "{n} open tickets", row["open"]),
        overdue=ngettext(lang, "{n} overdue", "{n} overdue", row["overdue"]),
    )


async def ratings(
    message: Message, command: CommandObject, staff: Person, lang: str, reports: Reports
) -> None:
    require_role(staff, SEES_ALL)
    period, building = period_and_building(command, "month")
    rows = await reports.ratings(period, building)
    lines = [
        ngettext(
            lang,
            "{name}: {rating} from {n} rating",
            "{name}: {rating} from {n} ratings",
            row["rated"],
            name=row["name"],
            rating=format(row["average_rating"], ".1f"),
        )
        for row in rows
    ]
    await message.answer("\n".join(lines) or gettext(lang, NOTHING))


async def export(
    message: Message, command: CommandObject, staff: Person, lang: str, reports: Reports
) -> None:
    require_role(staff, SEES_ALL)
    period, building = period_and_building(command, "month")
    sheets = await imported("presentation.reports.xlsx")  # openpyxl: off the loop, once
    workbook = await sheets.export_xlsx(reports, period, building, lang)
    name = f"tickets-{period.replace('..', '_')}.xlsx"
    await message.answer_document(BufferedInputFile(workbook, name))


def router() -> Router:
    """Reports, exports and announcements for managers, dispatchers and admins."""
    manager = Router(name="staff-manager")
    manager.message.filter(IsStaff())
    manager.message.register(report, Command("report"))
    manager.message.register(overdue, Command("overdue"))
    manager.message.register(load, Command("load"))
    manager.message.register(ratings, Command("ratings"))
    manager.message.register(export, Command("export"))
    manager.message.register(announcing.announce, Command("announce"))
    manager.callback_query.register(announcing.decided, AnnouncementChoice.filter(), IsStaff())
    return manager
