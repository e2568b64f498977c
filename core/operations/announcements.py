"""Announcements to residents: drafted, confirmed by their sender, then queued in the outbox.

A draft counts who it will reach (by chat, by email, nobody) before anything goes out; its
sender confirms it (or cancels it), and only then is it queued, at once or at its
``send_at``. Each resident gets one message, on their first chat contact that has not
blocked the bot, else at their first email address, headed with their building and the
sender, in their language.

An **emergency** announcement goes first (``Priority.URGENT``, due at once, ahead of ticket
work) and is never held back. An **ordinary** one goes as bulk, spread at ``per_second``
rows a second per channel so ticket messages are not stuck behind it, and at most
``per_resident_per_hour`` of them reach one resident in any hour: a resident expects to hear
every notice (a planned shut-off matters even an hour late) but not to be flooded, so one
over the limit is **delivered later**, an hour after the last one that resident got, never
dropped. The sender sees how many are held back before confirming.

Residents are read and their rows written :data:`BATCH` at a time, each batch in a
transaction of its own that also moves the announcement's ``cursor`` (the last resident
queued), only if nobody moved it meanwhile; a sending interrupted by a restart resumes
there on the scheduler's next round, and two processes never queue one resident twice.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code
from core.errors import AccessDenied, ConflictError, InvalidInput, Msgid, NotFound
from core.i18n import N_, gettext, in_language
from core.messaging.message import FileRef, OutgoingMessage
from core.messaging.routes import Priority, Route
from core.messaging.wakeup import announce as wake_lane
from core.operations.announce_report import report_finished
from core.operations.audience import Recipient, Scope, residents
from core.operations.hourly_limit import next_free_slots
from core.storage.fit import fitted_key
from core.storage.models import (
    Announcement,
    AnnouncementKind,
    AnnouncementStatus,
    Building,
    ContactKind,
    Incident,
    OutboxMessage,
)
from core.tickets.cards import local_moment

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
BATCH = 200
"""Residents whose rows are written per transaction."""

STATUS_NAMES = {
    AnnouncementStatus.DRAFT: N_("not confirmed yet"),
    AnnouncementStatus.SCHEDULED: N_("scheduled"),
    AnnouncementStatus.SENDING: N_("being sent"),
    AnnouncementStatus.SENT: N_("sent"),
    AnnouncementStatus.CANCELLED: N_("cancelled"),
}


@dataclass(frozen=True)
class Photo:
    """A picture from the blob store to send with an announcement."""

    sha256: str
    content_type: str = "image/jpeg"
    filename: str = "announcement.jpg"

    def ref(self) -> FileRef:
        """The file reference an outgoing message carries."""
        return FileRef(self.sha256, self.filename, self.content_type)


@dataclass(frozen=True)
class Draft:
    """What a sender asks for: ``text`` to the residents of ``building`` (None: of all).

    ``send_at_local`` is a wall-clock time in the building's timezone (all buildings: the
    operations timezone); None sends it once confirmed.
    """

    text: str
    building: str | None
    scope: Scope = field(default_factory=Scope)
    emergency: bool = False
    photo: Photo | None = None
    send_at_local: datetime | None = None
    incident_id: int | None = None
    texts: Mapping[str, str] = field(default_factory=dict)
    """``text`` in other languages (by code), for readers of those languages."""


@dataclass(frozen=True)
class AnnounceResult:
    """An announcement and its reach: messages per channel, residents nobody can reach,
    and ordinary messages held back by the hourly limit (they go later)."""

    announcement_id: int
    status: AnnouncementStatus
    chat: int
    email: int
    unreachable: int
    held: int = 0
    send_at: datetime | None = None
    timezone: str = "UTC"

    @property
    def queued(self) -> int:
        """Messages in all channels."""
        return self.chat + self.email

    @property
    def people(self) -> int:
        """Residents in the audience, reachable or not."""
        return self.queued + self.unreachable

    def send_time(self, language: str | None) -> str:
        """``send_at`` as a reader of ``language`` reads it, in the audience's timezone."""
        if self.send_at is None:
            return ""
        return AudienceTime(self.send_at, self.timezone).render(language)


@dataclass(frozen=True)
class AudienceTime:
    """A moment on the audience's clock (``Tue 1 Dec, 18:00 (Europe/Oslo)``), written in
    each reader's locale."""

    at: datetime
    timezone: str

    def render(self, language: str | None) -> str:
        """The moment as a reader of ``language`` reads it."""
        return f"{local_moment(self.at, ZoneInfo(self.timezone), language)} ({self.timezone})"


