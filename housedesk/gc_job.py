"""``housedesk gc`` as a daily scheduler job, and the retention policy both read from
settings (``[outbox] keep_sent_days``, ``[telegram] keep_handled_updates_days``,
``[storage] blob_grace_hours``, ``[retention]``)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.storage import job_runs
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
    (in ``[operations] timezone``); the other ticks do nothing. The day's run is claimed in
    the database (:mod:`core.storage.job_runs`) before it starts, so it runs once a day
    across restarts, leader changes and processes (``node`` names this one)."""

    JOB = "gc"

    def __init__(self, settings: Settings, blobs: BlobStore, node: str = "") -> None:
        self.policy = retention_policy(settings)
        self.blobs = blobs
        self.node = node
        self.at = settings.retention.gc_time
        self.zone = ZoneInfo(settings.operations.timezone)
        self.last_day: date | None = None
        """The last day this process knows the clean-up ran (saves the claim's statement)."""

    def due(self, now: datetime) -> bool:
        """Whether today's clean-up may be owed at ``now`` (the claim decides)."""
        local = now.astimezone(self.zone)
        return local.time() >= self.at and local.date() != self.last_day

    async def __call__(self, now: datetime) -> int:
        """The clean-up when due: how many rows, blobs and files it removed."""
        if not self.due(now):
            return 0
        day = now.astimezone(self.zone).date()
        if not await job_runs.claim(self.JOB, day.isoformat(), self.node, now):
            self.last_day = day  # another run (here before a restart, or elsewhere) did it
            return 0
        report = await collect_garbage(self.blobs, now, self.policy)
        removed = (
            report.outbox_rows
            + report.updates
            + report.blobs
            + report.temp_files
            + report.events
            + report.rate_buckets
        )
        await job_runs.finish(self.JOB, day.isoformat(), self.node, now, removed)
        self.last_day = day
        log.info("gc: removed %s", report.summary())
        return removed
