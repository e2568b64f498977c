"""After an announcement: how many of its messages were delivered, failed, or had nobody to
go to, told to its sender once nothing of it is left in the outbox.

The counts are read from the outbox rows (by ``announcement_id``) and kept on the
announcement when its sender is told, since sent rows are purged after some days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from core.i18n import N_, gettext, in_language, ngettext
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import enqueue
from core.messaging.routes import Priority, Route
from core.storage.models import (
    Announcement,
    AnnouncementStatus,
    Contact,
    ContactKind,
    OutboxMessage,
    OutboxStatus,
    Person,
)


@dataclass(frozen=True)
class DeliveryCounts:
    """Where an announcement's messages are: delivered, failed for good, still queued; and
    the residents it could not be sent to at all."""

    delivered: int
    failed: int
    pending: int
    unreachable: int


async def delivery_counts(announcement: Announcement) -> DeliveryCounts:
    """The counts now (or as kept when its sender was told)."""
    counts = announcement.counts or {}
    if announcement.reported_at is not None:
        return DeliveryCounts(
            counts.get("delivered", 0), counts.get("failed", 0), 0, counts.get("unreachable", 0)
        )
    rows = (
        await OutboxMessage.filter(announcement_id=announcement.id)
        .group_by("status")
        .annotate(n=Count("id"))
        .values("status", "n")
    )
    by_status = {str(getattr(r["status"], "value", r["status"])): int(r["n"]) for r in rows}
    return DeliveryCounts(
        by_status.get(OutboxStatus.SENT.value, 0),
        by_status.get(OutboxStatus.FAILED.value, 0),
        by_status.get(OutboxStatus.PENDING.value, 0),
        counts.get("unreachable", 0),
    )


def delivery_text(announcement: Announcement, counts: DeliveryCounts, language: str | None) -> str:
    """``Announcement 12 · Water is off…`` and one line per count, in ``language``."""
    text = in_language(announcement.texts or {}, language) or announcement.text
    headline = text.splitlines()[0][:60]
    lines = [
        gettext(
            language, N_("Announcement {id} · {headline}"), id=announcement.id, headline=headline
        ),
        ngettext(language, "{n} message delivered", "{n} messages delivered", counts.delivered),
        ngettext(
            language,
            "{n} message could not be delivered",
            "{n} messages could not be delivered",
            counts.failed,
        ),
        ngettext(
            language,
            "{n} resident has no contact to send to",
            "{n} residents have no contact to send to",
            counts.unreachable,
        ),
    ]
    if counts.pending:
        lines.append(
            ngettext(
                language, "{n} message still queued", "{n} messages still queued", counts.pending
            )
        )
    return "\n".join(lines)


async def report_finished(now: datetime, max_attempts: int = 8) -> int:
    """Tell the sender of every sent announcement with nothing left in the outbox how it
    went (by the staff chat, when they have one); return how many were reported."""
    reported = 0
    for announcement in await Announcement.filter(
        status=AnnouncementStatus.SENT, reported_at__isnull=True
    ).order_by("id"):
        counts = await delivery_counts(announcement)
        if counts.pending:
            continue
        kept = {
            **(announcement.counts or {}),
            "delivered": counts.delivered,
            "failed": counts.failed,
        }
        async with in_transaction():
            marked = await Announcement.filter(id=announcement.id, reported_at__isnull=True).update(
                reported_at=now, counts=kept
            )
            if not marked:
                continue  # another process told the sender
            await _tell_sender(announcement, counts, now, max_attempts)
        reported += 1
    return reported


async def _tell_sender(
    announcement: Announcement, counts: DeliveryCounts, now: datetime, max_attempts: int
) -> None:
    author_id = announcement.actor_id  # type: ignore[attr-defined]
    if author_id is None:
        return
    author = await Person.get(id=author_id)
    chat = (
        await Contact.filter(person_id=author_id, kind=ContactKind.CHAT, blocked=False)
        .order_by("id")
        .first()
    )
    if chat is None:
        return
    await enqueue(
        route=Route.STAFF_CHAT,
        recipient=chat.value,
        message=OutgoingMessage(
            delivery_text(announcement, counts, author.language), language=author.language
        ),
        key=f"announce-report:{announcement.id}",
        now=now,
        max_attempts=max_attempts,
        priority=Priority.NORMAL,
    )
