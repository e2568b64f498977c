"""``housedesk tickets edit`` and ``tickets merge``: set a ticket's building, flat or
category, and close a duplicate into the request it repeats."""

from __future__ import annotations

import argparse
from typing import Any

from core.actors import CLI, Actor
from core.directory.lookup import find_staff
from housedesk.bootstrap import App


async def _actor(args: argparse.Namespace) -> Actor:
    return Actor.of(await find_staff(args.as_staff)) if args.as_staff else CLI


async def cmd_tickets_edit(app: App, args: argparse.Namespace) -> int:
    """Change a ticket's building, flat and/or category in one step."""
    await app.tickets.edit(
        args.ref,
        await _actor(args),
        building=args.building,
        unit=args.unit,
        category=args.category,
    )
    ticket = await app.tickets.get(args.ref)
    where = f"{ticket.building.code if ticket.building else '-'}/"
    where += ticket.unit.number if ticket.unit else "-"
    print(f"changed {ticket.ref}: {where} {ticket.category.code}")
    return 0


async def cmd_tickets_merge(app: App, args: argparse.Namespace) -> int:
    """Close a duplicate into the request it repeats."""
    survivor = await app.tickets.merge(args.duplicate, args.survivor, await _actor(args))
    print(f"merged {args.duplicate} into {survivor.ref}")
    return 0


def add_correction_commands(tickets: Any) -> None:
    """Add ``edit`` and ``merge`` to the ``housedesk tickets`` subcommands."""
    p = tickets.add_parser("edit", help="change a ticket's building, flat or category")
    p.add_argument("ref")
    p.add_argument("--building", help="building code")
    p.add_argument("--unit", help="flat number")
    p.add_argument("--category", help="category code")
    p.add_argument("--as", dest="as_staff", help="act as this staff member")
    p.set_defaults(func=cmd_tickets_edit)

    p = tickets.add_parser("merge", help="close a duplicate into the request it repeats")
    p.add_argument("duplicate", help="the duplicate, closed with a link")
    p.add_argument("survivor", help="the request that stays open")
    p.add_argument("--as", dest="as_staff", help="act as this staff member")
    p.set_defaults(func=cmd_tickets_merge)
