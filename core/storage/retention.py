"""Retention (``housedesk gc``): what the log no longer needs is purged, nothing a ticket shows.

* outbox rows sent longer ago than ``keep_sent`` (pending and failed rows stay);
* only if ``closed_timeline_after`` is set (it is not by default): the delivery
  bookkeeping of tickets closed or rejected longer ago (:data:`BOOKKEEPING` rows); the
  conversation, notes, status changes, assignments, files, ratings and merges stay, so
  every view of the ticket still tells its story. Every other timeline row is kept: the
  desk, ``tickets show`` and the export show each kind;
* chat updates handled longer ago than ``keep_updates`` (quarantined ones stay);
* rate buckets (the bots' sending budget shared by processes) that are full again and
  untouched for ``idle_buckets``: one per chat ever written to would otherwise pile up;
* blobs that no attachment, announcement or unsent outbox row names, and what interrupted
  writes left; only those older than ``blob_grace``, so a blob written just now, whose
  attachment row is not committed yet, is never removed;
* after ``housedesk blobs migrate``, the local copies of blobs the configured store has.

Rows are deleted in small batches, so no long transaction holds the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.queryset import QuerySet

from core.storage import rate_buckets
from core.storage.blobs import BlobInfo, BlobStore
from core.storage.models import (
    Announcement,
    Attachment,
    EventType,
    InboundUpdate,
    OutboxMessage,
    OutboxStatus,
    Status,
    TicketEvent,
)

BATCH = 500
BOOKKEEPING = (
    EventType.NOTIFICATION_SENT,
    EventType.NOTIFICATION_FAILED,
    EventType.ROUTING,
    EventType.DEADLINE_BREACH,
)
"""Timeline rows about delivery and routing, purged from long-closed tickets on request."""
_DIGEST_IN_TEXT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RetentionPolicy:
    """How long things are kept."""

    keep_sent: timedelta = timedelta(days=30)
    keep_updates: timedelta = timedelta(days=7)
    blob_grace: timedelta = timedelta(hours=24)
    idle_buckets: timedelta = timedelta(hours=1)
    closed_timeline_after: timedelta | None = None
    """None: the timeline is kept whole; else closed tickets' :data:`BOOKKEEPING` rows go
    once the ticket has not changed for this long."""


@dataclass(frozen=True)
class GcReport:
    """What was (or, in a dry run, would be) removed."""

    outbox_rows: int
    updates: int
    blobs: int
    blob_bytes: int
    temp_files: int
    moved_copies: int = 0
    """Copies left in the previous store of blobs the configured store has."""
    not_moved: int = 0
    """Blobs only the previous store has: ``housedesk blobs migrate`` has yet to copy them."""
    events: int = 0
    """Bookkeeping rows of long-closed tickets' timelines."""
    rate_buckets: int = 0
    """Idle rate buckets (full, untouched for a while)."""

    def summary(self) -> str:
        """One line for the operator."""
        line = (
            f"{self.outbox_rows} sent outbox row(s), {self.updates} handled update(s), "
            f"{self.blobs} unreferenced blob(s) ({self.blob_bytes} bytes), "
            f"{self.temp_files} stale temporary file(s)"
        )
        if self.events:
            line += f", {self.events} closed tickets' bookkeeping event(s)"
        if self.rate_buckets:
            line += f", {self.rate_buckets} idle rate bucket(s)"
        if self.moved_copies or self.not_moved:
            line += (
                f", {self.moved_copies} old local copy(ies) of moved blobs"
                f" ({self.not_moved} not moved yet: run `housedesk blobs migrate`)"
            )
        return line


