"""``housedesk staff list`` and ``housedesk building list``: the directory as imported."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, TypeVar

from core.directory.listing import BuildingLine, StaffLine, building_lines, staff_lines
from housedesk.bootstrap import App

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Line = TypeVar("Line", bound="DataclassInstance")


async def cmd_staff_list(app: App, args: argparse.Namespace) -> int:
    """Print every member of staff: role, contacts, whether their chat is linked, scope."""
    empty = "no staff yet: `housedesk import FILE.toml` loads them"
    return _print_lines(await staff_lines(), args.json, empty, _staff_text)


async def cmd_building_list(app: App, args: argparse.Namespace) -> int:
    """Print every building: code, name, time zone, language, phone, flats, residents."""
    empty = "no buildings yet: `housedesk import FILE.toml` loads them"
    return _print_lines(await building_lines(), args.json, empty, _building_text)


def _print_lines(
    lines: Sequence[Line], as_json: bool, empty: str, text: Callable[[Line], str]
) -> int:
    """Print ``lines`` as one JSON array, or each as ``text`` writes it (``empty`` for none)."""
    if as_json:
        print(json.dumps([asdict(line) for line in lines], ensure_ascii=False, indent=2))
        return 0
    if not lines:
        print(empty)
    for line in lines:
        print(text(line))
    return 0


def _staff_text(line: StaffLine) -> str:
    contacts = ", ".join([*line.email, *line.phone]) or "no email or phone"
    chat = "chat linked" if line.chat_linked else "chat not linked (housedesk staff invite)"
    inactive = " (inactive)" if not line.active else ""
    scope = ", ".join(line.buildings) or "no building"
    trades = f" · trades: {', '.join(line.trades)}" if line.trades else ""
    return (
        f"{line.name}{inactive} · {line.role} · {contacts} · {chat}\n  buildings: {scope}{trades}"
    )


def _building_text(line: BuildingLine) -> str:
    return (
        f"{line.code:<8} {line.name} · {line.timezone} · {line.language} · "
        f"{line.phone or 'no phone'} · {_count(line.units, 'flat')} · "
        f"{_count(line.residents, 'resident')}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def add_staff_list(staff: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``staff list [--json]``."""
    _add_list(staff, "every member of staff, with contacts and buildings", cmd_staff_list)


def add_building_list(building: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``building list [--json]``."""
    _add_list(building, "every building, with its flats and residents", cmd_building_list)


def _add_list(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    summary: str,
    func: Callable[[App, argparse.Namespace], object],
) -> None:
    p = commands.add_parser("list", help=summary)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=func)
