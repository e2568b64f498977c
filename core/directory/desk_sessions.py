"""Staff sessions on the dispatcher's desk, and the single-use links that start them.

A session starts from launch data the chat app signed for a linked member of staff, or from
a link the staff bot sent them; either way the browser gets a random token whose sha256 is
all that is stored. A session ends when its person signs out, when an admin ends it, when
its time is up, or when its person is no longer active staff.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from core.directory.lookup import person_by_contact
from core.storage.models import ContactKind, DeskLink, DeskSession, Person
from core.storage.rawsql import fetch
from core.storage.rows import from_row

SESSION_TTL = timedelta(hours=12)
LINK_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token for the browser's cookie, and whose it is."""

    token: str
    person: Person
    expires_at: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_token: str) -> str:
    """The form token of a session: derived from its secret, so it need not be stored and
    a page of one session is no use to another."""
    return hmac.new(session_token.encode(), b"desk-csrf", hashlib.sha256).hexdigest()


async def staff_of_chat(chat_id: int | str) -> Person | None:
    """The active member of staff linked to this chat account, else None."""
    person = await person_by_contact(ContactKind.CHAT, str(chat_id))
    if person is None or not person.is_staff or not person.active:
        return None
    return person


async def open_session(
    person: Person, via: str, now: datetime, ttl: timedelta = SESSION_TTL
) -> SignedIn:
    """Start a session for ``person`` (``via``: ``launch`` or ``link``)."""
    token = secrets.token_urlsafe(32)
    await DeskSession.create(
        person=person, token_sha256=_digest(token), via=via, created_at=now, expires_at=now + ttl
    )
    return SignedIn(token, person, now + ttl)


async def session_person(token: str, now: datetime) -> Person | None:
    """The active member of staff whose running session this token is, else None."""
    if not token:
        return None
    rows = await fetch(_SESSION_PERSON, token=_digest(token), now=now)
    person = from_row(Person, rows[0]) if rows else None
    if person is None or not person.is_staff or not person.active:
        return None
    return person


_SESSION_PERSON = (
    'SELECT "person".* FROM "desk_session"'
    ' JOIN "person" ON "person"."id" = "desk_session"."person_id"'
    ' WHERE "desk_session"."token_sha256" = :token AND "desk_session"."ended_at" IS NULL'
    ' AND "desk_session"."expires_at" > :now'
)
"""The person of a running session, in one plain query (every desk request asks)."""


async def end_session(token: str, now: datetime) -> None:
    """Sign out: the session of this token ends (nothing happens for an unknown one)."""
    await DeskSession.filter(token_sha256=_digest(token), ended_at=None).update(ended_at=now)


async def end_sessions_of(person: Person, now: datetime) -> int:
    """End every running session of ``person`` (an admin's doing); return how many."""
    return await DeskSession.filter(person=person, ended_at=None, expires_at__gt=now).update(
        ended_at=now
    )


async def running_sessions(now: datetime) -> list[DeskSession]:
    """The sessions that have not ended, oldest first, with their people."""
    return (
        await DeskSession.filter(ended_at=None, expires_at__gt=now)
        .select_related("person")
        .order_by("created_at", "id")
    )


async def issue_link(person: Person, now: datetime, ttl: timedelta = LINK_TTL) -> str:
    """A new single-use sign-in code for ``person`` (only its hash is stored)."""
    code = secrets.token_urlsafe(24)
    await DeskLink.create(
        person=person, code_sha256=_digest(code), created_at=now, expires_at=now + ttl
    )
    return code


async def redeem_link(code: str, now: datetime, ttl: timedelta = SESSION_TTL) -> SignedIn | None:
    """Exchange a sign-in code for a session, once; None when the code is unknown, used,
    expired, or its person is no longer active staff."""
    async with in_transaction():
        used = await DeskLink.filter(
            code_sha256=_digest(code), used_at=None, expires_at__gt=now
        ).update(used_at=now)
        if not used:
            return None
        link = await DeskLink.get(code_sha256=_digest(code)).select_related("person")
        if not link.person.is_staff or not link.person.active:
            return None
        return await open_session(link.person, "link", now, ttl)
