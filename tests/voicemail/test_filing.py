"""Voicemail into tickets with real Vosk (the packaged Korean model): HTTP, drop folder, email."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from core.storage.models import Attachment, Building, Channel, Ticket
from core.tickets.cards import attention_text
from housedesk.bootstrap import App
from intake.outcome import Accepted
from intake.voicemail.filing import FilingSettings
from intake.voicemail.folder import DropFolder
from intake.voicemail.http import voicemail_routes
from tests.core import factories
from tests.speech.audio import sample_bytes

HANGUL = re.compile(r"[\uac00-\ud7a3]")
TOKEN = "pbx-secret"


@pytest.fixture
async def korean_building(app: App) -> Building:
    """A Korean installation: the building's number, a known caller, Korean by default."""
    app.voicemail.settings = FilingSettings(default_language="ko")
    await factories.category("technical")
    building = await factories.building("SEOUL", language="ko")
    building.phone = "+82 2 555 0100"
    await building.save()
    caller = await factories.person("Kim")
    from core.storage.models import Contact, ContactKind

    await Contact.create(person=caller, kind=ContactKind.PHONE, value="+821055501234")
    return building


@pytest.fixture
async def webhook(app: App) -> AsyncIterator[str]:
    http = web.Application()
    http.router.add_routes(voicemail_routes(app.voicemail, TOKEN, 5 * 1024 * 1024))
    runner = web.AppRunner(http)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/api/voicemail"
    await runner.cleanup()


async def _post(url: str, audio: bytes, filename: str) -> tuple[int, dict[str, object]]:
    form = aiohttp.FormData()
    form.add_field("audio", audio, filename=filename, content_type="audio/wav")
    form.add_field("caller", "+82 10-5550-1234")
    form.add_field("called", "+82 2 555 0100")
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=form, headers={"Authorization": f"Bearer {TOKEN}"}) as response,
    ):
        return response.status, await response.json()


async def _only_ticket() -> tuple[Ticket, list[Attachment]]:
    [ticket] = await Ticket.all().select_related("building", "requester")
    return ticket, await Attachment.filter(ticket=ticket)


async def test_webhook_voicemail_becomes_a_transcribed_ticket(
    app: App, korean_building: Building, webhook: str
) -> None:
    audio = sample_bytes("ko1.wav")
    status, body = await _post(webhook, audio, "msg0001.wav")
    assert status in (200, 201, 202) and body["ticket"] == "#1"
    ticket, [attachment] = await _only_ticket()
    assert ticket.channel == Channel.VOICEMAIL and ticket.building.code == "SEOUL"
    assert ticket.requester.name == "Kim"
    assert HANGUL.search(ticket.description), ticket.description
    assert ticket.title.startswith("Voicemail from +82 10-5550-1234: ")
    assert (attachment.original_name, attachment.size) == ("msg0001.wav", len(audio))
    assert await app.blobs.read(attachment.sha256) == audio

    again, _ = await _post(webhook, audio, "msg0001.wav")  # the PBX retries
    assert again in (200, 201, 202) and await Ticket.all().count() == 1


async def test_corrupt_recording_is_a_flagged_ticket_not_an_error(
    korean_building: Building, webhook: str
) -> None:
    status, body = await _post(webhook, b"RIFF\x00\x00garbage-not-audio" * 20, "broken.wav")
    assert status in (200, 201, 202) and body["ticket"] == "#1"
    ticket, [attachment] = await _only_ticket()
    assert ticket.description == ""
    assert "could not be decoded" in ticket.needs_attention and "listen" in ticket.needs_attention
    assert attachment.original_name == "broken.wav"


async def test_drop_folder_voicemail_becomes_one_ticket(
    app: App, korean_building: Building, tmp_path: Path
) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "msg0002.wav").write_bytes(sample_bytes("ko2.wav"))
    (folder / "msg0002.txt").write_text(
        '[message]\ncallerid="Kim" <+821055501234>\norigmailbox=100\n'
        "callerchan=SIP/trunk\nexten=+8225550100\n"
    )
    watcher = DropFolder(folder, app.voicemail, poll_interval_s=0.01)
    for _ in range(3):
        await watcher.scan_once()
    ticket, [attachment] = await _only_ticket()
    assert ticket.building is None  # the PBX gave its mailbox, not the building's number
    assert HANGUL.search(ticket.description), ticket.description
    assert attachment.original_name == "msg0002.wav"
    assert (folder / "processed").is_dir() and not (folder / "msg0002.wav").exists()


async def test_pbx_voicemail_mail_becomes_a_transcribed_ticket(
    app: App, korean_building: Building
) -> None:
    msg = EmailMessage()
    msg["From"] = "Asterisk PBX <asterisk@pbx.example>"
    msg["To"] = "help@oak.example"
    msg["Subject"] = "[PBX]: New message 1 in mailbox 100"
    msg["Message-ID"] = "<vm-1@pbx.example>"
    msg["X-Asterisk-CallerID"] = "+821055501234"
    msg["X-Asterisk-CallerIDName"] = "Kim"
    msg.set_content(
        "Dear Help desk:\n\nYou have a new 0:06 long message in mailbox 100 from "
        '"Kim" <+821055501234>, on Wednesday, November 25, 2026 at 02:10:00 AM.\n'
    )
    msg.add_attachment(
        sample_bytes("ko3.wav"), maintype="audio", subtype="x-wav", filename="msg0003.wav"
    )
    outcome = await app.mail_gateway(msg.as_bytes())
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    ticket, [attachment] = await _only_ticket()
    assert ticket.channel == Channel.VOICEMAIL and ticket.requester.name == "Kim"
    assert HANGUL.search(ticket.description), ticket.description
    assert attachment.original_name == "msg0003.wav"


async def test_no_model_for_the_language_still_files_the_recording(app: App, webhook: str) -> None:
    await factories.category("technical")
    building = await factories.building("OSLO", language="no")
    building.phone = "+82 2 555 0100"
    await building.save()
    status, _ = await _post(webhook, sample_bytes("ko4.wav"), "msg0004.wav")
    assert status in (200, 201, 202)
    ticket, [attachment] = await _only_ticket()
    assert ticket.description == "" and attachment.original_name == "msg0004.wav"
    assert "No speech model is installed for language 'no'" in ticket.needs_attention
    assert ticket.title == "Talemelding fra +82 10-5550-1234"  # the building's language
    assert attention_text(ticket.needs_attention, "ru").startswith(
        "Расшифровки нет: прослушайте запись.\nNo speech model is installed"
    )
