"""Tickets as chat text, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.i18n import N_, gettext
from core.storage.models import Building, EventType, Status, Ticket
from core.tickets.cards import deadline_lines, local_time
from core.tickets.queries import TicketDetail
from core.tickets.workflow import OPEN_STATUSES, status_name
from presentation.timeline import KIND_NAMES, actor_name, event_said, kind_name
from presentation.views import ticket_detail

CHAT_HISTORY = frozenset(KIND_NAMES) - {EventType.NOTIFICATION_SENT}
"""Timeline rows worth showing in a chat (``notification_sent`` is left out)."""
HISTORY_ROWS = 8
VERIFIED = N_("✅ Verified: the resident's flat is confirmed.")
NOT_VERIFIED = N_("⚠️ Not verified: the resident's flat is not confirmed.")


def ticket_line(ticket: Ticket, lang: str) -> str:
    """``#12 · in progress · Water through the ceiling``."""
    return f"{ticket.ref} · {status_name(ticket.status, lang)} · {ticket.title}"


def ticket_text(found: TicketDetail, building: Building | None, lang: str) -> str:
    """A ticket with its place, people and latest history (from ``TicketService.detail``)."""
    detail = ticket_detail(found)
    status = status_name(Status(detail["status"]), lang)
    lines = [f"{detail['ref']} · {status} · {detail['title']}"]
    if building is not None:
        place = building.name
        if detail["unit"]:
            place += ", " + gettext(lang, N_("flat {unit}"), unit=detail["unit"])
        lines.append(place)
    if detail["description"]:
        lines.append(detail["description"])
    if detail["requester"]:
        lines.append(gettext(lang, N_("Resident: {name}"), name=detail["requester"]))
        lines.append(gettext(lang, VERIFIED if detail["verified"] else NOT_VERIFIED))
    if detail["assignee"]:
        lines.append(gettext(lang, N_("Assigned to: {name}"), name=detail["assignee"]))
    if found.ticket.status in OPEN_STATUSES:
        lines += deadline_lines(found.ticket, lang)
    if detail["attachments"]:
        lines.append(gettext(lang, N_("Files: {count}"), count=len(detail["attachments"])))
    history = [e for e in detail["events"] if EventType(e["type"]) in CHAT_HISTORY]
    if history:
        lines.append("")
        lines.append(gettext(lang, N_("History:")))
        for event in history[-HISTORY_ROWS:]:
            when = local_time(datetime.fromisoformat(event["at"]), building, lang)
            kind = _event_name(event, lang)
            said = event_said(event["type"], event["text"], event["data"], lang)
            text = f": {said}" if said else ""
            lines.append(f"{when} · {kind} · {actor_name(event['actor'], lang)}{text}")
    return "\n".join(lines)


def _event_name(event: Mapping[str, Any], lang: str) -> str:
    kind = EventType(event["type"])
    if kind == EventType.STATUS_CHANGED and "to" in event["data"]:
        return status_name(Status(event["data"]["to"]), lang)
    if kind == EventType.RATING and "rating" in event["data"]:
        return gettext(lang, N_("rating {score}/5"), score=event["data"]["rating"])
    return kind_name(kind, lang)
