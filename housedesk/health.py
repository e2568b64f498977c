"""What ``/healthz`` tells about the running parts: each outbox lane (its channel's state,
backlog and oldest due row), the scheduler's last round and the quarantine."""

from __future__ import annotations

import contextlib
from datetime import datetime

from core.messaging.lane_health import Backlog, backlogs
from housedesk.bootstrap import App
from housedesk.quarantines import quarantines


async def runtime_view(app: App, database_up: bool) -> dict[str, object]:
    """``lanes``, ``scheduler_last_round`` and (with the database) ``quarantined``."""
    now = app.clock.now()
    found: dict[str, Backlog] = {}
    quarantined: int | None = None
    if database_up:
        with contextlib.suppress(Exception):  # gone since the ping: the rest still answers
            found = await backlogs(now)
            quarantined = sum([await q.count() for q in quarantines(app).values()])
    routes = sorted({*app.outbox.senders, *found})
    empty = Backlog(0, 0, None)
    lanes = {
        route: {
            **app.outbox.health.state(route).view(),
            **found.get(route, empty).view(now),
        }
        for route in routes
    }
    return {
        "lanes": lanes,
        "scheduler_last_round": _last_round(app),
        "quarantined": quarantined,
    }


def _last_round(app: App) -> dict[str, object] | None:
    scheduler = app.scheduler
    if scheduler is None or scheduler.last_round_at is None:
        return None
    at: datetime = scheduler.last_round_at
    return {"at": at.isoformat(), "seconds": round(scheduler.last_round_s or 0.0, 3)}


def degraded(app: App) -> bool:
    """A lane's channel is failing (a relay that is not there, a bot API that errs)."""
    return not app.outbox.health.all_up
