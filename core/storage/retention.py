"""Retention (``housedesk gc``): what the log no longer needs is purged, nothing a ticket shows.

* outbox rows sent longer ago than ``keep_sent`` (pending and failed rows stay);
* chat updates handled longer ago than ``keep_updates`` (quarantined ones stay);
* blobs that no attachment, announcement or unsent outbox row names, and half-written
  temporary files; only files older than ``blob_grace``, so a blob written just now, whose
  attachment row is not committed yet, is never removed.

Rows are deleted in small batches, so no long transaction holds the database.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tortoise.queryset import QuerySet

from core.storage.blobs import TEMP_PREFIX, BlobStore
from core.storage.models import (
    Announcement,
    Attachment,
    InboundUpdate,
    OutboxMessage,
    OutboxStatus,
)

BATCH = 500
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_DIGEST_IN_TEXT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class RetentionPolicy:
    """How long things are kept."""

    keep_sent: timedelta = timedelta(days=30)
    keep_updates: timedelta = timedelta(days=7)
    blob_grace: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class GcReport:
    """What was (or, in a dry run, would be) removed."""

    outbox_rows: int
    updates: int
    blobs: int
    blob_bytes: int
    temp_files: int

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"{self.outbox_rows} sent outbox row(s), {self.updates} handled update(s), "
            f"{self.blobs} unreferenced blob(s) ({self.blob_bytes} bytes), "
            f"{self.temp_files} stale temporary file(s)"
        )


async def collect_garbage(
    blobs: BlobStore, now: datetime, policy: RetentionPolicy, *, dry_run: bool = False
) -> GcReport:
    """Purge what ``policy`` no longer keeps; with ``dry_run`` only count it."""
    outbox_rows = await _purge(
        OutboxMessage.filter(status=OutboxStatus.SENT, sent_at__lt=now - policy.keep_sent),
        OutboxMessage,
        dry_run,
    )
    updates = await _purge(
        InboundUpdate.filter(handled_at__lt=now - policy.keep_updates), InboundUpdate, dry_run
    )
    cutoff = (now - policy.blob_grace).timestamp()
    in_use = await _unsent_digests()
    count = size = temp_files = 0
    for batch in _batches(_old_files(blobs.root, cutoff)):
        digests = [path.name for path in batch if _DIGEST.match(path.name)]
        in_use |= await _referenced(digests)
        for path in batch:
            if path.name.startswith(TEMP_PREFIX):
                temp_files += 1
            elif _DIGEST.match(path.name) and path.name not in in_use:
                count += 1
                size += path.stat().st_size
            else:
                continue
            if not dry_run:
                path.unlink(missing_ok=True)
    return GcReport(outbox_rows, updates, count, size, temp_files)


async def _purge(query: QuerySet, model: type[OutboxMessage | InboundUpdate], dry_run: bool) -> int:
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


def _old_files(root: Path, cutoff: float) -> Iterator[Path]:
    """Files under ``root`` last changed before ``cutoff`` (a POSIX time)."""
    if not root.is_dir():
        return
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.stat().st_mtime < cutoff:
                yield path


def _batches(paths: Iterator[Path]) -> Iterator[list[Path]]:
    batch: list[Path] = []
    for path in paths:
        batch.append(path)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
