"""A period's tickets, their timelines and the monitor's figures as an Excel workbook.

Three sheets, in the reader's language: ``Summary`` (the monitor's tables), ``Tickets`` and
``Timeline``. Each list has a frozen header row with filters and columns as wide as their
contents; times are in each ticket's building's time zone (named in a column), and
statuses, categories, channels and events are words, not codes.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.i18n import N_, gettext
from core.reports.figures import Export, Reports
from core.storage.models import Status
from core.tickets.workflow import status_name
from presentation.reports.summary import Table, summary_tables
from presentation.reports.text import channel_name
from presentation.timeline import actor_name, event_sentence, kind_name

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
WIDEST = 60
"""Characters a column grows to at most; longer texts wrap in the cell when opened."""
SAMPLE_ROWS = 2000
"""Rows read to size the columns."""
BOLD = Font(bold=True)

Row = list[Any]
Column = tuple[str, Callable[[Mapping[str, Any]], Any]]
"""A column: its title (a msgid) and how a row gives its value."""


async def export_xlsx(
    reports: Reports,
    period: str = "month",
    building: str | None = None,
    language: str | None = None,
) -> bytes:
    """Every ticket of the period with its timeline and the figures, as an XLSX workbook."""
    export = await reports.export(period, building)
    names = await reports.category_names(language)
    return await asyncio.to_thread(render_xlsx, export, language, names)  # off the loop


def render_xlsx(export: Export, language: str | None, category_names: Mapping[str, str]) -> bytes:
    """The workbook's bytes."""
    default_zone = export.period.timezone
    zones = {row["id"]: row["building__timezone"] or default_zone for row in export.tickets}
    workbook = Workbook(write_only=True)
    _summary(workbook, summary_tables(export.figures, language, category_names), language)
    _list(
        workbook,
        gettext(language, N_("Tickets")),
        _ticket_columns(language, category_names),
        export.tickets,
        lambda row: zones[row["id"]],
        language,
    )
    _list(
        workbook,
        gettext(language, N_("Timeline")),
        _event_columns(language),
        export.events,
        lambda row: zones.get(row["ticket_id"], default_zone),
        language,
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _ticket_columns(language: str | None, categories: Mapping[str, str]) -> list[Column]:
    def status(row: Mapping[str, Any]) -> str:
        return status_name(Status(row["status"]), language)

    return [
        (N_("Ref"), lambda row: f"#{row['id']}"),
        (N_("Created"), lambda row: row["created_at"]),
        (N_("Time zone"), lambda row: None),  # filled in by _list
        (N_("Building"), lambda row: row["building__code"]),
        (N_("Flat"), lambda row: row["unit__number"]),
        (N_("Category"), lambda row: categories.get(row["category__code"], row["category__code"])),
        (N_("Channel"), lambda row: channel_name(row["channel"], language)),
        (N_("Status"), status),
        (N_("Priority"), lambda row: row["priority"]),
        (N_("Title"), lambda row: row["title"]),
        (N_("Resident"), lambda row: row["requester__name"]),
        (N_("Assignee"), lambda row: row["assignee__name"]),
        (N_("Response due"), lambda row: row["response_due_at"]),
        (N_("First response"), lambda row: row["first_response_at"]),
        (N_("Due"), lambda row: row["due_at"]),
        (N_("Resolved"), lambda row: row["resolved_at"]),
        (N_("Closed"), lambda row: row["closed_at"]),
        (N_("Rating"), lambda row: row["rating"]),
        (N_("Rating comment"), lambda row: row["rating_comment"]),
        (N_("Description"), lambda row: row["description"]),
    ]


def _event_columns(language: str | None) -> list[Column]:
    def visibility(row: Mapping[str, Any]) -> str:
        return gettext(language, N_("public") if row["public"] else N_("internal"))

    def sentence(row: Mapping[str, Any]) -> str:
        return event_sentence(row["type"], row["actor_label"], row["text"], row["data"], language)

    return [
        (N_("Ref"), lambda row: f"#{row['ticket_id']}"),
        (N_("At"), lambda row: row["at"]),
        (N_("Time zone"), lambda row: None),
        (N_("Event"), lambda row: kind_name(row["type"], language)),
        (N_("Who"), lambda row: actor_name(row["actor_label"], language)),
        (N_("Seen by"), visibility),
        (N_("What happened"), sentence),
    ]


def _list(
    workbook: Workbook,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Mapping[str, Any]],
    zone_of: Callable[[Mapping[str, Any]], str],
    language: str | None,
) -> None:
    """A sheet with a header row, frozen and filtered, then one row per item."""
    sheet = workbook.create_sheet(title)
    header = [gettext(language, name) for name, _ in columns]
    zone_column = [name for name, _ in columns].index(N_("Time zone"))
    values: list[Row] = []
    for row in rows:
        zone = zone_of(row)
        line = [_local(get(row), zone) for _, get in columns]
        line[zone_column] = zone
        values.append(line)
    _size_columns(sheet, [header, *values[:SAMPLE_ROWS]])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(values) + 1}"
    sheet.append([_cell(sheet, name, bold=True) for name in header])
    for line in values:
        sheet.append([_cell(sheet, value) for value in line])


def _summary(workbook: Workbook, tables: Sequence[Table], language: str | None) -> None:
    """The monitor's tables one under another, each under its bold title."""
    sheet = workbook.create_sheet(gettext(language, N_("Summary")))
    sized: list[Row] = []  # by the tables, not their titles, which may run across
    for table in tables:
        sized += [list(table.columns), *[[cell.value for cell in row] for row in table.rows]]
    _size_columns(sheet, sized)
    for table in tables:
        sheet.append([_cell(sheet, table.title, bold=True)])
        sheet.append([_cell(sheet, name, bold=True) for name in table.columns])
        for row in table.rows:
            sheet.append([_cell(sheet, cell.value) for cell in row])
        sheet.append([])


def _local(value: Any, zone: str) -> Any:
    """A time as the building's wall clock (Excel has no time zones)."""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return value


def _size_columns(sheet: WriteOnlyWorksheet, lines: Sequence[Row]) -> None:
    widths: dict[int, int] = {}
    for line in lines:
        for index, value in enumerate(line, start=1):
            shown = len(DATETIME_FORMAT) if isinstance(value, datetime) else len(str(value or ""))
            widths[index] = max(widths.get(index, 0), min(shown, WIDEST))
    for index, width in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = width + 2


def _cell(sheet: WriteOnlyWorksheet, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"  # text from residents is never a formula
    else:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
    if bold:
        cell.font = BOLD
    return cell
