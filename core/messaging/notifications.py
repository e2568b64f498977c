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

from tortoise.expressions import Q

from core.clock import Clock
from core.directory.lookup import contact_of
from core.messaging.outbox import enqueue
from core.storage.models import (
    Attachment,
    Channel,
    Contact,
    ContactKind,
    MessageRef,
    Person,
    StaffChat,
    Ticket,
    TicketEvent,
)
from core.storage.rows import insert

EMAIL = "email"
TELEGRAM_RESIDENT = "telegram_resident"
TELEGRAM_STAFF = "telegram_staff"
TELEGRAM_CAPTION_LIMIT = 1024
TELEGRAM_ALBUM_LIMIT = 10
TELEGRAM_PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
"""Attachments Telegram shows as photos; anything else is sent as a document."""

Buttons = Sequence[Sequence[dict[str, str]]]


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


def feedback_button(label: str, action: str, ticket_id: int, score: int = 0) -> dict[str, str]:
    """An inline button whose data the residents' bot's ``ResidentAction`` callback unpacks."""
    return {"text": label, "callback_data": f"rs:{action}:{ticket_id}:{score}"}


def telegram_payloads(
    text: str, files: Sequence[Attachment], buttons: Buttons = ()
) -> list[dict[str, Any]]:
    """The Telegram messages that show ``text``, ``files`` and ``buttons``, in sending order.

    One file carries the text as its caption, and the buttons; so does one album without
    buttons (albums cannot carry any). Otherwise, or when the text is too long for a caption,
    the text is a message of its own, followed by the files.
    """
    markup = {"inline_keyboard": [list(row) for row in buttons]} if buttons else None
    captioned = len(files) == 1 or (len(files) <= TELEGRAM_ALBUM_LIMIT and not buttons)
    if not files or not captioned or len(text) > TELEGRAM_CAPTION_LIMIT:
        first: dict[str, Any] = {"method": "sendMessage", "text": text}
        if markup:
            first["reply_markup"] = markup
        return [first, *_file_payloads(files, caption=None, markup=None)]
    return _file_payloads(files, caption=text, markup=markup)


def _file_payloads(
    files: Sequence[Attachment], *, caption: str | None, markup: dict[str, Any] | None
) -> list[dict[str, Any]]:
    photos = [a for a in files if _is_photo(a)]
    others = [a for a in files if not _is_photo(a)]
    groups = [
        group[start : start + TELEGRAM_ALBUM_LIMIT]
        for group in (photos, others)
        for start in range(0, len(group), TELEGRAM_ALBUM_LIMIT)
    ]
    payloads: list[dict[str, Any]] = []
    for group in groups:
        payload: dict[str, Any] = {"files": [_file(a) for a in group]}
        if len(group) > 1:
            payload["method"] = "sendMediaGroup"
        else:
            payload["method"] = "sendPhoto" if _is_photo(group[0]) else "sendDocument"
            if markup and not payloads:
                payload["reply_markup"] = markup
        if caption and not payloads:
            payload["caption"] = payload["text"] = caption
        payloads.append(payload)
    return payloads


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
        buttons: Buttons = (),
        thread: Sequence[MessageRef] | None = None,
    ) -> bool:
        """Tell the ticket's requester ``text``; False when they cannot be reached.

        ``contacts`` are the requester's contacts, and ``thread`` every message reference of
        the ticket, when the caller has them already; ``buttons`` are shown in Telegram only
        (an email has none).
        """
        if requester is None:
            return False
        if contacts is None:
            contacts = await Contact.filter(person_id=requester.id).order_by("id")
        usable = [c for c in contacts if not c.blocked]
        first = {kind: next((c for c in usable if c.kind == kind), None) for kind in ContactKind}
        telegram, email = first[ContactKind.CHAT], first[ContactKind.EMAIL]
        prefer_email = ticket.channel == Channel.EMAIL
        order: list[Contact | None] = [email, telegram] if prefer_email else [telegram, email]
        contact = next((c for c in order if c is not None), None)
        if contact is None:
            return False
        if contact.kind == ContactKind.EMAIL:
            await self._email(ticket, event, contact.value, text, files, auto_reply, thread)
        else:
            await self._telegram(
                TELEGRAM_RESIDENT, ticket, event, contact.value, text, files, buttons=buttons
            )
        return True

    async def to_staff(
        self,
        person: Person,
        ticket: Ticket,
        event: TicketEvent,
        text: str,
        *,
        buttons: Buttons = (),
        files: Sequence[Attachment] = (),
    ) -> bool:
        """Send ``text`` to a member of staff through the staff bot."""
        telegram = await contact_of(person, ContactKind.CHAT)
        if telegram is None or telegram.blocked:
            return False
        await self._telegram(
            TELEGRAM_STAFF, ticket, event, telegram.value, text, files, buttons=buttons
        )
        return True

    async def to_work_chat(
        self,
        person: Person,
        ticket: Ticket,
        event: TicketEvent,
        text: str,
        *,
        buttons: Buttons = (),
        files: Sequence[Attachment] = (),
    ) -> bool:
        """Send work for ``person`` to the staff group of the ticket's trade or building, if
        the directory has one, else to ``person`` (assignment cards, nudges)."""
        group = await work_chat_of(ticket)
        if group is None:
            return await self.to_staff(person, ticket, event, text, buttons=buttons, files=files)
        await self._telegram(
            TELEGRAM_STAFF, ticket, event, str(group.chat_id), text, files, buttons=buttons
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
        buttons: Buttons = (),
    ) -> None:
        key = f"event:{event.id}:{channel}:{chat_id}"
        for number, payload in enumerate(telegram_payloads(text, files, buttons)):
            await enqueue(
                channel=channel,
                recipient=chat_id,
                payload=payload,
                key=key if number == 0 else f"{key}:{number}",
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
        thread: Sequence[MessageRef] | None = None,
    ) -> None:
        now = self.clock.now()
        if thread is None:
            thread = await MessageRef.filter(ticket=ticket, channel=EMAIL).order_by("id")
        refs = [r for r in thread if r.channel == EMAIL]
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
        await insert(
            MessageRef,
            channel=EMAIL,
            external_id=message_id,
            inbound=False,
            ticket=ticket,
            created_at=now,
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


async def work_chat_of(ticket: Ticket) -> StaffChat | None:
    """The staff group for a ticket: the one of its building and trade, else of its trade
    (any building), else of its building (any trade); None when the directory has none."""
    building_id = ticket.building_id  # type: ignore[attr-defined]
    chats = await StaffChat.filter(
        Q(building_id=building_id) | Q(building_id__isnull=True),
        Q(trade=ticket.category.trade) | Q(trade__isnull=True),
    )
    specific = [c for c in chats if c.trade is not None or c.building_id is not None]  # type: ignore[attr-defined]
    if not specific:
        return None
    return min(specific, key=lambda c: (c.trade is None, c.building_id is None, c.id))  # type: ignore[attr-defined]


def _is_photo(attachment: Attachment) -> bool:
    return attachment.content_type in TELEGRAM_PHOTO_TYPES
