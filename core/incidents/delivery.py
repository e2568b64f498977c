"""Outbox rows that tell a resident about an incident: one per person and news, written in
the transaction of the change, on their chat (else email; a mail is answered by mail). A
row of news told to many carries the announcement that counts its deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.messaging.message import Action, OutgoingMessage
from core.messaging.routes import Priority, Route
from core.messaging.wakeup import announce
from core.storage.fit import fitted_key
from core.storage.models import Contact, ContactKind, OutboxMessage, Person
from core.storage.rows import insert


@dataclass(frozen=True)
class MailThread:
    """The mail an answer threads to: its Message-ID and subject."""

    message_id: str
    subject: str


async def tell(
    person: Person,
    text: str,
    *,
    key: str,
    now: datetime,
    actions: Sequence[Action] = (),
    prefer_email: bool = False,
    thread: MailThread | None = None,
    priority: Priority = Priority.NORMAL,
    max_attempts: int = 8,
    contacts: Sequence[Contact] | None = None,
    mail_domain: str = "housedesk.localhost",
    announcement_id: int | None = None,
) -> Route | None:
    """Queue ``text`` for ``person`` (``key``: new for each piece of news, e.g. from its
    event; ``announcement_id``: the announcement that counts it); the route it takes, None
    when they cannot be reached."""
    if contacts is None:
        contacts = await Contact.filter(person_id=person.id, blocked=False).order_by("id")
    usable = [c for c in contacts if not c.blocked]
    chat = next((c for c in usable if c.kind == ContactKind.CHAT), None)
    email = next((c for c in usable if c.kind == ContactKind.EMAIL), None)
    order = [email, chat] if prefer_email else [chat, email]
    contact = next((c for c in order if c is not None), None)
    if contact is None:
        return None
    rows = (tuple(actions),) if actions else ()
    if contact.kind == ContactKind.CHAT:
        route, message = Route.RESIDENT_CHAT, OutgoingMessage(text, actions=rows)
    else:
        route = Route.EMAIL
        subject = thread.subject if thread else text.splitlines()[0]
        message = OutgoingMessage(
            text,
            actions=rows,
            subject=subject
            if not thread or subject.lower().startswith("re:")
            else f"Re: {subject}",
            message_id=f"<hd-inc-{uuid.uuid4().hex[:20]}@{mail_domain}>",
            answers=thread.message_id if thread else None,
            thread=(thread.message_id,) if thread else (),
            automatic=True,
            language=person.language,
        )
    await insert(
        OutboxMessage,
        channel=route.value,
        recipient=contact.value,
        payload=message.to_payload(),
        idempotency_key=fitted_key(
            OutboxMessage, "idempotency_key", f"{key}:{route}:{contact.value}"
        ),
        next_attempt_at=now,
        max_attempts=max_attempts,
        priority=int(priority),
        created_at=now,
        announcement_id=announcement_id,
    )
    await announce(route.value)
    return route
