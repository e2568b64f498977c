"""Stable, documented JSON shapes of tickets (CLI ``--json``, HTTP, exports)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.storage.models import Attachment, Ticket, TicketEvent


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def ticket_summary(ticket: Ticket) -> dict[str, Any]:
    """A ticket in lists; expects ``building, unit, category, requester, assignee`` fetched."""
    return {
        "ref": ticket.ref,
        "id": ticket.id,
        "title": ticket.title,
        "status": ticket.status.value,
        "category": ticket.category.code,
        "priority": ticket.priority,
        "building": ticket.building.code if ticket.building else None,
        "unit": ticket.unit.number if ticket.unit else None,
        "channel": ticket.channel.value,
        "requester": ticket.requester.name if ticket.requester else None,
        "assignee": ticket.assignee.name if ticket.assignee else None,
        "verified": ticket.verified,
        "created_at": _iso(ticket.created_at),
        "response_due_at": _iso(ticket.response_due_at),
        "due_at": _iso(ticket.due_at),
        "first_response_at": _iso(ticket.first_response_at),
        "resolved_at": _iso(ticket.resolved_at),
        "rating": ticket.rating,
    }


def event_view(event: TicketEvent) -> dict[str, Any]:
    """One timeline row."""
    return {
        "type": event.type.value,
        "public": event.public,
        "text": event.text,
        "actor": event.actor_label,
        "at": _iso(event.at),
        "data": event.data,
    }


def attachment_view(attachment: Attachment) -> dict[str, Any]:
    """One attachment's metadata (the bytes live in the blob store)."""
    return {
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def ticket_detail(
    ticket: Ticket, events: list[TicketEvent], attachments: list[Attachment]
) -> dict[str, Any]:
    """A ticket with its description, attachments and timeline."""
    view = ticket_summary(ticket)
    view["description"] = ticket.description
    view["needs_attention"] = ticket.needs_attention
    view["linked_to"] = f"#{ticket.linked_to_id}" if ticket.linked_to_id else None  # type: ignore[attr-defined]
    view["attachments"] = [attachment_view(a) for a in attachments]
    view["events"] = [event_view(e) for e in events]
    return view
