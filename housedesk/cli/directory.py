"""``housedesk staff list`` and ``housedesk building list``: the directory as imported."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from core.directory.listing import building_lines, staff_lines
from housedesk.bootstrap import App


async def cmd_staff_list(app: App, args: argparse.Namespace) -> int:
    """Print every member of staff: role, contacts, whether their chat is linked, scope."""
    lines = await staff_lines()
    if args.json:
        print(json.dumps([asdict(line) for line in lines], ensure_ascii=False, indent=2))
        return 0
    if not lines:
        print("no staff yet: `housedesk import FILE.toml` loads them")
    for line in lines:
        contacts = ", ".join([*line.email, *line.phone]) or "no email or phone"
        chat = "chat linked" if line.chat_linked else "chat not linked (housedesk staff invite)"
        inactive = " (inactive)" if not line.active else ""
        print(f"{line.name}{inactive} · {line.role} · {contacts} · {chat}")
        scope = ", ".join(line.buildings) or "no building"
        trades = f" · trades: {', '.join(line.trades)}" if line.trades else ""
        print(f"  buildings: {scope}{trades}")
    return 0


async def cmd_building_list(app: App, args: argparse.Namespace) -> int:
    """Print every building: code, name, time zone, language, phone, flats, residents."""
    lines = await building_lines()
    if args.json:
        print(json.dumps([asdict(line) for line in lines], ensure_ascii=False, indent=2))
        return 0
    if not lines:
        print("no buildings yet: `housedesk import FILE.toml` loads them")
    for line in lines:
        print(
            f"{line.code:<8} {line.name} · {line.timezone} · {line.language} · "
            f"{line.phone or 'no phone'} · {_count(line.units, 'flat')} · "
            f"{_count(line.residents, 'resident')}"
        )
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def add_staff_list(staff: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``staff list [--json]``."""
    p = staff.add_parser("list", help="every member of staff, with contacts and buildings")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_staff_list)


def add_building_list(building: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``building list [--json]``."""
    p = building.add_parser("list", help="every building, with its flats and residents")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_building_list)
