"""``housedesk desk sessions [--end STAFF]``: who is signed in to the desk, and ending
someone's sessions (a lost phone, someone who left)."""

from __future__ import annotations

import argparse
from typing import Any

from core.directory.desk_sessions import end_sessions_of, running_sessions
from core.directory.lookup import find_staff
from housedesk.bootstrap import App


async def cmd_desk_sessions(app: App, args: argparse.Namespace) -> int:
    """List the running sessions, or end every session of one member of staff."""
    now = app.clock.now()
    if args.end:
        person = await find_staff(args.end)
        ended = await end_sessions_of(person, now)
        print(f"ended {ended} desk session{'s' if ended != 1 else ''} of {person.name}")
        return 0
    sessions = await running_sessions(now)
    for session in sessions:
        print(
            f"{session.person.name}\t{session.via}\tsince {session.created_at.isoformat()}"
            f"\tuntil {session.expires_at.isoformat()}"
        )
    if not sessions:
        print("nobody is signed in to the desk")
    return 0


def add_desk_commands(subparsers: Any) -> None:
    """Add ``desk sessions`` to the ``housedesk`` subcommands."""
    desk = subparsers.add_parser("desk", help="the dispatcher's desk").add_subparsers(
        dest="desk_command", required=True
    )
    p = desk.add_parser("sessions", help="who is signed in; --end STAFF signs them out")
    p.add_argument("--end", metavar="STAFF", help="end every session of this member of staff")
    p.set_defaults(func=cmd_desk_sessions)
