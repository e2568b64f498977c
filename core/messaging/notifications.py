"""Turn ticket changes into outbox rows (channel-neutral messages) for the requester and staff.

Every row is written inside the caller's transaction. The requester is reached on the
channel the ticket came from when possible (chat, email thread), else on any
contact they have; staff are reached on the staff chat route.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.expressions import Q

from core.clock import Clock
from core.directory.lookup import contact_of
from core.messaging.message import Action, FileRef, OutgoingMessage
from core.messaging.outbox import enqueue
from core.messaging.routes import Priority, Route
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
from core.storage.rows import insert_later

Actions = Sequence[Sequence[Action]]
"""Rows of actions offered under a message."""


@dataclass(frozen=True)
class NotifySettings:
    """What outgoing messages need to know about this installation."""

    help_address: str = "help@housedesk.localhost"
    max_attempts: int = 8

    @property
    def mail_domain(self) -> str:
        """The domain used in Message-IDs housedesk generates."""
        return self.help_address.rpartition("@")[2] or "housedesk.localhost"


def file_refs(files: Sequence[Attachment]) -> tuple[FileRef, ...]:
    """The blob-store references a message carries for ``files``."""
    return tuple(
        FileRef(
            sha256=a.sha256,
            filename=a.original_name or a.sha256[:12],
            content_type=a.content_type,
        )
        for a in files
    )


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
        actions: Actions = (),
        thread: Sequence[MessageRef] | None = None,
    ) -> bool:
        """Tell the ticket's requester ``text``; False when they cannot be reached.

        ``contacts`` are the requester's contacts, and ``thread`` every message reference of
        the ticket, when the caller has them already; ``actions`` go with the message on any
        route (a chat shows them as buttons; a mail leaves them out).
        """
        if requester is None:
            return False
        if contacts is None:
            contacts = await Contact.filter(person_id=requester.id).order_by("id")
        usable = [c for c in contacts if not c.blocked]
        first = {kind: next((c for c in usable if c.kind == kind), None) for kind in ContactKind}
        chat, email = first[ContactKind.CHAT], first[ContactKind.EMAIL]
        prefer_email = ticket.channel == Channel.EMAIL
        order: list[Contact | None] = [email, chat] if prefer_email else [chat, email]
        contact = next((c for c in order if c is not None), None)
        if contact is None:
            return False
        if contact.kind == ContactKind.EMAIL:
            await self._email(
                ticket, event, contact.value, text, files, actions, auto_reply, thread
            )
        else:
            message = OutgoingMessage(text, file_refs(files), _rows(actions))
            # a person's answer goes first; automatic acknowledgements wait their turn
            priority = Priority.NORMAL if auto_reply else Priority.URGENT
            await self._chat(Route.RESIDENT_CHAT, ticket, event, contact.value, message, priority)
        return True

    async def to_staff(
        self,
        person: Person,
        ticket: Ticket,
        event: TicketEvent,
        text: str,
        *,
        actions: Actions = (),
        files: Sequence[Attachment] = (),
    ) -> bool:
        """Send ``text`` to a member of staff through the staff bot."""
        chat = await contact_of(person, ContactKind.CHAT)
        if chat is None or chat.blocked:
            return False
        message = OutgoingMessage(text, file_refs(files), _rows(actions))
        await self._chat(Route.STAFF_CHAT, ticket, event, chat.value, message)
        return True

    async def to_work_chat(
        self,
        person: Person,
        ticket: Ticket,
        event: TicketEvent,
        text: str,
        *,
        actions: Actions = (),
        files: Sequence[Attachment] = (),
    ) -> bool:
        """Send work for ``person`` to the staff group of the ticket's trade or building, if
        the directory has one, else to ``person`` (assignment cards, nudges)."""
        group = await work_chat_of(ticket)
        if group is None:
            return await self.to_staff(person, ticket, event, text, actions=actions, files=files)
        message = OutgoingMessage(text, file_refs(files), _rows(actions))
        await self._chat(Route.STAFF_CHAT, ticket, event, str(group.chat_id), message)
        return True

    async def _chat(
        self,
        route: Route,
        ticket: Ticket,
        event: TicketEvent,
        chat_id: str,
        message: OutgoingMessage,
        priority: Priority = Priority.NORMAL,
    ) -> None:
        await enqueue(
            route=route,
            recipient=chat_id,
            message=message,
            key=f"event:{event.id}:{route}:{chat_id}",
            now=self.clock.now(),
            ticket=ticket,
            max_attempts=self.settings.max_attempts,
            priority=priority,
        )

    async def _email(
        self,
        ticket: Ticket,
        event: TicketEvent,
        address: str,
        text: str,
        files: Sequence[Attachment],
        actions: Actions,
        auto_reply: bool,
        thread: Sequence[MessageRef] | None = None,
    ) -> None:
        now = self.clock.now()
        if thread is None:
            thread = await MessageRef.filter(ticket=ticket, channel=Route.EMAIL).order_by("id")
        refs = [r for r in thread if r.channel == Route.EMAIL]
        inbound = [r for r in refs if r.inbound]
        message = OutgoingMessage(
            text,
            file_refs(files),
            _rows(actions),
            subject=f"[{ticket.ref}] {ticket.title}",
            message_id=self.new_message_id(ticket),
            answers=inbound[-1].external_id if inbound else None,
            thread=tuple(r.external_id for r in refs)[-20:],
            automatic=auto_reply,
            language=ticket.language,
        )
        await insert_later(
            MessageRef,
            channel=Route.EMAIL.value,
            external_id=message.message_id,
            inbound=False,
            ticket=ticket,
            created_at=now,
        )
        await enqueue(
            route=Route.EMAIL,
            recipient=address,
            message=message,
            key=f"event:{event.id}:{Route.EMAIL}:{address}",
            now=now,
            ticket=ticket,
            max_attempts=self.settings.max_attempts,
            priority=Priority.NORMAL if auto_reply else Priority.URGENT,
        )


def _rows(actions: Actions) -> tuple[tuple[Action, ...], ...]:
    return tuple(tuple(row) for row in actions if row)


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
