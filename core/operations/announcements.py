"""Announcements to residents: one outbox row per resident, by chat, else by email.

A resident is registered in a building through a flat there. Each gets the announcement
on their first chat contact that has not blocked the bot, else at their first email
address; residents with neither are counted as unreachable.

Rows of one announcement are spread out per channel: row *i* is due ``i / per_second``
seconds after the announcement. The outbox worker claims due rows in ``next_attempt_at``
order, so a ticket notification written a moment later is sent before the rest of a big
announcement instead of queueing behind it. The chat service's own rate limits stay the
sender's job; the default 10 rows a second leaves two thirds of a chat bot's usual 30
messages a second for ticket work.

Residents are read and their rows written :data:`BATCH` at a time, each batch in a
transaction of its own, so an announcement to a big building never holds the database
(or the event loop) for long. The announcement's counts are written once every batch is.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code
from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.messaging.message import FileRef, OutgoingMessage
from core.messaging.routes import Priority, Route
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

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
BATCH = 200
"""Residents whose rows are written per transaction."""


@dataclass(frozen=True)
class AnnounceResult:
    """What an announcement queued: rows per channel and residents nobody can reach."""

    announcement_id: int
    chat: int
    email: int
    unreachable: int

    @property
    def queued(self) -> int:
        """Messages queued in all channels."""
        return self.chat + self.email


@dataclass(frozen=True)
class Photo:
    """A picture from the blob store to send with an announcement."""

    sha256: str
    content_type: str = "image/jpeg"
    filename: str = "announcement.jpg"

    def ref(self) -> FileRef:
        """The file reference an outgoing message carries."""
        return FileRef(self.sha256, self.filename, self.content_type)


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
        announcement = await Announcement.create(
            building=found,
            text=text,
            photo_sha256=picture.sha256 if picture else None,
            actor=actor.person,
            actor_label=actor.label,
            created_at=now,
        )
        positions = {Route.RESIDENT_CHAT: 0, Route.EMAIL: 0}
        unreachable = 0
        after = 0
        while residents := await _residents(found, after):
            contacts = await Contact.filter(person_id__in=[p.id for p in residents]).order_by("id")
            rows, missed = self._rows(
                announcement, residents, contacts, found, picture, now, positions
            )
            async with in_transaction():  # one batch: nothing waits behind the whole building
                await OutboxMessage.bulk_create(rows)
            unreachable += missed
            after = residents[-1].id
        counts = {
            "chat": positions[Route.RESIDENT_CHAT],
            "email": positions[Route.EMAIL],
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
        positions: dict[Route, int],
    ) -> tuple[list[OutboxMessage], int]:
        """The rows for ``residents``, each due after the ones before it on its route
        (``positions``: rows queued so far per route, moved on); and how many are
        unreachable."""
        usable: dict[int, dict[ContactKind, Contact]] = {}
        for contact in contacts:
            if not contact.blocked:
                usable.setdefault(contact.person_id, {}).setdefault(contact.kind, contact)  # type: ignore[attr-defined]
        rows: list[OutboxMessage] = []
        unreachable = 0
        for person in residents:
            mine = usable.get(person.id, {})
            files = (photo.ref(),) if photo else ()
            if ContactKind.CHAT in mine:
                route, recipient = Route.RESIDENT_CHAT, mine[ContactKind.CHAT].value
                message = OutgoingMessage(announcement.text, files)
            elif ContactKind.EMAIL in mine:
                route, recipient = Route.EMAIL, mine[ContactKind.EMAIL].value
                language = person.language or (building.language if building else None)
                message = self._mail(announcement, language, files)
            else:
                unreachable += 1
                continue
            delay = timedelta(seconds=positions[route] / self.per_second)
            positions[route] += 1
            rows.append(
                OutboxMessage(
                    channel=route.value,
                    recipient=recipient,
                    payload=message.to_payload(),
                    idempotency_key=fitted_key(
                        OutboxMessage,
                        "idempotency_key",
                        f"announce:{announcement.id}:{route}:{recipient}",
                    ),
                    next_attempt_at=now + delay,
                    max_attempts=self.max_attempts,
                    priority=Priority.BULK,
                    created_at=now,
                )
            )
        return rows, unreachable

    def _mail(
        self, announcement: Announcement, language: str | None, files: tuple[FileRef, ...]
    ) -> OutgoingMessage:
        first_line = announcement.text.splitlines()[0]
        headline = first_line if len(first_line) <= 60 else first_line[:59] + "…"
        return OutgoingMessage(
            announcement.text,
            files,
            subject=gettext(language, N_("Announcement: {headline}"), headline=headline),
            message_id=f"<hd-ann-{announcement.id}-{uuid.uuid4().hex[:16]}@{self.mail_domain}>",
            automatic=True,
            language=language,
        )


def _check(text: str, photo: Photo | None) -> None:
    if not text:
        raise InvalidInput("an announcement needs a text")
    if photo is not None and not _SHA256.match(photo.sha256):
        raise InvalidInput(f"not a stored photo: {photo.sha256!r} (expected a sha256)")


async def _residents(building: Building | None, after: int) -> list[Person]:
    """The next :data:`BATCH` residents of ``building`` (None: of any) by id after ``after``."""
    query = Person.filter(role=Role.RESIDENT, id__gt=after)
    query = (
        query.filter(units__building_id=building.id)
        if building
        else query.filter(units__id__isnull=False)
    )
    return await query.distinct().order_by("id").limit(BATCH)
