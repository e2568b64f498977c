"""The residents' bot in daily use: nothing a resident sends is dropped, they are spoken to,
their registration is verified, and a flood of reports is refused politely."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from core.actors import Actor
from core.clock import FrozenClock
from core.directory.lookup import find_staff
from core.storage.models import (
    Channel,
    ClaimStatus,
    Contact,
    ContactKind,
    EventType,
    Person,
    ResidencyClaim,
    Status,
    Ticket,
    TicketEvent,
)
from core.tickets.cards import assignment_card
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App, bootstrap
from housedesk.settings.config import Settings
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
from tests.fakes.botapi_updates import message_update
from tests.telegram.support import png

JSON = dict[str, Any]


def _send_with(resident: TelegramUser, **content: Any) -> JSON:
    """A message with fields ``message_update`` has no builder for (a contact, a location)."""
    update = message_update(resident.user, resident.chat)
    update["message"].update(content)
    return dict(resident.botapi.add_update(resident.token, update)["message"])


def _share_phone(resident: TelegramUser, phone: str, *, user_id: int | None = None) -> None:
    """What Telegram sends when the resident presses the ``request_contact`` button."""
    _send_with(
        resident,
        contact={
            "phone_number": phone,
            "first_name": resident.user["first_name"],
            "user_id": user_id or resident.user["id"],
        },
    )


async def _register(resident: TelegramUser, building: str, flat: str) -> JSON:
    """``/start CODE`` and a flat written as people write it; the "registered" message."""
    resident.send(f"/start {building}")
    await resident.sees("Which flat")
    resident.send(flat)
    return await resident.sees("You are registered")


def _reply_keyboard(botapi: BotApiServer, text: str) -> list[JSON]:
    """The buttons of the keyboard sent with the message that says ``text`` (a reply
    keyboard is part of the request, not of the message Telegram keeps)."""
    [call] = [c for c in botapi.calls(RESIDENT, "sendMessage") if text in c.params["text"]]
    markup = call.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    return [button for row in markup["keyboard"] for button in row]


def _buttons(message: JSON) -> list[str]:
    markup = message.get("reply_markup", {})
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    return [button["text"] for row in rows for button in row]


async def test_a_message_without_a_topic_becomes_a_report(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        mina = TelegramUser.of(botapi, RESIDENT, 5550101, "Mina")
        await _register(mina, "OAK", "flat 31")
        mina.send("Water drips from the ceiling in the bathroom!")
        question = await mina.sees("What is it about? Choose a topic")
        photo = botapi.add_file(RESIDENT, png(8, 8, "blue"), file_path="photos/file_1.jpg")
        mina.send(photo_file_id=photo)  # a second thought, before the topic: kept too
        assert "🔧 Technical problem" in _buttons(question)
        mina.press(question, "Technical problem")
        ack = await mina.sees("is registered: Water drips from the ceiling in the bathroom.")
        await mina.sees("Added to your request")

    [ticket] = await Ticket.all().prefetch_related("unit")
    assert ticket.title == "Water drips from the ceiling in the bathroom!"
    assert ticket.unit is not None and ticket.unit.number == "31"
    assert ticket.channel == Channel.CHAT
    assert "!." not in shown_text(ack)
    assert await ticket.attachments.all().count() == 1  # type: ignore[attr-defined]
    said = [shown_text(m) for m in mina.bot_messages()]
    assert not any("Please choose what your message is about" in text for text in said)


async def test_not_fixed_then_an_explanation_is_a_comment(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        mina = TelegramUser.of(botapi, RESIDENT, 5550102, "Mina")
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        await start_report(mina, "OAK")
        mina.send("The radiator is cold")
        await mina.sees("is registered: The radiator is cold")
        ticket = await Ticket.get(title="The radiator is cold")
        plumber = await find_staff("Bob Plumber")
        await app.tickets.assign(ticket.id, Actor.of(plumber), plumber)
        await app.tickets.change_status(ticket.id, Actor.of(plumber), Status.DONE, note="Bled")
        done = await mina.sees("is now: done")
        mina.press(done, "Not fixed")
        reopened = await mina.sees("is now: reopened")
        await mina.sees("What is still wrong?")
        mina.send("Still cold in the bedroom")
        await mina.sees(f"Added to your request #{ticket.id}.")
        await bob.sees("the resident wrote: Still cold in the bedroom")

    assert "You said it is not fixed." in shown_text(reopened)
    said = [shown_text(m) for m in mina.bot_messages()]
    assert not any("The resident says" in text for text in said), said
    comments = await TicketEvent.filter(ticket=ticket, type=EventType.PUBLIC_REPLY)
    assert [c.text for c in comments] == ["Still cold in the bedroom"]
    assert (await Ticket.get(id=ticket.id)).status == Status.REOPENED


async def test_a_phone_number_from_the_directory_verifies_the_flat(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    tom = await Person.get(name="Tom Tenant")
    await Contact.create(person=tom, kind=ContactKind.PHONE, value="+44 7700 900555")
    async with running_housedesk(app, botapi):
        stranger = TelegramUser.of(botapi, RESIDENT, 5550103, "Eve")
        await _register(stranger, "OAK", "#12")
        await stranger.sees("Please confirm that you live there")
        [share, ask_dispatcher] = _reply_keyboard(botapi, "Please confirm that you live there")
        assert share == {"text": "📱 Share my phone number", "request_contact": True}
        assert ask_dispatcher["text"] == "🙋 Ask the dispatcher instead"
        await start_report_registered(stranger)
        stranger.send("The door bell rings by itself")
        await stranger.sees("is registered: The door bell rings by itself")

        tom_chat = TelegramUser.of(botapi, RESIDENT, 5550104, "Tom")
        await _register(tom_chat, "OAK", "flat 12")
        await tom_chat.sees("Please confirm that you live there")
        _share_phone(tom_chat, "+44 7700 900556", user_id=5550103)  # someone else's contact
        await tom_chat.sees("Please share your own number")
        _share_phone(tom_chat, "447700900555")
        await tom_chat.sees("Thank you! Your flat is confirmed: Oak Court, 12.")
        await start_report_registered(tom_chat)
        tom_chat.send("The hall light flickers")
        await tom_chat.sees("is registered: The hall light flickers")

    eve_ticket = await app.tickets.get((await Ticket.get(title="The door bell rings by itself")).id)
    tom_ticket = await app.tickets.get((await Ticket.get(title="The hall light flickers")).id)
    assert eve_ticket.verified is False
    assert tom_ticket.verified is True
    assert "Not verified" in assignment_card(eve_ticket, "en")
    assert "Not verified" not in assignment_card(tom_ticket, "en")


async def start_report_registered(resident: TelegramUser) -> None:
    """A registered resident chooses "Technical problem" from ``/menu``."""
    resident.send("/menu")
    menu = await resident.sees("How can we help?")
    resident.press(menu, "Technical problem")
    await resident.sees("Describe the problem")


async def test_a_dispatcher_approves_one_registration_and_rejects_another(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        dmitri = TelegramUser.of(botapi, STAFF, 100002, "Dmitri", "ru")
        pavel = TelegramUser.of(botapi, RESIDENT, 5550105, "Pavel", "ru")
        pavel.send("/start LIPA")
        await pavel.sees("В какой квартире вы живёте?")
        pavel.send("кв. 45")
        await pavel.sees("Вы зарегистрированы: ЖК Липовый, квартира 45")
        await pavel.sees("Пожалуйста, подтвердите")
        _share_phone(pavel, "+7 900 111-22-33")  # not on the building's list
        await pavel.sees("Этого номера нет в списке")
        queued = await dmitri.sees("регистрация через бота: Pavel, ЖК Липовый, квартира 45")
        dmitri.press(queued, "Подтвердить")
        await dmitri.sees("Подтверждено: Pavel, ЖК Липовый, квартира 45.")
        await pavel.sees("Ваша регистрация подтверждена: ЖК Липовый, квартира 45.")
        dmitri.press(queued, "Отклонить")  # the old button: decided already, nothing changes
        await eventually(lambda: len(botapi.calls(STAFF, "answerCallbackQuery")) == 2)

        mallory = TelegramUser.of(botapi, RESIDENT, 5550106, "Mallory")
        await _register(mallory, "LIPA", "квартира 46")
        await mallory.sees("Please confirm that you live there")
        mallory.send("🙋 Ask the dispatcher instead")
        await mallory.sees("We asked the building's dispatcher")
        queued = await dmitri.sees("регистрация через бота: Mallory")
        dmitri.press(queued, "Отклонить")
        await dmitri.sees("Отклонено: Mallory, ЖК Липовый, квартира 46.")
        await mallory.sees("We could not confirm that you live in ЖК Липовый, flat 46")
        mallory.send("/menu")
        menu = await mallory.sees("How can we help?")
        mallory.press(menu, "Technical problem")
        await eventually(lambda: len(botapi.calls(RESIDENT, "answerCallbackQuery")) >= 1)

    answers = [c.params.get("text") for c in botapi.calls(STAFF, "answerCallbackQuery")]
    assert answers[1] == "По этой регистрации уже принято решение."
    pavel_claim = await ResidencyClaim.get(person__name="Pavel").select_related("decided_by")
    assert pavel_claim.status == ClaimStatus.VERIFIED and pavel_claim.method == "dispatcher"
    assert pavel_claim.decided_by is not None and pavel_claim.decided_by.name == "Dmitri Dispatcher"
    mallory_person = await Person.get(name="Mallory")
    assert await mallory_person.units.all().count() == 0  # the flat is no longer theirs
    refused = [c.params.get("text") for c in botapi.calls(RESIDENT, "answerCallbackQuery")]
    assert refused[-1] == "Please register first: open the link from your building's poster."
    assert await Ticket.all().count() == 0


async def test_the_eleventh_report_in_an_hour_is_refused_but_an_emergency_passes(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        mina = TelegramUser.of(botapi, RESIDENT, 5550107, "Mina")
        await _register(mina, "OAK", "12")
        resident = await Person.get(name="Mina")
        for n in range(10):  # ten reports in the last hour
            await app.tickets.create(
                NewTicket(
                    category="technical",
                    title=f"Report {n}",
                    channel=Channel.CHAT,
                    actor=Actor.of(resident),
                    building="OAK",
                    unit="12",
                    requester_id=resident.id,
                    acknowledge=False,
                )
            )
        mina.send("/menu")
        menu = await mina.sees("How can we help?")
        mina.press(menu, "Technical problem")
        await mina.sees("You have sent many new requests in the last hour")
        mina.send("Another small thing")  # the report was refused: kept for a topic again
        question = await mina.sees("What is it about?")
        mina.press(question, "Emergency")
        await mina.sees("is registered: Another small thing")

    assert await Ticket.all().count() == 11
    emergency = await Ticket.get(title="Another small thing").select_related("category")
    assert emergency.category.emergency


async def test_replies_follow_the_language_the_resident_chose_later(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        mina = TelegramUser.of(botapi, RESIDENT, 5550108, "Mina")
        await start_report(mina, "OAK")
        voice = botapi.add_file(RESIDENT, b"OggS\x00not really opus", file_path="voice/v.oga")
        mina.send(voice=voice)
        await mina.sees("is registered: Technical problem: voice message")
        await mina.sees("We got your voice message; a person will listen to it.")
        mina.send("The kitchen tap leaks under the sink and the cupboard is getting wet and soft")
        await mina.sees("Added to your request")
        ticket = await Ticket.get()
        assert ticket.title.startswith("The kitchen tap leaks")
        assert ticket.needs_attention == "voice note not transcribed: listen to it"

        mina.send("/lang")
        languages = await mina.sees("Choose your language")
        mina.press(languages, "Polski")
        await mina.sees("Od teraz rozmawiamy w języku: Polski")
        plumber = await find_staff("Bob Plumber")
        await app.tickets.assign(ticket.id, Actor.of(plumber), plumber)
        await app.tickets.change_status(ticket.id, Actor.of(plumber), Status.DONE, note="OK")
        done = await mina.sees(f"Status zgłoszenia #{ticket.id}: ")
        mina.press(done, "★★★★")
        thanks = await mina.sees("Chcesz dodać komentarz?")
        assert "Pomiń" in _buttons(thanks)
        mina.send("Szybko i czysto")
        await mina.sees("Dziękujemy, przekazaliśmy Twój komentarz.")
        mina.send("/my")
        listing = await mina.sees(f"#{ticket.id}")
        [label] = [b for b in _buttons(listing) if b.startswith(f"#{ticket.id}")]
        assert label.endswith("…") and len(label) <= 60
        assert label[:-1].rstrip().split()[-1] in ticket.title.split()  # a whole word
        mina.press(listing, f"#{ticket.id}")
        shown = await mina.sees("ocena 4/5")

    rated = await Ticket.get(id=ticket.id)
    assert rated.rating == 4 and rated.rating_comment == "Szybko i czysto"
    assert "Szybko i czysto" in shown_text(shown)
    assert "not transcribed" not in shown_text(shown)


@pytest.fixture
def routed_app(db: str, settings: Settings, clock: FrozenClock) -> App:
    """The application with automatic routing on (it tells residents about office hours)."""
    operations = settings.operations.model_copy(update={"routing_enabled": True})
    return bootstrap(settings.model_copy(update={"operations": operations}), clock=clock)


async def test_the_out_of_hours_notice_comes_after_the_registered_message(
    routed_app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    app = routed_app
    await load_example_directory()
    clock.advance(timedelta(hours=12))  # Wednesday 21:00 in London: the office is closed
    async with running_housedesk(app, botapi):
        mina = TelegramUser.of(botapi, RESIDENT, 5550109, "Mina")
        await start_report(mina, "OAK", topic="Billing")
        mina.send("The invoice counts the lift twice")
        await mina.sees("outside office hours")
        await mina.sees("is registered: The invoice counts the lift twice")

    said = [shown_text(m) for m in mina.bot_messages()]
    registered = next(i for i, text in enumerate(said) if "is registered" in text)
    notice = next(i for i, text in enumerate(said) if "outside office hours" in text)
    assert registered < notice, said  # in the order the chat shows them
