"""/mine, /open and /my show a page at a time, each inside Telegram's 4,096 characters,
with buttons to the next and the previous page."""

from __future__ import annotations

import re
from datetime import timedelta

from core.storage.models import (
    Building,
    Category,
    Channel,
    Contact,
    ContactKind,
    Person,
    Status,
    Ticket,
)
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    button_data,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
    start_report,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_account import MESSAGE_TEXT_LIMIT

LONG = "The radiator in the back bedroom knocks and hisses all night long " * 5


async def _tickets(app: App, n: int, **values: object) -> list[int]:
    """``n`` open Oak Court tickets with 290-character titles, newest last; their ids."""
    oak = await Building.get(code="OAK")
    technical = await Category.get(code="technical")
    now = app.clock.now()
    await Ticket.bulk_create(
        Ticket(
            building=oak,
            category=technical,
            channel=Channel.CHAT,
            status=Status.IN_PROGRESS,
            title=f"{i:03d} {LONG}"[:290],
            created_at=now + timedelta(seconds=i),
            updated_at=now,
            **values,
        )
        for i in range(n)
    )
    return list(
        await Ticket.filter(title__contains="knocks")
        .order_by("created_at")
        .values_list("id", flat=True)
    )


def _refs(message: dict[str, object]) -> list[int]:
    return [int(n) for n in re.findall(r"^#(\d+) ·", shown_text(message), re.M)]


async def _turned(user: TelegramUser, message: dict[str, object], label: str) -> dict[str, object]:
    """Press ``label`` under ``message`` and wait for the message to show another page."""
    before = shown_text(message)
    user.press_data(message, button_data(message, label))

    def edited() -> dict[str, object] | None:
        for shown in user.bot_messages():
            if shown["message_id"] == message["message_id"] and shown_text(shown) != before:
                return shown
        return None

    return await eventually(edited, what=f"the page after {label}")


async def test_a_technician_pages_through_sixty_open_tickets(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    bob_person = await Person.get(name="Bob Plumber")
    ids = await _tickets(app, 60, assignee=bob_person)
    newest_first = ids[::-1]
    async with running_housedesk(app, botapi):
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        bob.send("/mine")
        page = await bob.sees("Page 1")
        seen = [page]
        while "Next" in str(page.get("reply_markup")):
            page = await _turned(bob, page, "Next")
            seen.append(page)
        assert len(seen) == 6
        assert [r for p in seen for r in _refs(p)] == newest_first
        assert all(len(shown_text(p)) <= MESSAGE_TEXT_LIMIT for p in seen)
        assert "Page 6" in shown_text(page)

        back = await _turned(bob, page, "Previous")
        assert "Page 5" in shown_text(back)
        assert _refs(back) == newest_first[40:50]
        assert "Next" in str(back["reply_markup"]) and "Previous" in str(back["reply_markup"])

        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        alice.send("/open")
        first = await alice.sees("Page 1")
        assert _refs(first) == newest_first[:10]
        assert "Previous" not in str(first["reply_markup"])
        second = await _turned(alice, first, "Next")
        assert _refs(second) == newest_first[10:20]


async def test_a_resident_pages_through_their_requests(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        mina = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(mina, "OAK")
        mina.send("Radiator is cold")
        await mina.sees("is registered")
        contact = await Contact.get(kind=ContactKind.CHAT, value="5550001")
        ids = await _tickets(app, 14, requester_id=contact.person_id)  # type: ignore[attr-defined]

        mina.send("/my")
        first = await mina.sees("Page 1")
        assert _refs(first) == ids[::-1][:10]
        assert "Choose one to read it" in shown_text(first)
        assert button_data(first, f"#{ids[-1]}")  # each request has its button
        second = await _turned(mina, first, "Next")
        assert len(_refs(second)) == 5  # four more and the first report
        assert "Next" not in str(second["reply_markup"])
        assert button_data(second, "Radiator is cold")
        again = await _turned(mina, second, "Previous")
        assert _refs(again) == ids[::-1][:10]
        assert len(shown_text(again)) <= MESSAGE_TEXT_LIMIT
