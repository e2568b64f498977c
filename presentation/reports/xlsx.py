"""Tickets of a period with their whole timeline, as an Excel workbook (openpyxl)."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.figures import EVENT_FIELDS, TICKET_FIELDS, Export, Reports
from presentation.channels import channel_word, documented_data

TICKET_TITLES = {
    "id": "Ref",
    "created_at": "Created",
    "building__code": "Building",
    "unit__number": "Unit",
    "category__code": "Category",
    "channel": "Channel",
    "status": "Status",
    "priority": "Priority",
    "title": "Title",
    "requester__name": "Requester",
    "assignee__name": "Assignee",
    "response_due_at": "Response due",
    "first_response_at": "First response",
    "due_at": "Due",
    "resolved_at": "Resolved",
    "closed_at": "Closed",
    "rating": "Rating",
    "rating_comment": "Rating comment",
    "description": "Description",
}
EVENT_TITLES = {
    "ticket_id": "Ref",
    "at": "At",
    "type": "Type",
    "public": "Public",
    "actor_label": "Actor",
    "text": "Text",
    "data": "Data",
}


def _cell(sheet: WriteOnlyWorksheet, value: Any, tz: ZoneInfo) -> WriteOnlyCell:
    if isinstance(value, datetime):
        return WriteOnlyCell(sheet, value=value.astimezone(tz).replace(tzinfo=None))
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, str):
        return WriteOnlyCell(sheet, value=value)
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # text from residents is never a formula
    return cell


def _header(fields: tuple[str, ...], titles: dict[str, str], timezone: str) -> list[str]:
    """Column titles; times say their zone."""
    return [
        f"{titles[key]} ({timezone})" if key == "at" or key.endswith("_at") else titles[key]
        for key in fields
    ]


def _row(sheet: WriteOnlyWorksheet, values: list[Any], tz: ZoneInfo) -> list[WriteOnlyCell]:
    return [_cell(sheet, v, tz) for v in values]


async def export_xlsx(
    reports: Reports, period: str = "month", building: str | None = None
) -> bytes:
    """Every ticket of the period with its timeline, as an XLSX workbook."""
    export = await reports.export(period, building)
    return await asyncio.to_thread(render_xlsx, export)  # off the loop


def render_xlsx(export: Export) -> bytes:
    """A workbook with a ``Tickets`` sheet and a ``Timeline`` sheet, times in the period's zone."""
    tz = ZoneInfo(export.period.timezone)
    workbook = Workbook(write_only=True)
    tickets = workbook.create_sheet("Tickets")
    tickets.append(_header(TICKET_FIELDS, TICKET_TITLES, export.period.timezone))
    for row in export.tickets:
        values = [row[k] for k in TICKET_FIELDS]
        values[0] = f"#{values[0]}"
        values[TICKET_FIELDS.index("channel")] = channel_word(row["channel"])
        tickets.append(_row(tickets, values, tz))
    timeline = workbook.create_sheet("Timeline")
    timeline.append(_header(EVENT_FIELDS, EVENT_TITLES, export.period.timezone))
    for event in export.events:
        values = [event[k] for k in EVENT_FIELDS]
        values[0] = f"#{values[0]}"
        values[EVENT_FIELDS.index("data")] = documented_data(event["data"])
        timeline.append(_row(timeline, values, tz))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
