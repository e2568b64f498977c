"""Linking staff to their chat accounts with one-time, expiring invite codes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from tortoise.transactions import in_transaction

from core.clock import Clock
from core.directory.lookup import find_staff, normalize_contact, person_by_contact
from core.errors import AccessDenied, InvalidInput
from core.i18n import N_
from core.storage.models import Contact, ContactKind, Person, Role, StaffInvite

INVITE_TTL = timedelta(hours=48)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


async def create_invite(staff: str, clock: Clock, ttl: timedelta = INVITE_TTL) -> str:
    """A new invite code for a member of staff (only its hash is stored)."""
    person = await find_staff(staff)
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    now = clock.now()
    await StaffInvite.create(
        person=person, code_sha256=_digest(raw), expires_at=now + ttl, created_at=now
    )
    return f"{raw[:5]}-{raw[5:]}"


async def redeem_invite(code: str, chat_id: int | str, clock: Clock) -> Person:
    """Link a chat account to the staff member the code was made for, once."""
    if not code.strip():
        raise InvalidInput(
            "no invite code given", message=N_("Please send /start with your invite code.")
        )
    now = clock.now()
    async with in_transaction():
        invite = await StaffInvite.get_or_none(code_sha256=_digest(code)).select_related("person")
        if invite is None or invite.used_at is not None or invite.expires_at <= now:
            raise AccessDenied(
                "this invite code is unknown, used or expired",
                message=N_(
                    "This invite code is unknown, used or expired; ask your manager for a new one."
                ),
            )
        chat = normalize_contact(ContactKind.CHAT, str(chat_id))
        existing = await Contact.get_or_none(kind=ContactKind.CHAT, value=chat)
        if existing is not None and existing.person_id != invite.person.id:  # type: ignore[attr-defined]
            raise AccessDenied(
                "this chat account already belongs to someone else",
                message=N_("This Telegram account is already linked to someone else."),
            )
        if existing is None:
            await Contact.create(person=invite.person, kind=ContactKind.CHAT, value=chat)
        invite.used_at = now
        await invite.save(update_fields=["used_at"])
    return invite.person


async def staff_by_chat(chat_id: int | str) -> Person | None:
    """The active member of staff behind a chat account, or None for anyone else."""
    person = await person_by_contact(ContactKind.CHAT, str(chat_id))
    if person is None or not person.is_staff or not person.active:
        return None
    return person


async def linked_staff() -> list[tuple[Person, str]]:
    """Active members of staff with a linked chat account, and its chat id."""
    contacts = (
        await Contact.filter(kind=ContactKind.CHAT, person__active=True)
        .exclude(person__role=Role.RESIDENT)
        .select_related("person")
        .order_by("id")
    )
    return [(c.person, c.value) for c in contacts]
