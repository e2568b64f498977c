"""The cluster as the database sees it: one heartbeat row per running process, and the
backlogs every process works from.

Each ``housedesk run`` writes its row (:func:`heartbeat`) every few seconds with the
periodic jobs it leads, and removes it when it stops (:func:`leave`); a process that died
leaves a row that stops ageing, shown as gone once it is older than ``stale_after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.storage.models import ClusterNode
from core.storage.rawsql import fetch

STALE_AFTER = timedelta(seconds=30)
"""A process not seen for this long is taken for dead."""
FORGET_AFTER = timedelta(days=1)
"""A dead process's row is removed this long after it was last seen."""


@dataclass(frozen=True)
class NodeIdentity:
    """Who a process is: its node id (unique in the cluster), host and pid."""

    node: str
    host: str
    pid: int
    started_at: datetime


@dataclass(frozen=True)
class Member:
    """A process of the cluster as last seen."""

    node: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime
    leads: tuple[str, ...]
    alive: bool


@dataclass(frozen=True)
class Backlog:
    """One outbox lane's rows: waiting (due now or later), in flight, failed for good."""

    route: str
    waiting: int
    due: int
    in_flight: int
    failed: int


async def heartbeat(identity: NodeIdentity, leads: Sequence[str], now: datetime) -> None:
    """Say that the process is alive now and leads ``leads``."""
    values = {
        "host": identity.host,
        "pid": identity.pid,
        "started_at": identity.started_at,
        "last_seen": now,
        "leads": sorted(leads),
    }
    if await ClusterNode.filter(node=identity.node).update(**values):
        return
    await ClusterNode.get_or_create(node=identity.node, defaults=values)


async def leave(node: str) -> None:
    """The process stops: its row goes."""
    await ClusterNode.filter(node=node).delete()


async def members(now: datetime, stale_after: timedelta = STALE_AFTER) -> list[Member]:
    """Every process with a row, the live ones first, by node id; long-dead rows removed."""
    await ClusterNode.filter(last_seen__lt=now - FORGET_AFTER).delete()
    rows = await ClusterNode.all().order_by("node")
    found = [
        Member(
            node=row.node,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            last_seen=row.last_seen,
            leads=tuple(row.leads or ()),
            alive=row.last_seen >= now - stale_after,
        )
        for row in rows
    ]
    return sorted(found, key=lambda m: (not m.alive, m.node))


def leaders(found: Sequence[Member]) -> dict[str, str]:
    """Which live process leads which job: ``{job: node}``."""
    return {job: member.node for member in found if member.alive for job in member.leads}


async def backlogs(now: datetime) -> list[Backlog]:
    """The outbox's rows not yet sent, per lane (route)."""
    rows = await fetch(
        'SELECT "channel", "status", "next_attempt_at" <= :now AS "due",'
        ' ("locked_until" IS NOT NULL AND "locked_until" >= :now) AS "in_flight",'
        ' COUNT(*) AS "n" FROM "outbox" WHERE "status" IN (\'pending\', \'failed\')'
        " GROUP BY 1, 2, 3, 4",
        now=now,
    )
    lanes: dict[str, dict[str, int]] = {}
    for row in rows:
        lane = lanes.setdefault(row["channel"], {"waiting": 0, "due": 0, "in_flight": 0})
        lane.setdefault("failed", 0)
        n = int(row["n"])
        if row["status"] == "failed":
            lane["failed"] += n
        elif row["in_flight"]:
            lane["in_flight"] += n
        else:
            lane["waiting"] += n
            lane["due"] += n if row["due"] else 0
    return [Backlog(route=route, **counts) for route, counts in sorted(lanes.items())]


async def inbox_backlog() -> dict[str, int]:
    """Stored chat updates not yet handled (nor set aside), per bot."""
    rows = await fetch(
        'SELECT "bot", COUNT(*) AS "n" FROM "inbound_update"'
        ' WHERE "handled_at" IS NULL AND "quarantined_at" IS NULL GROUP BY "bot"'
    )
    return {row["bot"]: int(row["n"]) for row in rows}
