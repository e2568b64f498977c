"""``housedesk tickets edit`` and ``tickets merge``: set a ticket's building, flat or
category, and close a duplicate into the request it repeats."""

from __future__ import annotations

import argparse
from typing import Any

from housedesk.bootstrap import App
from housedesk.cli.acting import actor_of, add_as_option


async def cmd_tickets_edit(app: App, args: argparse.Namespace) -> int:
    """Change a ticket's building, flat and/or category in one step."""
    await app.tickets.edit(
        args.ref,
        await actor_of(args),
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
    survivor = await app.tickets.merge(args.duplicate, args.survivor, await actor_of(args))
    print(f"merged {args.duplicate} into {survivor.ref}")
    return 0


def add_correction_commands(tickets: Any) -> None:
    """Add ``edit`` and ``merge`` to the ``housedesk tickets`` subcommands."""
    p = tickets.add_parser("edit", help="change a ticket's building, flat or category")
    p.add_argument("ref")
    p.add_argument("--building", help="building code")
    p.add_argument("--unit", help="flat number")
    p.add_argument("--category", help="category code")
    add_as_option(p)
    p.set_defaults(func=cmd_tickets_edit)

    p = tickets.add_parser("merge", help="close a duplicate into the request it repeats")
    p.add_argument("duplicate", help="the duplicate, closed with a link")
    p.add_argument("survivor", help="the request that stays open")
    add_as_option(p)
    p.set_defaults(func=cmd_tickets_merge)
