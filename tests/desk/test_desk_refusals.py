"""What the desk refuses, in a real headless chromium: launch data that is forged, too old,
signed for another bot or for someone who is not staff; a used sign-in link; a technician's
look at another building's ticket by URL; a change without the form token or decided on a
stale page. And the journal and a ticket in Russian, as screenshots."""

from __future__ import annotations

import io
import wave
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from core.actors import CLI
from core.directory.desk_sessions import issue_link
from core.storage.models import Channel, Person, Status, Ticket, TicketEvent
from core.tickets.commands import NewAttachment, NewTicket
from housedesk.bootstrap import App
from tests.bots.support import load_example_directory
from tests.conftest import START
from tests.desk.conftest import Chromium
from tests.desk.support import ALICE, launch_fragment, serving, signed_in, signed_launch_data
from tests.telegram.support import RESIDENT_BOT_TOKEN, STAFF_BOT_TOKEN

DMITRI = 100002  # a dispatcher (Russian); ALICE is a manager (English)
REFUSED = "This sign-in could not be checked"


async def _ticket(app: App, building: str, title: str) -> Ticket:
    created = await app.tickets.create(
        NewTicket(
            category="technical",
            title=title,
            channel=Channel.PHONE,
            actor=CLI,
            building=building,
            unit="12" if building == "OAK" else "1",
        )
    )
    return created.ticket


async def _launch(chromium: Chromium, desk: str, init_data: str) -> Any:
    page = await chromium.new_page()
    await chromium.run(page.goto, f"{desk}/signin{launch_fragment(init_data)}")
    return page


async def test_launch_data_forged_old_or_for_another_bot_is_refused(
    app: App, chromium: Chromium
) -> None:
    await load_example_directory()
    genuine = signed_launch_data(STAFF_BOT_TOKEN, ALICE, START)
    cases = {
        "forged": genuine.replace("100001", "100002"),  # Dmitri's id under Alice's signature
        "expired": signed_launch_data(STAFF_BOT_TOKEN, ALICE, START - timedelta(minutes=6)),
        "foreign bot": signed_launch_data(RESIDENT_BOT_TOKEN, ALICE, START),
    }
    async with serving(app) as desk:
        for case, init_data in cases.items():
            page = await _launch(chromium, desk, init_data)
            await chromium.run(page.wait_for_selector, f"#launch-signin:has-text('{REFUSED}')")
            assert await chromium.run(page.context.cookies) == [], case
            await chromium.run(page.goto, f"{desk}/journal")
            assert page.url == f"{desk}/signin", case

        # Genuine data of someone who is not linked staff.
        page = await _launch(chromium, desk, signed_launch_data(STAFF_BOT_TOKEN, 5550001, START))
        await chromium.run(page.wait_for_selector, "#launch-signin:has-text('linked staff only')")


async def test_a_sign_in_link_works_once_and_logging_out_ends_the_session(
    app: App, chromium: Chromium
) -> None:
    await load_example_directory()
    alice = await Person.get(name="Alice Manager")
    code = await issue_link(alice, START)
    async with serving(app) as desk:
        page = await chromium.new_page()
        await chromium.run(page.goto, f"{desk}/signin/link/{code}")
        await chromium.run(page.click, "text=Sign in")
        await chromium.run(page.wait_for_url, f"{desk}/journal")
        assert "Alice Manager" in await chromium.run(page.inner_text, "nav")

        again = await chromium.new_page()
        await chromium.run(again.goto, f"{desk}/signin/link/{code}")
        await chromium.run(again.click, "text=Sign in")
        assert "unknown, used or expired" in await chromium.run(again.inner_text, "main")

        await chromium.run(page.click, "text=Log out")
        await chromium.run(page.wait_for_url, f"{desk}/signin")
        await chromium.run(page.goto, f"{desk}/journal")
        assert page.url == f"{desk}/signin"


async def test_a_technician_cannot_open_another_buildings_ticket_by_url(
    app: App, chromium: Chromium
) -> None:
    await load_example_directory()
    theirs = await _ticket(app, "OAK", "Radiator is cold in Oak Court")
    other = await _ticket(app, "LIPA", "Лифт застрял между этажами")
    async with serving(app) as desk:
        bob = await signed_in(chromium, desk, 100003)  # Bob Plumber serves Oak Court only
        journal = await chromium.run(bob.inner_text, "main")
        assert theirs.title in journal and other.title not in journal
        await chromium.run(bob.goto, f"{desk}/tickets/{other.id}")
        shown = await chromium.run(bob.inner_text, "main")
        assert "There is no such ticket, or it is not yours to see." in shown
        assert other.title not in shown
        response = await chromium.run(bob.goto, f"{desk}/tickets/{other.id}/stamp")
        assert response.status == 404
        token = await chromium.run(bob.input_value, "nav input[name=csrf]")
        status, body = await chromium.run(
            bob.evaluate,
            """async ([url, token]) => {
                const r = await fetch(url, {method: 'POST',
                    body: new URLSearchParams({csrf: token, version: '1', text: 'mine now'})});
                return [r.status, await r.text()];
            }""",
            [f"{desk}/tickets/{other.id}/note", token],
        )
        assert status == 404 and "not yours to see" in body
        assert await TicketEvent.filter(ticket_id=other.id, text="mine now").count() == 0