class Announcer:
    """Drafts, confirms, cancels and queues announcements."""

    def __init__(
        self,
        clock: Clock,
        *,
        mail_domain: str,
        per_second: float = 10.0,
        max_attempts: int = 8,
        per_resident_per_hour: int = 1,
        timezone: str = "UTC",
    ) -> None:
        self.clock = clock
        self.mail_domain = mail_domain
        self.per_second = per_second
        self.max_attempts = max_attempts
        self.per_resident_per_hour = per_resident_per_hour
        self.timezone = timezone

    async def draft(self, draft: Draft, actor: Actor) -> AnnounceResult:
        """Write ``draft`` as an announcement waiting for confirmation, with its reach."""
        announcement, building = await self._create(draft, actor)
        announcement.counts = await self._reach(announcement, building)
        await announcement.save(update_fields=["counts"])
        return self._result(announcement, building)

    async def confirm(self, announcement_id: int, actor: Actor) -> AnnounceResult:
        """The sender's yes: schedule it, or queue it now (see the module's docstring)."""
        announcement, building = await self._decide(
            announcement_id, actor, (AnnouncementStatus.DRAFT,)
        )
        now = self.clock.now()
        later = announcement.send_at is not None and announcement.send_at > now
        status = AnnouncementStatus.SCHEDULED if later else AnnouncementStatus.SENDING
        await self._move(announcement, status, _event("confirmed", actor, now), now)
        if status is AnnouncementStatus.SENDING:
            await self._queue(announcement, building)
        return self._result(announcement, building)

    async def cancel(self, announcement_id: int, actor: Actor) -> AnnounceResult:
        """The sender's no (or a change of mind before a scheduled one goes out)."""
        announcement, building = await self._decide(
            announcement_id, actor, (AnnouncementStatus.DRAFT, AnnouncementStatus.SCHEDULED)
        )
        now = self.clock.now()
        await self._move(
            announcement, AnnouncementStatus.CANCELLED, _event("cancelled", actor, now), now
        )
        return self._result(announcement, building)

    async def announce(self, draft: Draft, actor: Actor) -> AnnounceResult:
        """Draft and confirm in one go, for senders who confirmed elsewhere (an incident's
        update, the command line)."""
        announcement, _ = await self._create(draft, actor)
        return await self.confirm(announcement.id, actor)

    async def run_due(self, now: datetime) -> int:
        """Queue the scheduled announcements whose time has come, finish any sending a
        restart interrupted, and tell the senders of finished ones how they went; return
        how many announcements were worked on."""
        due = await Announcement.filter(
            status__in=[AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING],
            send_at__lte=now,
        ).order_by("send_at", "id")
        for announcement in due:
            if announcement.status is AnnouncementStatus.SCHEDULED:
                event = _event("started", Actor.system("scheduler"), now)
                try:
                    await self._move(announcement, AnnouncementStatus.SENDING, event, now)
                except ConflictError:
                    continue  # cancelled or started meanwhile
            building = await _building(announcement)
            await self._queue(announcement, building)
        return len(due) + await report_finished(now, self.max_attempts)

    # -- states ----------------------------------------------------------------------------

    async def _create(self, draft: Draft, actor: Actor) -> tuple[Announcement, Building | None]:
        text = draft.text.strip()
        _check(text, draft.photo)
        building = await building_by_code(draft.building) if draft.building else None
        if building is None and not draft.scope.whole:
            raise InvalidInput(
                "a scope needs a building",
                message=N_("Name a building to announce to part of it."),
            )
        if draft.incident_id is not None and not await Incident.exists(id=draft.incident_id):
            raise NotFound(
                f"no incident {draft.incident_id}",
                message=N_('There is no incident "{ref}".'),
                ref=draft.incident_id,
            )
        now = self.clock.now()
        announcement = await Announcement.create(
            building=building,
            text=text,
            photo_sha256=draft.photo.sha256 if draft.photo else None,
            actor=actor.person,
            actor_label=actor.label,
            created_at=now,
            kind=AnnouncementKind.EMERGENCY if draft.emergency else AnnouncementKind.ORDINARY,
            status=AnnouncementStatus.DRAFT,
            scope=draft.scope.to_stored(),
            send_at=self._send_at(draft.send_at_local, building, now),
            history=[_event("drafted", actor, now)],
            incident_id=draft.incident_id,
            texts={k: v.strip() for k, v in draft.texts.items() if v.strip()},
        )
        return announcement, building

    async def _decide(
        self, announcement_id: int, actor: Actor, allowed: tuple[AnnouncementStatus, ...]
    ) -> tuple[Announcement, Building | None]:
        """The announcement, if ``actor`` wrote it and it is in one of the ``allowed`` states."""
        announcement = await Announcement.get_or_none(id=announcement_id)
        if announcement is None:
            raise NotFound(
                f"no announcement {announcement_id}",
                message=N_("There is no announcement {id}."),
                id=announcement_id,
            )
        author = announcement.actor_id  # type: ignore[attr-defined]
        if author is not None and (actor.person is None or actor.person.id != author):
            raise AccessDenied(
                f"announcement {announcement_id} is {announcement.actor_label}'s",
                message=N_("Only {name} can send or cancel this announcement."),
                name=announcement.actor_label,
            )
        if announcement.status not in allowed:
            raise _already(announcement)
        building = await _building(announcement)
        return announcement, building

    async def _move(
        self,
        announcement: Announcement,
        status: AnnouncementStatus,
        event: dict[str, object],
        now: datetime,
    ) -> None:
        """Change the status (and timeline) only if nobody changed it since it was read."""
        history = [*announcement.history, event]
        changes: dict[str, object] = {"status": status, "history": history}
        if status is AnnouncementStatus.SENDING and announcement.send_at is None:
            changes["send_at"] = now
        moved = await Announcement.filter(id=announcement.id, status=announcement.status).update(
            **changes
        )
        if not moved:
            raise _already(await Announcement.get(id=announcement.id))
        for name, value in changes.items():
            setattr(announcement, name, value)

    # -- queueing --------------------------------------------------------------------------

    async def _reach(self, announcement: Announcement, building: Building | None) -> dict[str, int]:
        """What queueing would do now, without writing anything."""
        counts = _zero()
        after = 0
        while batch := await residents(building, _scope(announcement), after, BATCH):
            _, counted = await self._rows(announcement, batch, counts)
            counts = counted
            after = batch[-1].person.id
        return counts

    async def _queue(self, announcement: Announcement, building: Building | None) -> None:
        """Write the rows batch by batch from the cursor on; mark it sent at the end."""
        scope = _scope(announcement)
        counts = _zero() if announcement.cursor == 0 else {**_zero(), **announcement.counts}
        while batch := await residents(building, scope, announcement.cursor, BATCH):
            rows, counted = await self._rows(announcement, batch, counts)
            cursor = batch[-1].person.id
            async with in_transaction():  # one batch: nothing waits behind the whole building
                moved = await Announcement.filter(
                    id=announcement.id,
                    cursor=announcement.cursor,
                    status=AnnouncementStatus.SENDING,
                ).update(cursor=cursor, counts=counted)
                if not moved:
                    return  # another process queues it, or it was stopped
                await OutboxMessage.bulk_create(rows)
                for route in {row.channel for row in rows}:
                    await wake_lane(route)
            announcement.cursor, announcement.counts, counts = cursor, counted, counted
        now = self.clock.now()
        history = [*announcement.history, _event("sent", Actor.system("outbox"), now)]
        await Announcement.filter(
            id=announcement.id, status=AnnouncementStatus.SENDING, cursor=announcement.cursor
        ).update(status=AnnouncementStatus.SENT, sent_at=now, history=history, counts=counts)
        announcement.status, announcement.sent_at = AnnouncementStatus.SENT, now
        announcement.history, announcement.counts = history, counts

    async def _rows(
        self, announcement: Announcement, batch: list[Recipient], counts: dict[str, int]
    ) -> tuple[list[OutboxMessage], dict[str, int]]:
        """The rows for ``batch`` and the counts with them added (``counts`` says how many
        rows each channel had before, which spaces ordinary ones out)."""
        counts = dict(counts)
        emergency = announcement.kind is AnnouncementKind.EMERGENCY
        start = announcement.send_at or self.clock.now()
        chosen: list[tuple[Recipient, Route, str]] = []
        for recipient in batch:
            if ContactKind.CHAT in recipient.contacts:
                chosen.append((recipient, Route.RESIDENT_CHAT, _value(recipient, ContactKind.CHAT)))
            elif ContactKind.EMAIL in recipient.contacts:
                chosen.append((recipient, Route.EMAIL, _value(recipient, ContactKind.EMAIL)))
            else:
                counts["unreachable"] += 1
        rows: list[OutboxMessage] = []
        for route in (Route.RESIDENT_CHAT, Route.EMAIL):
            mine = [(r, address) for r, chosen_route, address in chosen if chosen_route is route]
            if not mine:
                continue
            key = "chat" if route is Route.RESIDENT_CHAT else "email"
            dues = {address: start for _, address in mine}
            if not emergency:
                for n, (_, address) in enumerate(mine):
                    dues[address] = start + timedelta(seconds=(counts[key] + n) / self.per_second)
                held = await next_free_slots(
                    route, dues, self.per_resident_per_hour, exclude=announcement.id
                )
                counts["held"] += len(held)
                dues.update(held)
            counts[key] += len(mine)
            rows.extend(
                self._row(announcement, recipient, route, address, dues[address])
                for recipient, address in mine
            )
        return rows, counts

    def _row(
        self,
        announcement: Announcement,
        recipient: Recipient,
        route: Route,
        address: str,
        due: datetime,
    ) -> OutboxMessage:
        language = recipient.language
        building = recipient.building
        text = (
            in_language(announcement.texts or {}, language, building.language if building else None)
            or announcement.text
        )
        body = f"{_header(announcement, building, language)}\n\n{text}"
        files = (Photo(announcement.photo_sha256).ref(),) if announcement.photo_sha256 else ()
        if route is Route.EMAIL:
            message = self._mail(announcement, text, body, language, files)
        else:
            message = OutgoingMessage(body, files, language=language)
        emergency = announcement.kind is AnnouncementKind.EMERGENCY
        return OutboxMessage(
            channel=route.value,
            recipient=address,
            payload=message.to_payload(),
            idempotency_key=fitted_key(
                OutboxMessage, "idempotency_key", f"announce:{announcement.id}:{route}:{address}"
            ),
            next_attempt_at=due,
            max_attempts=self.max_attempts,
            priority=Priority.URGENT if emergency else Priority.BULK,
            created_at=self.clock.now(),
            announcement_id=announcement.id,
        )

    def _mail(
        self,
        announcement: Announcement,
        text: str,
        body: str,
        language: str | None,
        files: tuple[FileRef, ...],
    ) -> OutgoingMessage:
        first_line = text.splitlines()[0]
        headline = first_line if len(first_line) <= 60 else first_line[:59] + "…"
        subject = (
            N_("Emergency: {headline}")
            if announcement.kind is AnnouncementKind.EMERGENCY
            else N_("Announcement: {headline}")
        )
        return OutgoingMessage(
            body,
            files,
            subject=gettext(language, subject, headline=headline),
            message_id=f"<hd-ann-{announcement.id}-{uuid.uuid4().hex[:16]}@{self.mail_domain}>",
            automatic=True,
            language=language,
        )

    # -- helpers ---------------------------------------------------------------------------

    def _send_at(
        self, local: datetime | None, building: Building | None, now: datetime
    ) -> datetime | None:
        if local is None:
            return None
        zone = ZoneInfo(building.timezone if building else self.timezone)
        moment = local.replace(tzinfo=zone).astimezone(UTC)
        if moment <= now:
            raise InvalidInput(
                f"{local:%Y-%m-%d %H:%M} has passed",
                message=N_("{time} has passed; give a later time."),
                time=AudienceTime(moment, zone.key),
            )
        return moment

    def _result(self, announcement: Announcement, building: Building | None) -> AnnounceResult:
        counts = {**_zero(), **(announcement.counts or {})}
        return AnnounceResult(
            announcement.id,
            announcement.status,
            counts["chat"],
            counts["email"],
            counts["unreachable"],
            counts["held"],
            announcement.send_at,
            building.timezone if building else self.timezone,
        )


