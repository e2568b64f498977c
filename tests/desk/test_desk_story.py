"""A dispatcher's morning on the desk, in a real headless chromium at a phone's size: opened
from the staff bot with signed launch data, a phone call from a known resident filed as a
ticket, assigned, the technician's card at the Bot API stand-in, and the technician's
"accept" seen on the open page without reloading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from core.storage.models import Status, Ticket
from housedesk.bootstrap import App
from tests.bots.support import (
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.conftest import START
from tests.desk.conftest import Chromium
from tests.desk.support import give_phone, launch_fragment, link_chat, signed_launch_data
from tests.fakes.botapi import BotApiServer

CAROL_CHAT = 100006  # Carol Accounts, a dispatcher of every building
TOM_PHONE = "+44 7700 900555"
HOSTILE_TITLE = 'Water through the ceiling <img src=x onerror="document.title=1">'


async def test_dispatcher_files_a_call_assigns_it_and_sees_it_accepted(
    app: App, botapi: BotApiServer, chromium: Chromium, screenshots: Path
) -> None:
    await load_example_directory()
    await link_chat("Carol Accounts", CAROL_CHAT)
    await give_phone("Tom Tenant", TOM_PHONE)
    async with running_housedesk(app, botapi) as housedesk:
        desk = housedesk.http_url + "/desk"
        carol = TelegramUser.of(botapi, STAFF, CAROL_CHAT, "Carol")
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")

        # /desk in the staff bot: the Mini App button, and a single-use link for a browser.
        carol.send("/desk")
        answer = await carol.sees("The dispatcher's desk")
        buttons = [b for row in answer["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[0]["web_app"]["url"] == "https://desk.example/desk/signin"
        link = urlparse(buttons[1]["url"])
        assert link.path.startswith("/desk/signin/link/")
        # The staff bot's menu button opens the desk: for every chat, and Carol's own.
        menus = await eventually(lambda: _menu_buttons(botapi, 2), what="two menu buttons")
        assert [m.get("chat_id") for m in menus] == [None, CAROL_CHAT]
        assert all(_json(m["menu_button"])["web_app"]["url"].endswith("/signin") for m in menus)

        # Telegram opens the Mini App with signed launch data in the fragment.
        page = await chromium.new_page()
        launch = signed_launch_data(STAFF, CAROL_CHAT, START)
        await chromium.run(page.goto, f"{desk}/signin{launch_fragment(launch)}")
        await chromium.run(page.wait_for_url, f"{desk}/journal")
        assert await chromium.run(page.inner_text, "h1") == "Journal"
        cookie = (await chromium.run(page.context.cookies))[0]
        # Served behind https (public_url): HttpOnly, Secure, and SameSite=None so that
        # Telegram's web client may frame it; the form token guards every change.
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "None"

        # A call from Tom: the desk knows him and his flat, and files the ticket.
        await chromium.run(page.click, "text=New call")
        await chromium.run(page.fill, "input[name=phone]", TOM_PHONE)
        await chromium.run(page.click, "text=Look up")
        caller = await chromium.run(page.inner_text, "#caller")
        assert "Tom Tenant" in caller and "Oak Court, flat 12" in caller
        assert await chromium.run(page.input_value, "input[name=unit]") == "12"
        await chromium.run(page.fill, "input[name=title]", HOSTILE_TITLE)
        await chromium.run(page.fill, "textarea[name=description]", "Dripping onto the kitchen")
        await chromium.run(page.click, "form.stack button[type=submit]")
        await chromium.run(page.wait_for_selector, "#timeline")
        ticket = await Ticket.get(title=HOSTILE_TITLE)
        assert ticket.requester_id is not None  # type: ignore[attr-defined]

        # User text containing HTML is shown as text, and nothing of it runs.
        heading = await chromium.run(page.inner_text, "h1")
        assert heading == f"#{ticket.id} · {HOSTILE_TITLE}"
        assert await chromium.run(page.title) != "1"
        assert await chromium.run(page.query_selector, "main img[src=x]") is None

        # Assign to Bob, with each technician's load and shift shown.
        await chromium.run(page.click, "#assign summary")
        options = await chromium.run(page.inner_text, "#assign select")
        assert "Bob Plumber · 0 open tickets · on shift" in options
        await chromium.run(page.select_option, "#assign select", label=_label(options, "Bob"))
        await chromium.run(page.click, "#assign button")
        await chromium.run(page.wait_for_selector, "#assignee:has-text('Bob Plumber')")
        await chromium.run(page.screenshot, path=str(screenshots / "ticket-en.png"), full_page=True)

        # The card reaches Bob through the outbox and the Bot API stand-in.
        card = await bob.sees(HOSTILE_TITLE)
        assert f"#{ticket.id}" in shown_text(card)

        # Bob accepts in the bot; the open page shows it without being reloaded.
        await chromium.run(page.evaluate, "window.notReloaded = true")
        bob.press(card, "Accept")
        await eventually(
            lambda: _status_is(ticket.id, Status.IN_PROGRESS), what="the ticket in progress"
        )
        await chromium.run(page.wait_for_selector, "#status:text-is('in progress')")
        assert await chromium.run(page.evaluate, "window.notReloaded") is True
        timeline = await chromium.run(page.inner_text, "#timeline")
        assert "Carol Accounts assigned the request to Bob Plumber" in timeline
        assert "changed the status from new to in progress" in timeline

        # The journal lists it; the screenshot is for a person to look at.
        await chromium.run(page.click, "nav >> text=Journal")
        listed = await chromium.run(page.inner_text, "ul.tickets")
        assert HOSTILE_TITLE in listed
        await chromium.run(
            page.screenshot, path=str(screenshots / "journal-en.png"), full_page=True
        )
        assert page.script_errors == []


def _menu_buttons(botapi: BotApiServer, count: int) -> list[dict[str, Any]] | None:
    menus = [c.params for c in botapi.calls(STAFF) if c.method == "setChatMenuButton"]
    return menus if len(menus) >= count else None


def _json(value: object) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[call-overload]


def _label(options: str, name: str) -> str:
    return next(line.strip() for line in options.splitlines() if line.strip().startswith(name))


async def _status_is(ticket_id: int, status: Status) -> bool:
    return (await Ticket.get(id=ticket_id)).status == status