async def collect_garbage(
    blobs: BlobStore,
    now: datetime,
    policy: RetentionPolicy,
    *,
    dry_run: bool = False,
    previous: BlobStore | None = None,
) -> GcReport:
    """Purge what ``policy`` no longer keeps; with ``dry_run`` only count it.

    ``previous`` is the store ``blobs`` replaced (``housedesk blobs migrate``): its copies of
    blobs that ``blobs`` has are removed; those it alone has are kept and counted.
    """
    outbox_rows = await _purge(
        OutboxMessage.filter(status=OutboxStatus.SENT, sent_at__lt=now - policy.keep_sent),
        OutboxMessage,
        dry_run,
    )
    updates = await _purge(
        InboundUpdate.filter(handled_at__lt=now - policy.keep_updates), InboundUpdate, dry_run
    )
    buckets = await rate_buckets.purge_idle(policy.idle_buckets.total_seconds(), dry_run=dry_run)
    events = 0
    if policy.closed_timeline_after is not None:
        closed = TicketEvent.filter(
            type__in=BOOKKEEPING,
            ticket__status__in=(Status.CLOSED, Status.REJECTED),
            ticket__updated_at__lt=now - policy.closed_timeline_after,
        )
        events = await _purge(closed, TicketEvent, dry_run)
    cutoff = now - policy.blob_grace
    unused = await _unused_blobs(blobs, cutoff, await _unsent_digests())
    for info in unused if not dry_run else ():
        await blobs.delete(info.sha256)
    temp_files = await blobs.sweep(cutoff, dry_run=dry_run)
    moved = only_old = 0
    if previous is not None:
        moved, only_old = await _drop_moved(previous, blobs, dry_run)
    return GcReport(
        outbox_rows,
        updates,
        len(unused),
        sum(info.size for info in unused),
        temp_files,
        moved,
        only_old,
        events,
        buckets,
    )


async def _unused_blobs(blobs: BlobStore, cutoff: datetime, in_use: set[str]) -> list[BlobInfo]:
    """Blobs stored before ``cutoff`` that nothing names."""
    unused: list[BlobInfo] = []
    batch: list[BlobInfo] = []

    async def settle() -> None:
        in_use.update(await _referenced([info.sha256 for info in batch]))
        unused.extend(info for info in batch if info.sha256 not in in_use)
        batch.clear()

    async for info in blobs.blobs():
        if info.stored_at < cutoff:
            batch.append(info)
        if len(batch) == BATCH:
            await settle()
    await settle()
    return unused


async def _drop_moved(previous: BlobStore, current: BlobStore, dry_run: bool) -> tuple[int, int]:
    """Remove ``previous``'s copies of blobs ``current`` has; count both kinds."""
    moved = only_there = 0
    async for info in previous.blobs():
        if await current.exists(info.sha256):
            moved += 1
            if not dry_run:
                await previous.delete(info.sha256)
        else:
            only_there += 1
    return moved, only_there


async def _purge(
    query: QuerySet, model: type[OutboxMessage | InboundUpdate | TicketEvent], dry_run: bool
) -> int:
    if dry_run:
        return await query.count()
    total = 0
    while ids := await query.limit(BATCH).values_list("id", flat=True):
        total += await model.filter(id__in=list(ids)).delete()
    return total


async def _unsent_digests() -> set[str]:
    """Blob digests that outbox rows still to be sent (or retried by hand) name."""
    found: set[str] = set()
    unsent = OutboxMessage.exclude(status=OutboxStatus.SENT).order_by("id")
    last = 0
    while rows := await unsent.filter(id__gt=last).limit(BATCH).values_list("id", "payload"):
        for row_id, payload in rows:
            text = payload if isinstance(payload, str) else json.dumps(payload)
            found.update(_DIGEST_IN_TEXT.findall(text))
            last = row_id
    return found


async def _referenced(digests: list[str]) -> set[str]:
    if not digests:
        return set()
    named = await Attachment.filter(sha256__in=digests).values_list("sha256", flat=True)
    photos = await Announcement.filter(photo_sha256__in=digests).values_list(
        "photo_sha256", flat=True
    )
    return {str(d) for d in (*named, *photos)}
