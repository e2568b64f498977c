"""The hourly limit on ordinary announcements: at most N reach one resident in any hour.

A message over the limit is not dropped but moved: it goes an hour after the N-th latest
ordinary announcement the same recipient has got or will get, so every hour-long window
holds at most N of them. Emergency announcements are neither counted nor moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from core.messaging.routes import Priority, Route
from core.storage.models import OutboxMessage, OutboxStatus

HOUR = timedelta(hours=1)


async def next_free_slots(
    route: Route, dues: Mapping[str, datetime], per_hour: int, *, exclude: int | None = None
) -> dict[str, datetime]:
    """The recipients of ``dues`` (address: when its message would go) whose message would
    break the limit, each with the time it may go instead; ``per_hour`` 0 means no limit.
    Rows of announcement ``exclude`` (the one being queued) do not count."""
    if per_hour <= 0 or not dues:
        return {}
    earliest = min(dues.values()) - HOUR
    rows = (
        await OutboxMessage.filter(
            channel=route.value,
            recipient__in=list(dues),
            announcement_id__isnull=False,
            priority=int(Priority.BULK),
            next_attempt_at__gt=earliest,
        )
        .exclude(status=OutboxStatus.FAILED)
        .exclude(announcement_id=exclude)
        .values_list("recipient", "next_attempt_at")
    )
    earlier: dict[str, list[datetime]] = defaultdict(list)
    for recipient, at in rows:
        earlier[str(recipient)].append(at)
    moved: dict[str, datetime] = {}
    for recipient, times in earlier.items():
        due = dues[recipient]
        recent = sorted(t for t in times if t > due - HOUR)
        if len(recent) >= per_hour:
            moved[recipient] = max(due, recent[-per_hour] + HOUR)
    return moved
