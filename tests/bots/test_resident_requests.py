"""A resident's requests are threads: listed with status, commented on by choosing one or by
replying to any of its messages; staff replies arrive in the chat; "not fixed" reopens."""

from __future__ import annotations

from core.actors import Actor
from core.directory.lookup import find_staff
from core.directory.residents import register_resident
from core.storage.models import EventType, Status, Ticket, TicketEvent
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
    start_report,
)
from tests.fakes.botapi import BotApiServer


async def test_threads_comments_and_not_fixed(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        await start_report(resident, "OAK")
        resident.send("Lift is out of order")
        ack = await resident.sees("is registered: Lift is out of order")
        ticket = await Ticket.get(title="Lift is out of order")
        plumber = await find_staff("Bob Plumber")
        await app.tickets.assign(ticket.id, Actor.of(plumber), plumber)
        await bob.sees("Lift is out of order")

        # Replying to the acknowledgement adds a comment, which the assignee reads.
        resident.send("/menu")  # leave the report: the reply alone must find the ticket
        await resident.sees("How can we help?")
        resident.send("It stopped on floor 3", reply_to_message_id=ack["message_id"])
        await resident.sees(f"Added to your request #{ticket.id}.")
        await bob.sees("the resident wrote: It stopped on floor 3")

        # Staff reply publicly by replying to the card; the resident reads it in the thread.
        card = next(m for m in bob.bot_messages() if "Lift is out of order" in shown_text(m))
        bob.send("An engineer comes at 2pm", reply_to_message_id=card["message_id"])
        await bob.sees(f"Sent to the resident of #{ticket.id}")
        await resident.sees("An engineer comes at 2pm")

        # My requests: status, then choose one and write to it.
        resident.send("/my")
        listing = await resident.sees(f"#{ticket.id} · new · Lift is out of order")
        resident.press(listing, f"#{ticket.id}")
        shown = await resident.sees("Write a message to add to")
        assert "An engineer comes at 2pm" in shown_text(shown)
        resident.send("Thank you, I will be home")
        await resident.sees(f"Added to your request #{ticket.id}.")

        # Done, then "not fixed": the request reopens and the assignee hears it.
        await app.tickets.change_status(ticket.id, Actor.of(plumber), Status.DONE, note="Reset")
        done = await resident.sees("is now: done")
        resident.press(done, "Not fixed")
        await resident.sees("is now: reopened")
        await bob.sees("the resident says it is not fixed")
        await eventually(lambda: "reply_markup" not in _message(resident, done["message_id"]))

    refreshed = await Ticket.get(id=ticket.id)
    assert refreshed.status == Status.REOPENED
    comments = await TicketEvent.filter(ticket=ticket, type=EventType.PUBLIC_REPLY).order_by("id")
    assert [c.text for c in comments] == [
        "It stopped on floor 3",
        "An engineer comes at 2pm",
        "Thank you, I will be home",
    ]


def _message(user: TelegramUser, message_id: int) -> dict[str, object]:
    return next(m for m in user.bot_messages() if m["message_id"] == message_id)


async def test_registration_flats_language_and_cancel(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    await register_resident(5550002, "Pavel", "LIPA", "7", "ru")
    async with running_housedesk(app, botapi):
        pavel = TelegramUser.of(botapi, RESIDENT, 5550002, "Pavel", "ru")
        pavel.send("/start")  # registered: straight to the menu
        await pavel.sees("Чем мы можем помочь?")
        pavel.send("/start OAK")  # a second flat, in another building
        await pavel.sees("В какой квартире вы живёте?")
        pavel.send("99")
        await pavel.sees("не удалось найти")
        pavel.send("12")
        menu = await pavel.sees("Вы зарегистрированы: Oak Court, квартира 12")
        pavel.press(menu, "Техническая неисправность")
        flats = await pavel.sees("О какой квартире речь?")
        pavel.press(flats, "Oak Court")
        await pavel.sees("Опишите проблему")
        pavel.send("/cancel")
        await pavel.sees("Отменено.")

        pavel.send("/lang")
        languages = await pavel.sees("Выберите язык:")
        pavel.press(languages, "English")
        chosen = await pavel.sees("I will speak English from now on.")
        assert "🔧 Technical problem" in [
            b["text"] for row in chosen["reply_markup"]["inline_keyboard"] for b in row
        ]
        await botapi.wait_for_call(  # the chat's command menu follows the language
            RESIDENT,
            "setMyCommands",
            lambda call: (
                "5550002" in str(call.params.get("scope")) and "My requests" in str(call.params)
            ),
        )
        menu_commands = botapi.commands(RESIDENT, "", {"type": "chat", "chat_id": 5550002})
        assert ("my", "My requests") in [(c["command"], c["description"]) for c in menu_commands]
        pavel.send("/my")
        await pavel.sees("You have no requests yet.")

        newcomer = TelegramUser.of(botapi, RESIDENT, 5550003, "Li", "zh-hans")
        newcomer.send("/start")
        await newcomer.sees("请发送您所在楼栋的代码")
        newcomer.send("lipa")
        await newcomer.sees("欢迎来到ЖК Липовый")
        newcomer.send("5")
        menu = await newcomer.sees("登记成功")
        assert "🚨 紧急情况" in [
            b["text"] for row in menu["reply_markup"]["inline_keyboard"] for b in row
        ]
