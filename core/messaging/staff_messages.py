"""Scheduled messages to staff on the staff chat route, each written once per key.

The scheduler's messages (reminders, breaches, nudges, digests) are keyed by what they
are about (``nudge:42:resolution:3:7``), not by a timeline event, so running a job twice
writes nothing new. A message can be held until a later moment (business hours) through
the outbox row's ``next_attempt_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.directory.lookup import contact_of
from core.messaging.message import Action, OutgoingMessage
from core.messaging.outbox import enqueue_once
from core.messaging.routes import Priority, Route
from core.storage.models import Contact, ContactKind, OutboxMessage, Person, Role, Ticket
from core.storage.rawsql import fetch
from core.storage.rows import from_row


async def message_staff(
    person: Person,
    text: str,
    *,
    key: str,
    now: datetime,
    ticket: Ticket | None = None,
    not_before: datetime | None = None,
    actions: Sequence[Sequence[Action]] = (),
    max_attempts: int = 8,
    priority: Priority = Priority.NORMAL,
    chats: dict[int, Contact | None] | None = None,
) -> bool:
    """Queue ``text`` (with ``actions``) for ``person``; False when they have no usable chat.

    ``chats``: the chat contacts read before, by person (a round messaging the same people
    many times reads each once); a contact read now is added to it.
    """
    if chats is None:
        chat = await contact_of(person, ContactKind.CHAT)
    else:
        if person.id not in chats:
            chats[person.id] = await contact_of(person, ContactKind.CHAT)
        chat = chats[person.id]
    if chat is None or chat.blocked:
        return False
    row = await enqueue_once(
        route=Route.STAFF_CHAT,
        recipient=chat.value,
        message=OutgoingMessage(text, actions=tuple(tuple(row) for row in actions if row)),
        key=f"{key}:{person.id}",
        now=now,
        ticket=ticket,
        max_attempts=max_attempts,
        priority=priority,
    )
    if row is not None and not_before is not None and not_before > now:
        await OutboxMessage.filter(id=row.id).update(next_attempt_at=not_before)
    return True


_ACTIVE_IN_ROLE = 'SELECT * FROM "person" WHERE "role" = :role AND "active" = :active'
_SERVING = ' AND "id" IN (SELECT "person_id" FROM "staff_building" WHERE "building_id" = :building)'


async def managers_of(building_id: int | None) -> list[Person]:
    """Active managers serving a building (every active manager for no building)."""
    return await _active_in_role(Role.MANAGER, building_id)


async def dispatchers_of(building_id: int | None) -> list[Person]:
    """Active dispatchers serving a building (every active dispatcher for no building)."""
    return await _active_in_role(Role.DISPATCHER, building_id)


async def _active_in_role(role: Role, building_id: int | None) -> list[Person]:
    """One plain query: each new ticket of an unknown building asks who its dispatchers are,
    and building a tortoise query cost more CPU than running it."""
    if building_id is None:
        rows = await fetch(f'{_ACTIVE_IN_ROLE} ORDER BY "id"', role=role.value, active=True)
    else:
        query = f'{_ACTIVE_IN_ROLE}{_SERVING} ORDER BY "id"'
        rows = await fetch(query, role=role.value, active=True, building=building_id)
    return [from_row(Person, row) for row in rows]
