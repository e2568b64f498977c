"""Nobody becomes staff by talking to the bot: invite codes or the directory's Telegram id.
Strangers get a polite refusal and no data; a wrong webhook secret gets 401."""

from __future__ import annotations

import aiohttp

from core.actors import CLI
from core.clock import FrozenClock
from core.directory.invites import create_invite
from core.directory.lookup import find_staff
from core.storage.models import Channel, StaffChat
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from presentation.views import ticket_detail
from tests.bots.support import (
    STAFF,
    WEBHOOK_SECRET,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import group_chat

REFUSAL = "this bot is only for the staff"


async def _leak(app: App) -> int:
    ticket = await app.tickets.create(
        NewTicket(
            category="emergency",
            title="Water through the ceiling of flat 7",
            description="Tom Tenant, phone 07700 900123",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="7",
        )
    )
    return ticket.ticket.id


async def test_a_stranger_gets_a_refusal_and_no_data(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    ticket_id = await _leak(app)
    async with running_housedesk(app, botapi):
        stranger = TelegramUser.of(botapi, STAFF, 6660001, "Eve")
        for command in ("/open", f"/ticket {ticket_id}", "/mine", f"/assign {ticket_id} Eve", "hi"):
            stranger.send(command)
            await stranger.sees(REFUSAL)
        stranger.send("/start NOT-A-CODE")
        await stranger.sees("unknown, used or expired")
        card = stranger.send("a message to press under")
        stranger.press_data(card, f"tk:accept:{ticket_id}")
        await eventually(lambda: botapi.calls(STAFF, "answerCallbackQuery"))

    said = " ".join(shown_text(m) for m in stranger.bot_messages())
    assert "Water through the ceiling" not in said and "07700" not in said
    [answer] = botapi.calls(STAFF, "answerCallbackQuery")
    assert REFUSAL in answer.params["text"] and answer.params["show_alert"] is True
    detail = ticket_detail(await app.tickets.detail(ticket_id))
    assert (detail["status"], detail["assignee"]) == ("new", None)


async def test_an_invite_code_links_staff_once(
    app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    await load_example_directory()
    code = await create_invite("Carol Accounts", clock)
    async with running_housedesk(app, botapi):
        carol = TelegramUser.of(botapi, STAFF, 7770001, "Carol")
        carol.send(f"/start {code}")
        await carol.sees("Welcome, Carol Accounts!")
        carol.send("/open")
        await carol.sees("No open requests.")
        someone = TelegramUser.of(botapi, STAFF, 7770002, "Mallory")
        someone.send(f"/start {code}")  # the code is spent
        await someone.sees("unknown, used or expired")
        someone.send("/open")
        await someone.sees(REFUSAL)
        # Staff with a Telegram id in the directory need no code.
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        alice.send("/start")
        await alice.sees("/report: Report: /report week OAK")  # a manager


async def test_a_wrong_webhook_secret_gets_401(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi, "webhook") as housedesk:
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 1, "type": "private"},
                "text": "/open",
            },
        }
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                async with session.post(
                    f"{housedesk.http_url}/telegram/staff", json=update, headers=headers
                ) as response:
                    assert response.status == 401
            async with session.post(
                f"{housedesk.http_url}/telegram/staff",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
            ) as response:
                assert response.status == 200


async def test_in_a_staff_group_whoever_accepts_takes_the_work(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    group = group_chat(-1001234567890, "Oak plumbers")
    await StaffChat.create(chat_id=group["id"], title="Oak plumbers", trade="plumbing")
    ticket_id = await _leak(app)
    async with running_housedesk(app, botapi):
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob", chat=group)
        olga = TelegramUser.of(botapi, STAFF, 100005, "Olga", chat=group)
        tom = TelegramUser.of(botapi, STAFF, 5550001, "Tom", chat=group)
        await app.tickets.assign(ticket_id, CLI, await find_staff("Bob Plumber"))
        card = await bob.sees("Water through the ceiling of flat 7")
        assert not [m for m in botapi.messages(STAFF, 100003) if m["from"]["is_bot"]]

        tom.press_data(card, f"tk:accept:{ticket_id}")  # a resident in the group: refused
        olga.press_data(card, f"tk:accept:{ticket_id}")
        await olga.sees("взял(а) Olga Electric")  # Olga's language is Russian
        tom.send("who is coming?")  # group chatter: ignored
        bob.send("/mine")
        await bob.sees("You have no open work.")

    detail = ticket_detail(await app.tickets.detail(ticket_id))
    assert (detail["assignee"], detail["status"]) == ("Olga Electric", "in_progress")
    answers = [c.params.get("text", "") for c in botapi.calls(STAFF, "answerCallbackQuery")]
    assert REFUSAL in answers[0] and f"Заявка #{ticket_id} теперь ваша" in answers[1]
    assert not [m for m in olga.bot_messages() if "who is coming" in shown_text(m)]
