"""The incident's card at the staff bot says how many residents it affects, and stays current.

Staff work an incident as one ticket, so its assignment card is the incident's card. When a
resident joins (or is taken off), the card's last line, "👥 12 residents affected", is
rewritten: on the card itself while it waits in the outbox, else by an edit of the sent card
through the outbox. Edits are sparing: at most one every :data:`EDIT_EVERY` per card, and
one waiting edit takes the newest count instead of a second edit being queued, so a hundred
residents joining within a minute make two or three edits, not a hundred messages.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

from tortoise.expressions import Q

from core.directory.lookup import contact_of
from core.i18n import ngettext
from core.messaging.message import OutgoingMessage
from core.messaging.notifications import work_chat_of
from core.messaging.routes import Priority, Route
from core.messaging.wakeup import announce
from core.storage.fit import fitted_key
from core.storage.models import (
    ContactKind,
    EventType,
    Incident,
    IncidentLink,
    LinkStatus,
    OutboxMessage,
    OutboxStatus,
    Status,
    Ticket,
    TicketEvent,
)
from core.storage.rows import insert
from core.tickets.cards import assignment_actions

EDIT_EVERY = timedelta(seconds=30)
"""The least time between two edits of one card."""
COUNT_MARK = "\n\n👥 "
"""Where the count begins on a card (nothing else on a card contains it)."""
_ACCEPTED = frozenset({Status.IN_PROGRESS, Status.ON_HOLD})
"""Statuses whose card shows the buttons of accepted work (as the staff bot leaves them)."""
_LOOK_BACK = 10
"""Assignment events looked at for the card (accepting is one too)."""


def affected_line(count: int, language: str | None) -> str:
    """``👥 12 residents affected`` in the reader's language."""
    return COUNT_MARK.lstrip("\n") + ngettext(
        language, "{n} resident affected", "{n} residents affected", count
    )


def with_count(card_text: str, count: int, language: str | None) -> str:
    """The card's text with its count line replaced (or added)."""
    return card_text.split(COUNT_MARK, 1)[0] + "\n\n" + affected_line(count, language)


async def refresh_card(incident: Incident, now: datetime, max_attempts: int = 8) -> None:
    """Bring the count on the incident's newest card up to date (see the module's text).
    Call it in the transaction of the change."""
    ticket_id = incident.ticket_id  # type: ignore[attr-defined]
    if ticket_id is None:
        return
    ticket = await Ticket.get(id=ticket_id).select_related("assignee", "category")
    card = await _newest_card(ticket)
    if card is None or card.status == OutboxStatus.FAILED or ticket.assignee is None:
        return
    language = ticket.assignee.language
    # One change at a time per card (PostgreSQL): counted after the one before committed,
    # so the last edit has the last count.
    await OutboxMessage.filter(id=card.id).select_for_update().first()
    count = await IncidentLink.filter(incident_id=incident.id, status=LinkStatus.LINKED).count()
    shown = OutgoingMessage.from_payload(card.payload)
    text = with_count(shown.text, count, language)
    if await _rewrite(card, dataclasses.replace(shown, text=text), now):
        return  # not sent yet: the card goes out with the count
    edit = OutgoingMessage(
        text,
        actions=assignment_actions(ticket.id, language, accepted=ticket.status in _ACCEPTED),
        language=language,
        edits=card.id,
    )
    prefix = f"incident-card:{card.id}:"
    edits = await OutboxMessage.filter(
        channel=card.channel, recipient=card.recipient, idempotency_key__startswith=prefix
    ).order_by("-id")
    waiting = next((e for e in edits if e.status == OutboxStatus.PENDING), None)
    if waiting is not None and await _rewrite(waiting, edit, now):
        return
    due = max(now, edits[0].next_attempt_at + EDIT_EVERY) if edits else now
    await insert(
        OutboxMessage,
        channel=card.channel,
        recipient=card.recipient,
        payload=edit.to_payload(),
        idempotency_key=fitted_key(OutboxMessage, "idempotency_key", prefix + uuid.uuid4().hex),
        next_attempt_at=due,
        max_attempts=max_attempts,
        priority=int(Priority.BULK),  # behind the card and anything else for that chat
        created_at=now,
    )
    await announce(card.channel)


async def _newest_card(ticket: Ticket) -> OutboxMessage | None:
    """The card of the ticket's latest assignment to its assignee, found by the outbox key
    the assignment wrote it under (its event and chat)."""
    assignee = ticket.assignee
    if assignee is None:
        return None
    group = await work_chat_of(ticket)
    chat = str(group.chat_id) if group else await contact_of(assignee, ContactKind.CHAT)
    if chat is None:
        return None
    recipient = chat if isinstance(chat, str) else chat.value
    events = TicketEvent.filter(ticket_id=ticket.id, type=EventType.ASSIGNED).order_by("-at", "-id")
    async for event in events.limit(_LOOK_BACK):
        if event.data.get("to_id") != assignee.id or event.data.get("accepted"):
            continue
        key = f"event:{event.id}:{Route.STAFF_CHAT}:{recipient}"
        return await OutboxMessage.get_or_none(
            idempotency_key=fitted_key(OutboxMessage, "idempotency_key", key)
        )
    return None


async def _rewrite(row: OutboxMessage, message: OutgoingMessage, now: datetime) -> bool:
    """Put ``message`` in ``row`` if it is still waiting and nobody is sending it."""
    idle = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    changed = await OutboxMessage.filter(idle, id=row.id, status=OutboxStatus.PENDING).update(
        payload=message.to_payload()
    )
    return bool(changed)
