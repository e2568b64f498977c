"""The whole story through the Bot API stand-in, in polling and in webhook mode, in English
and in Russian: a resident registers by deep link, reports a leak with a photo, the
technician accepts and finishes with a photo, the resident receives it and rates, a manager
lists open tickets; the timeline holds every step."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core.storage.blobs.local import LocalBlobStore
from core.storage.models import Attachment, Ticket
from housedesk.bootstrap import App
from presentation.views import ticket_detail
from tests.bots.support import (
    RESIDENT,
    STAFF,
    WEBHOOK_SECRET,
    Mode,
    TelegramUser,
    load_example_directory,
    running_housedesk,
    shown_text,
    timeline,
)
from tests.fakes.botapi import BotApiServer
from tests.telegram.support import png


@dataclass(frozen=True)
class Cast:
    """Who plays the story in one language, and what they should read."""

    language: str
    building: str
    duty_phone: str
    technician_id: int
    technician: str
    manager_id: int
    report: str
    note: str
    says: dict[str, str]


ENGLISH = Cast(
    language="en",
    building="OAK",
    duty_phone="+44 20 7946 0199",
    technician_id=100003,
    technician="Bob Plumber",
    manager_id=100001,
    report="Water is dripping from the ceiling",
    note="Replaced the valve upstairs",
    says={
        "which flat": "Which flat do you live in",
        "registered": "You are registered: Oak Court, flat 12",
        "emergency": "Emergency",
        "what to do": "What to do right now",
        "describe": "Describe the problem",
        "ack": "is registered: Water is dripping from the ceiling",
        "in progress": "is now: in progress",
        "photo please": "Send a photo of the finished work",
        "finished": "is done. The resident gets your note and photo",
        "done": "is now: done",
        "not fixed": "Not fixed",
        "thanks": "Thank you for rating",
    },
)
RUSSIAN = Cast(
    language="ru",
    building="LIPA",
    duty_phone="+7 495 000-00-99",
    technician_id=100004,
    technician="Ivan Slesar",
    manager_id=100002,
    report="С потолка капает вода",
    note="Заменил вентиль этажом выше",
    says={
        "which flat": "В какой квартире вы живёте",
        "registered": "Вы зарегистрированы: ЖК Липовый, квартира 12",
        "emergency": "Авария",
        "what to do": "Что делать прямо сейчас",
        "describe": "Опишите проблему",
        "ack": "зарегистрирована: С потолка капает вода",
        "in progress": ": в работе.",
        "photo please": "Пришлите фото выполненной работы",
        "finished": "выполнена. Житель получит вашу заметку и фото",
        "done": ": выполнена.",
        "not fixed": "Не исправлено",
        "thanks": "Спасибо за оценку",
    },
)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
@pytest.mark.parametrize("cast", [ENGLISH, RUSSIAN], ids=["en", "ru"])
async def test_the_whole_story(app: App, botapi: BotApiServer, mode: Mode, cast: Cast) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi, mode):
        says = cast.says
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina", cast.language)
        technician = TelegramUser.of(botapi, STAFF, cast.technician_id, "Tech", cast.language)
        manager = TelegramUser.of(botapi, STAFF, cast.manager_id, "Boss", cast.language)

        # A resident scans the poster: /start <building code>, then the flat number.
        resident.send(f"/start {cast.building}")
        await resident.sees(says["which flat"])
        resident.send("12")
        menu = await resident.sees(says["registered"])

        # An emergency: the duty instructions at once, then the leak with a photo.
        resident.press(menu, says["emergency"])
        instructions = await resident.sees(says["what to do"])
        assert cast.duty_phone in shown_text(instructions)
        await resident.sees(says["describe"])
        leak_photo = png(40, 30, "blue")
        photo_id = botapi.add_file(RESIDENT, leak_photo, file_path="photos/file_7.jpg")
        resident.send(photo_file_id=photo_id, caption=cast.report)
        ack = await resident.sees(says["ack"])
        ticket = await Ticket.get(requester__contacts__value="5550001")
        assert f"#{ticket.id}" in shown_text(ack)

        # The manager sees it among the open requests and gives it to the technician.
        manager.send("/open")
        listed = await manager.sees(f"#{ticket.id}")
        assert cast.report in shown_text(listed)
        manager.send(f"/assign {ticket.id} {cast.technician}")

        # The card carries the resident's photo, uploaded by the staff bot.
        # (Automatic routing may have sent one already; a manager's assignment sends another.)
        card = await technician.sees(cast.report)
        assert "photo" in card, "the card shows the resident's photo"
        card_uploads = [
            c.upload("photo").data
            for c in botapi.calls(STAFF, "sendPhoto")
            if c.params.get("chat_id") == cast.technician_id
        ]
        assert card_uploads and set(card_uploads) == {leak_photo}
        technician.press_data(card, f"tk:accept:{ticket.id}")
        await resident.sees(says["in progress"])

        # Done: a completion photo and a note.
        technician.press_data(card, f"tk:done:{ticket.id}")
        await technician.sees(says["photo please"])
        done_photo = png(50, 20, "green")
        done_id = botapi.add_file(STAFF, done_photo, file_path="photos/file_9.jpg")
        technician.send(photo_file_id=done_id, caption=cast.note)
        await technician.sees(says["finished"])

        # The resident gets the photo and the note, re-uploaded by the residents' bot, and rates.
        done = await resident.sees(says["done"])
        assert cast.note in shown_text(done) and "photo" in done
        resident_uploads = [c.upload("photo").data for c in botapi.calls(RESIDENT, "sendPhoto")]
        assert resident_uploads == [done_photo]
        assert button_labels(done)[-1] == says["not fixed"]
        resident.press(done, "★★★★★")
        await resident.sees(says["thanks"])

        assert_updates_came_by(botapi, mode)
        detail = ticket_detail(await app.tickets.detail(ticket.id))
        assert (detail["status"], detail["rating"]) == ("done", 5)
        steps = [(e["type"], e["data"].get("to")) for e in timeline(detail)]
        for step in [
            ("created", None),
            ("assigned", cast.technician),
            ("status_changed", "in_progress"),
            ("status_changed", "done"),
            ("rating", None),
        ]:
            assert step in steps, step
        assert [e["type"] for e in timeline(detail)].count("notification_sent") >= 4
        stored = await Attachment.filter(ticket=ticket).order_by("id")
        blobs = LocalBlobStore(app.settings.storage.blobs_dir)
        assert [await blobs.read(a.sha256) for a in stored] == [leak_photo, done_photo]


def button_labels(message: dict[str, object]) -> list[str]:
    """The labels of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [str(button["text"]) for row in rows for button in row]


def assert_updates_came_by(botapi: BotApiServer, mode: Mode) -> None:
    """Polling asks for updates; webhook mode gets them pushed, with the secret."""
    for token in (RESIDENT, STAFF):
        polled = botapi.calls(token, "getUpdates")
        webhooks = botapi.calls(token, "setWebhook")
        if mode == "polling":
            assert polled and not webhooks
        else:
            assert not polled
            assert [c.params["secret_token"] for c in webhooks] == [WEBHOOK_SECRET]
