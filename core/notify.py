"""Turn ticket changes into outbox rows for the requester and for staff.

Every row is written inside the caller's transaction. The requester is reached on the
channel the ticket came from when possible (Telegram chat, email thread), else on any
contact they have; staff are reached through the staff bot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.clock import Clock
from core.directory import contact_of
from core.models import (
    Attachment,
    Channel,
    Contact,
    ContactKind,
    MessageRef,
    Person,
    Ticket,
    TicketEvent,
)
from core.outbox import enqueue

EMAIL = "email"
TELEGRAM_RESIDENT = "telegram_resident"
TELEGRAM_STAFF = "telegram_staff"


@dataclass(frozen=True)
class NotifySettings:
    """What outgoing messages need to know about this installation."""

    help_address: str = "help@housedesk.localhost"
    max_attempts: int = 8

    @property
    def mail_domain(self) -> str:
        """The domain used in Message-IDs housedesk generates."""
        return self.help_address.rpartition("@")[2] or "housedesk.localhost"


def ticket_button(label: str, action: str, ticket_id: int) -> dict[str, str]:
    """An inline button whose data the staff bot's ``TicketAction`` callback unpacks."""
    return {"text": label, "callback_data": f"tk:{action}:{ticket_id}"}


class Notifier:
    """Writes the outbox rows that tell people about a ticket change."""

    def __init__(self, settings: NotifySettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def new_message_id(self, ticket: Ticket) -> str:
        """A fresh RFC 5322 Message-ID naming the ticket."""
        return f"<hd-{ticket.id}-{uuid.uuid4().hex[:16]}@{self.settings.mail_domain}>"

    async def to_requester(
        self,
        ticket: Ticket,
        requester: Person | None,
        event: TicketEvent,
        text: str,
        *,
        files: Sequence[Attachment] = (),
        auto_reply: bool = False,
        contacts: Sequence[Contact] | None = None,
    ) -> bool:
        """Tell the ticket's requester ``text``; False when they cannot be reached.

        ``contacts`` are the requester's contacts when the caller has them already.
        """
        if requester is None:
            return False
        if contacts is None:
            contacts = await Contact.filter(person_id=requester.id).order_by("id")
        usable = [c for c in contacts if not c.blocked]
        first = {kind: next((c for c in usable if c.kind == kind), None) for kind in ContactKind}
        telegram, email = first[ContactKind.TELEGRAM], first[ContactKind.EMAIL]
        prefer_email = ticket.channel == Channel.EMAIL
        order: list[Contact | None] = [email, telegram] if prefer_email else [telegram, email]
        contact = next((c for c in order if c is not None), None)
        if contact is None:
            return False
        if contact.kind == ContactKind.EMAIL:
            await self._email(ticket, event, contact.value, text, files, auto_reply)
        else:
            await self._telegram(TELEGRAM_RESIDENT, ticket, event, contact.value, text, files)
        return True

    async def to_staff(
        self,
        person: Person,
        ticket: Ticket,
        event: TicketEvent,
        text: str,
        *,
        buttons: Sequence[Sequence[dict[str, str]]] = (),
        files: Sequence[Attachment] = (),
    ) -> bool:
        """Send ``text`` to a member of staff through the staff bot."""
        telegram = await contact_of(person, ContactKind.TELEGRAM)
        if telegram is None or telegram.blocked:
            return False
        await self._telegram(
            TELEGRAM_STAFF, ticket, event, telegram.value, text, files, buttons=buttons
        )
        return True

    async def _telegram(
        self,
        channel: str,
        ticket: Ticket,
        event: TicketEvent,
        chat_id: str,
        text: str,
        files: Sequence[Attachment],
        *,
        buttons: Sequence[Sequence[dict[str, str]]] = (),
    ) -> None:
        payload: dict[str, Any] = {"method": "sendMessage", "text": text}
        if files:
            payload = {
                "method": "sendPhoto" if _all_images(files) else "sendDocument",
                "caption": text,
                "text": text,
                "files": [_file(a) for a in files],
            }
        if buttons:
            payload["reply_markup"] = {"inline_keyboard": [list(row) for row in buttons]}
        await enqueue(
            channel=channel,
            recipient=chat_id,
            payload=payload,
            key=f"event:{event.id}:{channel}:{chat_id}",
            now=self.clock.now(),
            ticket=ticket,
            max_attempts=self.settings.max_attempts,
        )

    async def _email(
        self,
        ticket: Ticket,
        event: TicketEvent,
        address: str,
        text: str,
        files: Sequence[Attachment],
        auto_reply: bool,
    ) -> None:
        now = self.clock.now()
        refs = await MessageRef.filter(ticket=ticket, channel=EMAIL).order_by("id")
        inbound = [r for r in refs if r.inbound]
        message_id = self.new_message_id(ticket)
        payload: dict[str, Any] = {
            "to": address,
            "subject": f"[{ticket.ref}] {ticket.title}",
            "text": text,
            "message_id": message_id,
            "in_reply_to": inbound[-1].external_id if inbound else None,
            "references": [r.external_id for r in refs][-20:],
            "auto_submitted": "auto-replied" if auto_reply else None,
            "attachments": [_file(a) for a in files],
            "language": ticket.language,
        }
        await MessageRef.create(
            channel=EMAIL, external_id=message_id, inbound=False, ticket=ticket, created_at=now
        )
        await enqueue(
            channel=EMAIL,
            recipient=address,
            payload=payload,
            key=f"event:{event.id}:{EMAIL}:{address}",
            now=now,
            ticket=ticket,
            max_attempts=self.settings.max_attempts,
        )


def _file(attachment: Attachment) -> dict[str, str]:
    return {
        "sha256": attachment.sha256,
        "filename": attachment.original_name or attachment.sha256[:12],
        "content_type": attachment.content_type,
    }


def _all_images(files: Sequence[Attachment]) -> bool:
    return all(a.content_type.startswith("image/") for a in files)
