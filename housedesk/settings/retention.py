"""``[retention]``: the daily clean-up (``housedesk gc`` as a scheduler job) and how much
of old tickets' timelines it may remove."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field


class RetentionSettings(BaseModel):
    """``[retention]``; unknown keys are errors (like ``housedesk.settings.config.Section``)."""

    model_config = ConfigDict(extra="forbid")

    gc_daily: bool = True
    """Run ``housedesk gc`` once a day in the scheduler (sent outbox rows after
    ``[outbox] keep_sent_days``, handled updates, unused blobs)."""
    gc_time: time = time(3, 30)
    """When, in ``[operations] timezone``: the first scheduler tick at or after it."""
    closed_timeline_days: int = Field(0, ge=0)
    """0 (the default): the timeline is kept whole. N: for tickets closed or rejected more
    than N days ago, delete the delivery bookkeeping (``notification_sent``,
    ``notification_failed``, ``routing``, ``deadline_breach`` rows); the conversation,
    notes, status changes, assignments, files, ratings and merges stay."""
