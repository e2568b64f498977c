"""Stable, documented JSON shapes of tickets and reports (CLI ``--json``, HTTP, exports).

Channels are named as documented (``telegram`` for the chat channel, see
:mod:`presentation.channels`), whatever core calls them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.storage.models import Attachment, Ticket, TicketEvent
from core.tickets.listing import TicketLine
from core.tickets.queries import TicketDetail
from presentation.channels import channel_word, documented_data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """A ticket in lists; expects ``building, unit, category, requester, assignee`` fetched."""
    return line_summary(TicketLine.of(ticket))


def line_summary(line: TicketLine) -> dict[str, Any]:
    """A ticket in lists, from the line a listing read."""
    return {
        "ref": line.ref,
        "id": line.id,
        "title": line.title,
        "status": line.status.value,
        "category": line.category,
        "priority": line.priority,
        "building": line.building,
        "unit": line.unit,
        "channel": channel_word(line.channel),
        "requester": line.requester,
        "assignee": line.assignee,
        "verified": line.verified,
        "created_at": _iso(line.created_at),
        "response_due_at": _iso(line.response_due_at),
        "due_at": _iso(line.due_at),
        "first_response_at": _iso(line.first_response_at),
        "resolved_at": _iso(line.resolved_at),
        "rating": line.rating,
    }


def event_view(event: TicketEvent) -> dict[str, Any]:
    """One timeline row."""
    return {
        "type": event.type.value,
        "public": event.public,
        "text": event.text,
        "actor": event.actor_label,
        "at": _iso(event.at),
        "data": documented_data(event.data),
    }


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    """One attachment's metadata (the bytes live in the blob store)."""
    return {
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def ticket_detail(detail: TicketDetail) -> dict[str, Any]:
    """A ticket with its description, attachments and timeline."""
    ticket = detail.ticket
    view = ticket_summary(ticket)
    view["description"] = ticket.description
    view["needs_attention"] = ticket.needs_attention
    view["linked_to"] = f"#{ticket.linked_to_id}" if ticket.linked_to_id else None  # type: ignore[attr-defined]
    view["attachments"] = [attachment_view(a) for a in detail.attachments]
    view["events"] = [event_view(e) for e in detail.events]
    return view


def report_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """A report of :meth:`core.reports.figures.Reports.report`, its channels as documented."""
    view = dict(report)
    view["by_channel"] = {channel_word(c): n for c, n in report["by_channel"].items()}
    return view
