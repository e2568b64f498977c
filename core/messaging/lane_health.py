"""How each outbox lane is doing: its backlog, and whether its channel answers.

:func:`backlogs` reads the pending rows per route (how many, how many due, the oldest due
one) in one grouped query. :class:`LaneHealth` remembers the last result of each lane's
sends: ``up`` after a success (or a refusal that concerns one message, such as a blocked
chat), ``failing`` after a temporary failure (a relay that refuses connections, a
timeout, a 5xx), with the error, until the next success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise import connections

from core.storage.rawsql import bind, stored_time

_BACKLOG = (
    'SELECT "channel", COUNT(*) AS "pending",'
    ' SUM(CASE WHEN "next_attempt_at" <= :now THEN 1 ELSE 0 END) AS "due",'
    ' MIN(CASE WHEN "next_attempt_at" <= :now THEN "next_attempt_at" END) AS "oldest_due"'
    ' FROM "outbox" WHERE "status" = \'pending\' GROUP BY "channel"'
)


@dataclass(frozen=True)
class Backlog:
    """A lane's pending rows: all of them, those due now, and the oldest due one's time."""

    pending: int
    due: int
    oldest_due_at: datetime | None

    def view(self, now: datetime) -> dict[str, object]:
        """As ``/healthz`` shows it (times in UTC, ISO 8601; the oldest's wait in seconds)."""
        oldest = self.oldest_due_at
        return {
            "pending": self.pending,
            "due": self.due,
            "oldest_due_at": oldest.isoformat() if oldest else None,
            "oldest_due_waiting_s": round((now - oldest).total_seconds(), 1) if oldest else 0,
        }


async def backlogs(now: datetime) -> dict[str, Backlog]:
    """Every route with pending rows, and its :class:`Backlog`."""
    conn = connections.get("default")
    sql, values = bind(_BACKLOG, {"now": now}, conn.capabilities.dialect)
    found = {}
    for row in await conn.execute_query_dict(sql, values):
        oldest = stored_time(row["oldest_due"])
        found[row["channel"]] = Backlog(int(row["pending"]), int(row["due"] or 0), oldest)
    return found


@dataclass
class LaneState:
    """The last result of a lane's sends."""

    state: str = "up"
    error: str = ""
    since: datetime | None = None

    def view(self) -> dict[str, object]:
        """As ``/healthz`` shows it."""
        view: dict[str, object] = {"state": self.state}
        if self.state != "up":
            view["error"] = self.error
            view["since"] = self.since.isoformat() if self.since else None
        return view


class LaneHealth:
    """The state of every lane, kept by the worker as it sends."""

    def __init__(self) -> None:
        self.lanes: dict[str, LaneState] = {}

    def answered(self, route: str) -> None:
        """The channel took (or knowingly refused) a message."""
        self.lanes[route] = LaneState()

    def failing(self, route: str, error: str, now: datetime) -> None:
        """A send failed in a way the channel may get over; keep the first failure's time."""
        current = self.lanes.get(route)
        since = current.since if current and current.state == "failing" else now
        first_line = error.splitlines()[0][:300] if error else ""
        self.lanes[route] = LaneState("failing", first_line, since)

    def state(self, route: str) -> LaneState:
        """The lane's state (``up`` before its first send)."""
        return self.lanes.get(route, LaneState())

    @property
    def all_up(self) -> bool:
        """No lane is failing."""
        return all(lane.state == "up" for lane in self.lanes.values())
