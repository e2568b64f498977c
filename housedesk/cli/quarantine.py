"""``housedesk quarantine list|show|retry|drop``: input set aside after failing too often.

Items are named ``<kind>:<id>`` (``update:12`` for a chat update, ``mail:3`` for a mail);
every kind :func:`housedesk.quarantines.quarantines` names is listed together.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from core.errors import InvalidInput, NotFound
from core.messaging.quarantine import Quarantine, QuarantinedItem
from housedesk.bootstrap import App
from housedesk.quarantines import quarantines


def _parse(app: App, ref: str) -> tuple[Quarantine, int]:
    kind, _, number = ref.partition(":")
    known = quarantines(app)
    quarantine = known.get(kind)
    if quarantine is None or not number.isdigit():
        kinds = ", ".join(f"{k}:ID" for k in known)
        raise InvalidInput(f"not a quarantined item: {ref!r} (expected {kinds})")
    return quarantine, int(number)


def _as_json(item: QuarantinedItem) -> dict[str, Any]:
    data = asdict(item)
    data["quarantined_at"] = item.quarantined_at.isoformat()
    return data


async def cmd_list(app: App, args: argparse.Namespace) -> int:
    """Quarantined items of every kind, newest first."""
    items = [item for q in quarantines(app).values() for item in await q.items(args.limit)]
    items.sort(key=lambda item: item.quarantined_at, reverse=True)
    if args.json:
        print(json.dumps([_as_json(i) for i in items], ensure_ascii=False, indent=2))
        return 0
    if not items:
        print("quarantine is empty")
    for item in items:
        print(
            f"{item.ref:<14} {item.quarantined_at:%Y-%m-%d %H:%M} {item.source:<10} "
            f"attempts={item.attempts} {item.summary}  [{item.last_error[:60]}]"
        )
    return 0


async def cmd_show(app: App, args: argparse.Namespace) -> int:
    """One item with its error and the input as received."""
    quarantine, item_id = _parse(app, args.ref)
    item = await quarantine.item(item_id)
    if item is None:
        raise NotFound(f"no quarantined item {args.ref}")
    if args.json:
        print(json.dumps(_as_json(item), ensure_ascii=False, indent=2))
        return 0
    print(f"{item.ref} from {item.source}, quarantined {item.quarantined_at.isoformat()}")
    print(f"  {item.summary}")
    print(f"  failed {item.attempts} times, last: {item.last_error}")
    print(item.raw)
    return 0


async def cmd_retry(app: App, args: argparse.Namespace) -> int:
    """Hand the item back: an update to the running service, with fresh attempts; a mail is
    taken in again at once. 1 when it failed again and stays in the quarantine."""
    quarantine, item_id = _parse(app, args.ref)
    if not await quarantine.retry(item_id, app.clock.now()):
        raise NotFound(f"no quarantined item {args.ref}")
    left = await quarantine.item(item_id)
    if left is not None:
        print(f"{args.ref} failed again and stays in the quarantine: {left.last_error}")
        return 1
    print(f"{args.ref} is out of the quarantine and handled again")
    return 0


async def cmd_drop(app: App, args: argparse.Namespace) -> int:
    """Delete the item for good."""
    quarantine, item_id = _parse(app, args.ref)
    if not await quarantine.drop(item_id):
        raise NotFound(f"no quarantined item {args.ref}")
    print(f"{args.ref} dropped")
    return 0


def add_quarantine_commands(subparsers: Any) -> None:
    """Add ``quarantine`` to the ``housedesk`` subcommands."""
    commands = subparsers.add_parser(
        "quarantine", help="input set aside after failing too often"
    ).add_subparsers(dest="quarantine_command", required=True)
    p = commands.add_parser("list", help="quarantined items, newest first")
    p.add_argument("--limit", type=int, default=50, help="per kind; 0 for all")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    p = commands.add_parser("show", help="one item with its error and raw input")
    p.add_argument("ref", help="e.g. update:12 or mail:3")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)
    for name, func, text in (
        ("retry", cmd_retry, "handle the item again, with fresh attempts"),
        ("drop", cmd_drop, "delete the item for good"),
    ):
        p = commands.add_parser(name, help=text)
        p.add_argument("ref", help="e.g. update:12 or mail:3")
        p.set_defaults(func=func)