async def test_a_change_without_the_form_token_or_on_a_stale_page_changes_nothing(
    app: App, chromium: Chromium
) -> None:
    await load_example_directory()
    ticket = await _ticket(app, "OAK", "Door does not lock")
    async with serving(app) as desk:
        page = await signed_in(chromium, desk, ALICE)
        await chromium.run(page.goto, f"{desk}/tickets/{ticket.id}")
        token = await chromium.run(page.input_value, "input[name=csrf] >> nth=0")
        post = """async ([url, body]) => {
            const r = await fetch(url, {method: 'POST', body: new URLSearchParams(body),
                                         headers: {'X-Requested-With': 'fetch'}});
            return [r.status, await r.text()];
        }"""
        url = f"{desk}/tickets/{ticket.id}/status"
        status, _ = await chromium.run(
            page.evaluate, post, [url, {"version": "1", "status": "in_progress"}]
        )
        assert status == 403
        assert (await Ticket.get(id=ticket.id)).status == Status.NEW

        stale = {"csrf": token, "version": "0", "status": "in_progress"}
        status, body = await chromium.run(page.evaluate, post, [url, stale])
        assert status == 409 and "was changed meanwhile by someone else" in body
        assert (await Ticket.get(id=ticket.id)).status == Status.NEW

        await chromium.run(page.click, "#change-status summary")
        await chromium.run(page.click, "#change-status button")
        await chromium.run(page.wait_for_selector, "#status:text-is('in progress')")
        assert (await Ticket.get(id=ticket.id)).status == Status.IN_PROGRESS


def _png() -> bytes:
    image = Image.new("RGB", (40, 30), (200, 40, 40))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 800)
    return out.getvalue()


async def _voicemail(app: App) -> Ticket:
    files = []
    for data, kind, name in ((_png(), "image/png", "leak.png"), (_wav(), "audio/wav", "msg.wav")):
        stored = await app.blobs.put(data)
        files.append(NewAttachment(stored.sha256, len(data), kind, name))
    created = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Нет горячей воды <b>с утра</b>",
            description="Здравствуйте, в квартире один нет горячей воды",
            channel=Channel.VOICEMAIL,
            actor=CLI,
            building="LIPA",
            unit="1",
            attachments=files,
        )
    )
    return created.ticket


async def test_the_journal_and_a_ticket_in_russian(
    app: App, chromium: Chromium, screenshots: Path
) -> None:
    await load_example_directory()
    ticket = await _voicemail(app)
    await app.tickets.reply(ticket, CLI, "Сантехник придёт после обеда", public=False)
    async with serving(app) as desk:
        page = await signed_in(chromium, desk, DMITRI, "ru-RU")
        assert await chromium.run(page.inner_text, "h1") == "Журнал"
        assert "1 заявка" in await chromium.run(page.inner_text, "#count")
        await chromium.run(
            page.screenshot, path=str(screenshots / "journal-ru.png"), full_page=True
        )
        await chromium.run(page.click, f"text={ticket.title}")
        await chromium.run(page.wait_for_selector, "#timeline")
        heading = await chromium.run(page.inner_text, "h1")
        assert heading == f"#{ticket.id} · {ticket.title}"
        assert "новая" in await chromium.run(page.inner_text, "#status")
        # The photo is shown, the recording plays, and its transcript is there to read.
        assert "Расшифровка" in await chromium.run(page.inner_text, "main")
        assert "в квартире один нет горячей воды" in await chromium.run(
            page.inner_text, "#description"
        )
        photo = await chromium.run(page.wait_for_selector, ".photos img")
        assert await chromium.run(photo.evaluate, "img => img.complete && img.naturalWidth") == 40
        audio = await chromium.run(page.get_attribute, "audio", "src")
        played = await chromium.run(page.request.get, f"http://{urlsplit(desk).netloc}{audio}")
        assert played.status == 200 and played.headers["content-type"] == "audio/wav"
        await chromium.run(page.screenshot, path=str(screenshots / "ticket-ru.png"), full_page=True)
