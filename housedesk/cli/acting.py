"""``--as STAFF``: the member of staff a command acts as; without it, the operator (``cli``)."""

from __future__ import annotations

import argparse

from core.actors import CLI, Actor
from core.directory.lookup import find_staff


def add_as_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--as STAFF`` (by name, email, phone or Telegram id) to a command."""
    parser.add_argument("--as", dest="as_staff", help="act as this staff member")


async def actor_of(args: argparse.Namespace) -> Actor:
    """Who a command acts as: the ``--as`` staff member, else the operator."""
    if getattr(args, "as_staff", None):
        return Actor.of(await find_staff(args.as_staff))
    return CLI
