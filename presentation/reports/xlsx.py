"""Tickets of a period with their whole timeline, as an Excel workbook (openpyxl)."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core.reports.figures import Period
from core.storage.models import Building, Ticket, TicketEvent

TICKET_COLUMNS = (
    ("Ref", "id"),
    ("Created", "created_at"),
    ("Building", "building__code"),
    ("Unit", "unit__number"),
    ("Category", "category__code"),
    ("Channel", "channel"),
    ("Status", "status"),
    ("Priority", "priority"),
    ("Title", "title"),
    ("Requester", "requester__name"),
    ("Assignee", "assignee__name"),
    ("Response due", "response_due_at"),
    ("First response", "first_response_at"),
    ("Due", "due_at"),
    ("Resolved", "resolved_at"),
    ("Closed", "closed_at"),
    ("Rating", "rating"),
    ("Rating comment", "rating_comment"),
    ("Description", "description"),
)
EVENT_COLUMNS = (
    ("Ref", "ticket_id"),
    ("At", "at"),
    ("Type", "type"),
    ("Public", "public"),
    ("Actor", "actor_label"),
    ("Text", "text"),
    ("Data", "data"),
)


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


def _header(columns: tuple[tuple[str, str], ...], timezone: str) -> list[str]:
    """Column titles; times say their zone."""
    return [
        f"{title} ({timezone})" if key == "at" or key.endswith("_at") else title
        for title, key in columns
    ]


def _row(sheet: WriteOnlyWorksheet, values: list[Any], tz: ZoneInfo) -> list[WriteOnlyCell]:
    return [_cell(sheet, v, tz) for v in values]


async def export_xlsx(period: Period, building: Building | None) -> bytes:
    """A workbook with a ``Tickets`` sheet and a ``Timeline`` sheet, times in the period's zone."""
    tz = ZoneInfo(period.timezone)
    window: dict[str, Any] = {"created_at__gte": period.start, "created_at__lt": period.end}
    if building is not None:
        window["building_id"] = building.id
    workbook = Workbook(write_only=True)
    tickets = workbook.create_sheet("Tickets")
    tickets.append(_header(TICKET_COLUMNS, period.timezone))
    rows = await Ticket.filter(**window).order_by("id").values(*(k for _, k in TICKET_COLUMNS))
    for row in rows:
        values = [row[k] for _, k in TICKET_COLUMNS]
        values[0] = f"#{values[0]}"
        tickets.append(_row(tickets, values, tz))
    timeline = workbook.create_sheet("Timeline")
    timeline.append(_header(EVENT_COLUMNS, period.timezone))
    events = (
        await TicketEvent.filter(**{f"ticket__{k}": v for k, v in window.items()})
        .order_by("ticket_id", "at", "id")
        .values(*(k for _, k in EVENT_COLUMNS))
    )
    for event in events:
        values = [event[k] for _, k in EVENT_COLUMNS]
        values[0] = f"#{values[0]}"
        timeline.append(_row(timeline, values, tz))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