def _header(announcement: Announcement, building: Building | None, language: str | None) -> str:
    """``📢 Oak Court · Alice Manager``, naming the building and the sender."""
    place = building.name if building else gettext(language, N_("All buildings"))
    sender = (
        announcement.actor_label
        if announcement.actor_id is not None  # type: ignore[attr-defined]
        else gettext(language, N_("the management"))
    )
    if announcement.kind is AnnouncementKind.EMERGENCY:
        return gettext(
            language, N_("🚨 Emergency · {building} · {sender}"), building=place, sender=sender
        )
    return gettext(
        language, N_("📢 Announcement · {building} · {sender}"), building=place, sender=sender
    )


def _already(announcement: Announcement) -> ConflictError:
    status = announcement.status
    return ConflictError(
        f"announcement {announcement.id} is {status.value}",
        message=N_("Announcement {id} is already {status}."),
        id=announcement.id,
        status=Msgid(STATUS_NAMES[status]),
    )


def _event(kind: str, actor: Actor, at: datetime) -> dict[str, object]:
    return {"type": kind, "actor": actor.label, "at": at.isoformat()}


async def _building(announcement: Announcement) -> Building | None:
    building_id = announcement.building_id  # type: ignore[attr-defined]
    return await Building.get(id=building_id) if building_id is not None else None


def _scope(announcement: Announcement) -> Scope:
    return Scope.stored(announcement.scope)


def _value(recipient: Recipient, kind: ContactKind) -> str:
    return recipient.contacts[kind].value


def _zero() -> dict[str, int]:
    return {"chat": 0, "email": 0, "unreachable": 0, "held": 0}


def _check(text: str, photo: Photo | None) -> None:
    if not text:
        raise InvalidInput("an announcement needs a text")
    if photo is not None and not _SHA256.match(photo.sha256):
        raise InvalidInput(f"not a stored photo: {photo.sha256!r} (expected a sha256)")
