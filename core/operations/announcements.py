"""Announcements to residents: one outbox row per resident, on Telegram, else by email.

A resident is registered in a building through a flat there. Each gets the announcement
on their first Telegram chat that has not blocked the bot, else at their first email
address; residents with neither are counted as unreachable.

Rows of one announcement are spread out per channel: row *i* is due ``i / per_second``
seconds after the announcement. The outbox worker claims due rows in ``next_attempt_at``
order, so a ticket notification written a moment later is sent before the rest of a big
announcement instead of queueing behind it. Telegram's own rate limits stay the sender's
job (PTB's ``AIORateLimiter``); the default 10 rows a second leaves two thirds of
Telegram's 30 messages a second for ticket work.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code
from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.messaging.notifications import EMAIL, TELEGRAM_RESIDENT
from core.storage.fit import fitted_key
from core.storage.models import (
    Announcement,
    Building,
    Contact,
    ContactKind,
    OutboxMessage,
    Person,
    Role,
)

CAPTION_LIMIT = 1024
"""Telegram's limit for a photo caption."""
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class AnnounceResult:
    """What an announcement queued: rows per channel and residents nobody can reach."""

    announcement_id: int
    telegram: int
    email: int
    unreachable: int

    @property
    def queued(self) -> int:
        """Messages queued in all channels."""
        return self.telegram + self.email


@dataclass(frozen=True)
class Photo:
    """A picture from the blob store to send with an announcement."""

    sha256: str
    content_type: str = "image/jpeg"
    filename: str = "announcement.jpg"

    def file(self) -> dict[str, str]:
        """The file reference outbox payloads carry."""
        return {
            "sha256": self.sha256,
            "filename": self.filename,
            "content_type": self.content_type,
        }


class Announcer:
    """Queues announcements for every registered resident of a building (or of all)."""

    def __init__(
        self,
        clock: Clock,
        *,
        mail_domain: str,
        per_second: float = 10.0,
        max_attempts: int = 8,
    ) -> None:
        self.clock = clock
        self.mail_domain = mail_domain
        self.per_second = per_second
        self.max_attempts = max_attempts

    async def announce(
        self,
        building: str | None,
        text: str,
        actor: Actor,
        photo: str | Photo | None = None,
    ) -> AnnounceResult:
        """Queue ``text`` (and a photo by sha256) for the residents of ``building`` (None: all)."""
        text = text.strip()
        picture = Photo(photo) if isinstance(photo, str) else photo
        _check(text, picture)
        found = await building_by_code(building) if building else None
        now = self.clock.now()
        async with in_transaction():
            announcement = await Announcement.create(
                building=found,
                text=text,
                photo_sha256=picture.sha256 if picture else None,
                actor=actor.person,
                actor_label=actor.label,
                created_at=now,
            )
            residents = await _residents(found)
            contacts = await Contact.filter(person_id__in=[p.id for p in residents]).order_by("id")
            rows, unreachable = self._rows(announcement, residents, contacts, found, picture, now)
            await OutboxMessage.bulk_create(rows, batch_size=500)
            counts = {
                "telegram": sum(1 for r in rows if r.channel == TELEGRAM_RESIDENT),
                "email": sum(1 for r in rows if r.channel == EMAIL),
                "unreachable": unreachable,
            }
            announcement.counts = counts
            await announcement.save(update_fields=["counts"])
        return AnnounceResult(announcement.id, **counts)

    def _rows(
        self,
        announcement: Announcement,
        residents: Sequence[Person],
        contacts: Sequence[Contact],
        building: Building | None,
        photo: Photo | None,
        now: datetime,
    ) -> tuple[list[OutboxMessage], int]:
        usable: dict[int, dict[ContactKind, Contact]] = {}
        for contact in contacts:
            if not contact.blocked:
                usable.setdefault(contact.person_id, {}).setdefault(contact.kind, contact)  # type: ignore[attr-defined]
        rows: list[OutboxMessage] = []
        positions = {TELEGRAM_RESIDENT: 0, EMAIL: 0}
        unreachable = 0
        for person in residents:
            mine = usable.get(person.id, {})
            if ContactKind.CHAT in mine:
                channel, recipient = TELEGRAM_RESIDENT, mine[ContactKind.CHAT].value
                payload = _telegram_payload(announcement.text, photo)
            elif ContactKind.EMAIL in mine:
                channel, recipient = EMAIL, mine[ContactKind.EMAIL].value
                language = person.language or (building.language if building else None)
                payload = self._email_payload(announcement, recipient, language, photo)
            else:
                unreachable += 1
                continue
            delay = timedelta(seconds=positions[channel] / self.per_second)
            positions[channel] += 1
            rows.append(
                OutboxMessage(
                    channel=channel,
                    recipient=recipient,
                    payload=payload,
                    idempotency_key=fitted_key(
                        OutboxMessage,
                        "idempotency_key",
                        f"announce:{announcement.id}:{channel}:{recipient}",
                    ),
                    next_attempt_at=now + delay,
                    max_attempts=self.max_attempts,
                    created_at=now,
                )
            )
        return rows, unreachable

    def _email_payload(
        self, announcement: Announcement, address: str, language: str | None, photo: Photo | None
    ) -> dict[str, Any]:
        first_line = announcement.text.splitlines()[0]
        headline = first_line if len(first_line) <= 60 else first_line[:59] + "…"
        return {
            "to": address,
            "subject": gettext(language, N_("Announcement: {headline}"), headline=headline),
            "text": announcement.text,
            "message_id": f"<hd-ann-{announcement.id}-{uuid.uuid4().hex[:16]}@{self.mail_domain}>",
            "in_reply_to": None,
            "references": [],
            "auto_submitted": "auto-generated",
            "attachments": [photo.file()] if photo else [],
            "language": language,
        }


def _check(text: str, photo: Photo | None) -> None:
    if not text:
        raise InvalidInput("an announcement needs a text")
    if photo is not None:
        if not _SHA256.match(photo.sha256):
            raise InvalidInput(f"not a stored photo: {photo.sha256!r} (expected a sha256)")
        if len(text) > CAPTION_LIMIT:
            raise InvalidInput(
                f"with a photo the text must fit a Telegram caption ({CAPTION_LIMIT} characters)"
            )


def _telegram_payload(text: str, photo: Photo | None) -> dict[str, Any]:
    if photo is None:
        return {"method": "sendMessage", "text": text}
    return {"method": "sendPhoto", "caption": text, "text": text, "files": [photo.file()]}


async def _residents(building: Building | None) -> list[Person]:
    query = Person.filter(role=Role.RESIDENT)
    query = (
        query.filter(units__building_id=building.id)
        if building
        else query.filter(units__id__isnull=False)
    )
    return await query.distinct().order_by("id")
