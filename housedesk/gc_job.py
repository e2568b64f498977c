"""``housedesk gc`` as a daily scheduler job, and the retention policy both read from
settings (``[outbox] keep_sent_days``, ``[telegram] keep_handled_updates_days``,
``[storage] blob_grace_hours``, ``[retention]``)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.storage.blobs import BlobStore
from core.storage.retention import RetentionPolicy, collect_garbage
from housedesk.settings.config import Settings

log = logging.getLogger(__name__)


def retention_policy(settings: Settings) -> RetentionPolicy:
    """What the configuration keeps, and for how long."""
    closed_days = settings.retention.closed_timeline_days
    return RetentionPolicy(
        keep_sent=timedelta(days=settings.outbox.keep_sent_days),
        keep_updates=timedelta(days=settings.telegram.keep_handled_updates_days),
        blob_grace=timedelta(hours=settings.storage.blob_grace_hours),
        closed_timeline_after=timedelta(days=closed_days) if closed_days else None,
    )


class DailyGc:
    """Runs the clean-up at the first tick at or after ``[retention] gc_time`` each day
    (in ``[operations] timezone``); the other ticks do nothing."""

    def __init__(self, settings: Settings, blobs: BlobStore) -> None:
        self.policy = retention_policy(settings)
        self.blobs = blobs
        self.at = settings.retention.gc_time
        self.zone = ZoneInfo(settings.operations.timezone)
        self.last_day: date | None = None

    def due(self, now: datetime) -> bool:
        """Whether today's clean-up is owed at ``now``."""
        local = now.astimezone(self.zone)
        return local.time() >= self.at and local.date() != self.last_day

    async def __call__(self, now: datetime) -> int:
        """The clean-up when due: how many rows, blobs and files it removed."""
        if not self.due(now):
            return 0
        report = await collect_garbage(self.blobs, now, self.policy)
        self.last_day = now.astimezone(self.zone).date()
        log.info("gc: removed %s", report.summary())
        return (
            report.outbox_rows
            + report.updates
            + report.blobs
            + report.temp_files
            + report.events
            + report.rate_buckets
        )
