"""``housedesk status [--json]``: the cluster: processes, who leads which job, lane backlogs."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from core.storage.cluster import Backlog, Member, backlogs, inbox_backlog, leaders, members
from housedesk.bootstrap import App


async def cmd_status(app: App, args: argparse.Namespace) -> int:
    """Print the processes sharing the database, the leads and what waits to be sent."""
    now = app.clock.now()
    found = await members(now)
    lanes = await backlogs(now)
    updates = await inbox_backlog()
    if args.json:
        print(json.dumps(_view(found, lanes, updates), ensure_ascii=False, indent=2))
        return 0
    alive = [m for m in found if m.alive]
    print(f"processes: {len(alive)} running" + _gone(found))
    for m in found:
        seen = f"seen {(now - m.last_seen).total_seconds():.0f}s ago"
        state = "up" if m.alive else "GONE"
        print(f"  {m.node:<28} {state:<4} {m.host} pid {m.pid}, since {_at(m.started_at)}, {seen}")
    print("leaders:")
    led = leaders(found)
    for job in sorted(led):
        print(f"  {job:<28} {led[job]}")
    if not led:
        print("  (none: no process runs, or none has taken a lead yet)")
    print("outbox lanes:        waiting   due   in flight   failed")
    for lane in lanes:
        print(
            f"  {lane.route:<16} {lane.waiting:>9} {lane.due:>5} {lane.in_flight:>11}"
            f" {lane.failed:>8}"
        )
    if not lanes:
        print("  (nothing waiting)")
    waiting = ", ".join(f"{bot} {n}" for bot, n in sorted(updates.items())) or "none"
    print(f"chat updates waiting: {waiting}")
    return 0


def _gone(found: list[Member]) -> str:
    gone = sum(1 for m in found if not m.alive)
    return f", {gone} gone (not seen lately)" if gone else ""


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _view(found: list[Member], lanes: list[Backlog], updates: dict[str, int]) -> dict[str, Any]:
    return {
        "processes": [
            {
                "node": m.node,
                "host": m.host,
                "pid": m.pid,
                "started_at": m.started_at.isoformat(),
                "last_seen": m.last_seen.isoformat(),
                "leads": list(m.leads),
                "alive": m.alive,
            }
            for m in found
        ],
        "leaders": leaders(found),
        "lanes": [vars(lane) for lane in lanes],
        "updates_waiting": updates,
    }


def add_status_commands(subparsers: Any) -> None:
    """Add ``status`` to the ``housedesk`` subcommands."""
    p = subparsers.add_parser(
        "status", help="the processes sharing the database, their leads and lane backlogs"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)
