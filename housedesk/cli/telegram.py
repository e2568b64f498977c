"""``housedesk staff invite NAME`` and ``housedesk building qr CODE``."""

from __future__ import annotations

import argparse
from pathlib import Path

import aiohttp

from bots.deep_links import start_link
from bots.poster import building_poster
from core.directory.invites import INVITE_TTL, create_invite
from core.directory.lookup import building_by_code, find_staff
from core.errors import InvalidInput
from housedesk.bootstrap import App
from housedesk.cli.directory import add_building_list, add_staff_list
from housedesk.settings.telegram import TelegramSettings


async def bot_username(settings: TelegramSettings, bot: str) -> str | None:
    """The ``resident`` or ``staff`` bot's username: configured, else asked from Telegram
    (a plain getMe: the bot libraries take seconds to import)."""
    configured = (
        settings.resident_bot_username if bot == "resident" else settings.staff_bot_username
    )
    if configured:
        return configured.lstrip("@")
    secret = settings.resident_token if bot == "resident" else settings.staff_token
    if secret is None:
        return None
    url = f"{settings.api_base}/bot{secret.get_secret_value()}/getMe"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(url) as response,
        ):
            answer = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    result = answer.get("result") if isinstance(answer, dict) and answer.get("ok") else None
    return str(result["username"]) if isinstance(result, dict) and result.get("username") else None


async def cmd_staff_invite(app: App, args: argparse.Namespace) -> int:
    """Print a one-time, expiring code that links a staff member's Telegram account."""
    person = await find_staff(args.name)
    code = await create_invite(args.name, app.clock)
    hours = int(INVITE_TTL.total_seconds() // 3600)
    print(code)
    print(f"for {person.name}: valid once, for {hours} hours; send /start {code} to the staff bot")
    username = await bot_username(app.settings.telegram, "staff")
    if username:
        print(start_link(username, code))
    return 0


async def cmd_building_qr(app: App, args: argparse.Namespace) -> int:
    """Write a print-ready PNG poster with the building's registration link as a QR code."""
    building = await building_by_code(args.code)
    username = await bot_username(app.settings.telegram, "resident")
    if username is None:
        raise InvalidInput(
            "the residents' bot username is unknown: set [telegram] resident_bot_username "
            "(or resident_token, to ask Telegram)"
        )
    link = start_link(username, building.code)
    out = Path(args.out or f"{building.code}-poster.png")
    out.write_bytes(building_poster(building, link))
    print(f"wrote {out}: {link}")
    return 0


def add_telegram_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``staff invite|list`` and ``building qr|list`` to the ``housedesk`` parser."""
    staff = sub.add_parser("staff", help="staff and the staff bot").add_subparsers(
        dest="staff_command", required=True
    )
    p = staff.add_parser("invite", help="a one-time code that links a Telegram account")
    p.add_argument("name", help="name, email, phone or Telegram id of the staff member")
    p.set_defaults(func=cmd_staff_invite)
    add_staff_list(staff)

    building = sub.add_parser("building", help="buildings and their posters").add_subparsers(
        dest="building_command", required=True
    )
    p = building.add_parser("qr", help="a PNG poster with the building's registration QR code")
    p.add_argument("code", help="the building's code")
    p.add_argument("--out", help="the PNG file to write (default: CODE-poster.png)")
    p.set_defaults(func=cmd_building_qr)
    add_building_list(building)
