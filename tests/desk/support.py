"""Helpers of the desk tests: launch data signed as Telegram signs it, and staff sessions."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web

from core.actors import Actor
from core.directory.lookup import normalize_contact
from core.incidents.commands import OpenIncident
from core.storage.models import Contact, ContactKind, Incident, IncidentKind, Person
from desk.launch import data_check_string, secret_key
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from tests.conftest import START
from tests.telegram.support import STAFF_BOT_TOKEN

if TYPE_CHECKING:  # the conftest imports this module
    from tests.desk.conftest import Chromium

ALICE = 100001
"""Alice Manager's Telegram id in the example directory."""

PHONE_SIZED = {"width": 390, "height": 844}
THEME = {
    "bg_color": "#17212b",
    "secondary_bg_color": "#232e3c",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
}


def signed_launch_data(bot_token: str, user_id: int, at: datetime, language: str = "en") -> str:
    """``tgWebAppData`` for ``user_id``, signed with ``bot_token`` at ``at``."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": user_id, "first_name": "Test", "language_code": language},
            separators=(",", ":"),
        ),
        "auth_date": str(int(at.timestamp())),
    }
    check = data_check_string(fields)
    fields["hash"] = hmac.new(secret_key(bot_token), check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


def launch_fragment(init_data: str) -> str:
    """The URL fragment Telegram opens a Mini App with."""
    return (
        f"#tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0"
        f"&tgWebAppThemeParams={quote(json.dumps(THEME), safe='')}"
    )


async def link_chat(name: str, chat_id: int) -> Person:
    """Link a member of staff of the example directory to a chat account."""
    person = await Person.get(name=name)
    await Contact.get_or_create(
        person=person,
        kind=ContactKind.CHAT,
        value=normalize_contact(ContactKind.CHAT, str(chat_id)),
    )
    return person


async def give_phone(name: str, phone: str) -> Person:
    """Give a person of the example directory a phone number."""
    person = await Person.get(name=name)
    await Contact.create(
        person=person, kind=ContactKind.PHONE, value=normalize_contact(ContactKind.PHONE, phone)
    )
    return person


@asynccontextmanager
async def serving(app: App) -> AsyncIterator[str]:
    """housedesk's HTTP server (with the desk) on a free port; yields the desk's URL."""
    runner = web.AppRunner(build_http_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/desk"
    finally:
        await runner.cleanup()


async def signed_in(
    chromium: Chromium, desk: str, user_id: int = ALICE, locale: str = "en-GB"
) -> Any:
    """A page signed in to the desk by ``user_id``'s launch data, on the journal."""
    page = await chromium.new_page(locale)
    launch = signed_launch_data(STAFF_BOT_TOKEN, user_id, START)
    await chromium.run(page.goto, f"{desk}/signin{launch_fragment(launch)}")
    await chromium.run(page.wait_for_url, f"{desk}/journal")
    return page


async def hot_water_off(
    app: App, text: str = "Hot water is off in Oak Court.", keywords: tuple[str, ...] = ()
) -> Incident:
    """Alice Manager opens the "Hot water off" emergency for Oak Court."""
    alice = await Person.get(name="Alice Manager")
    return await app.incidents.open(
        OpenIncident(
            kind=IncidentKind.EMERGENCY,
            buildings=("OAK",),
            title="Hot water off",
            texts={"en": text},
            actor=Actor.of(alice),
            keywords=keywords,
        )
    )
