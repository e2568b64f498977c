"""``GET /api/pbx/status`` on housedesk's HTTP server: what a PBX's voice menu says to a
caller with two open requests in a building with an active incident, in Russian and Polish."""

from __future__ import annotations

import io
import logging
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from aiohttp import web

from core.actors import CLI
from core.storage.models import (
    Category,
    Channel,
    Contact,
    ContactKind,
    Incident,
    IncidentArea,
    IncidentKind,
    Status,
    Ticket,
)
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from housedesk.channels.pbx import pbx_http_routes
from housedesk.settings.config import PbxSettings, Settings
from intake.pbx.speech import espeak_available
from tests.core import factories

TOKEN = "pbx-status-token-7f3a"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"pbx": PbxSettings(status_token=TOKEN)})


@pytest.fixture
async def url(app: App) -> AsyncIterator[str]:
    runner = web.AppRunner(build_http_app(app, pbx_http_routes(app)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/api/pbx/status"
    await runner.cleanup()


async def _outage(
    app: App, code: str, language: str, name: str, phone: str, caller: str, text: str
) -> list[int]:
    """A building with an active outage and a resident (known by ``caller``) with two open
    requests and a finished one; returns the open ones' ids, newest first."""
    building = await factories.building(code, language=language, units=3)
    building.name, building.phone, building.timezone = name, phone, "Europe/Warsaw"
    await building.save()
    if not await Category.exists(code="technical"):
        await factories.category("technical", names={"ru": "Техника", "pl": "Usterka"})
        await factories.category("billing", names={"ru": "Оплата", "pl": "Rozliczenia"})
    resident = await factories.person(f"Caller {code}", language=language)
    await Contact.create(person=resident, kind=ContactKind.PHONE, value=caller)
    ids = []
    for category in ("technical", "billing", "technical"):
        created = await app.tickets.create(
            NewTicket(
                category=category,
                title="Private details",
                channel=Channel.PHONE,
                actor=CLI,
                building=code,
                unit="1",
                requester_id=resident.id,
            )
        )
        ids.append(created.ticket.id)
        app.clock.advance(timedelta(minutes=1))
    await Ticket.filter(id=ids[1]).update(status=Status.IN_PROGRESS)
    await Ticket.filter(id=ids[2]).update(status=Status.DONE)
    now = app.clock.now()
    incident = await Incident.create(
        kind=IncidentKind.EMERGENCY,
        title="Hot water off",
        texts={language: text},
        starts_at=now - timedelta(minutes=20),
        expected_end_at=datetime(2026, 11, 25, 14, 0, tzinfo=UTC),  # 15:00 in Warsaw
        created_at=now,
        updated_at=now,
    )
    await IncidentArea.create(incident=incident, building=building)
    return [ids[1], ids[0]]


async def _get(
    url: str, headers: dict[str, str] | None = None, **query: str
) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        response = await session.get(url, params=query, headers=headers)
        await response.read()
        return response


async def test_a_caller_hears_the_outage_and_their_two_requests_in_russian_and_polish(
    app: App, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    oak = await _outage(
        app,
        "OAK",
        "ru",
        "Дубовый двор",
        "+7 495 000-00-01",
        "+79990000001",
        "В доме нет горячей воды, сантехник на месте",
    )
    waw = await _outage(
        app,
        "WAW",
        "pl",
        "Dębowy Dwór",
        "+48 22 000 00 01",
        "+48600000001",
        "W budynku nie ma ciepłej wody, hydraulik jest na miejscu",
    )

    response = await _get(url, AUTH, called="+74950000001", caller="+79990000001")
    assert response.status == 200
    body = await response.json()
    assert body["building"] == {"code": "OAK", "name": "Дубовый двор"}
    assert (body["language"], body["caller_known"], body["open_tickets"]) == ("ru", True, 2)
    assert body["incident"]["kind"] == "emergency"
    assert [t["ref"] for t in body["tickets"]] == [f"#{oak[0]}", f"#{oak[1]}"]
    assert [(t["status"], t["category"]) for t in body["tickets"]] == [
        ("in_progress", "Оплата"),
        ("new", "Техника"),
    ]
    assert body["text"] == (
        "В доме нет горячей воды, сантехник на месте. Обещают исправить к 25 нояб., 15:00. "
        "У вас 2 открытые заявки. "
        f"Заявка {oak[0]}: Оплата, в работе. Заявка {oak[1]}: Техника, новая."
    )
    assert "Private details" not in str(body)  # a caller ID can be forged

    response = await _get(url, AUTH, called="+48220000001", caller="+48600000001")
    body = await response.json()
    assert body["text"] == (
        "W budynku nie ma ciepłej wody, hydraulik jest na miejscu. "
        "Usunięcie awarii przewidziane do 25 lis, 15:00. "
        "Masz 2 otwarte zgłoszenia. "
        f"Zgłoszenie {waw[0]}: Rozliczenia, w realizacji. Zgłoszenie {waw[1]}: Usterka, nowe."
    )

    stranger = await _get(url, AUTH, called="+48220000001", caller="+48111111111")
    assert (await stranger.json())["text"].endswith("Z tego numeru nie ma otwartych zgłoszeń.")

    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {}):
        refused = await _get(url, headers, called="+48220000001", caller="+48600000001")
        assert refused.status == 401
        assert await refused.json() == {"error": "missing or wrong token"}
    assert TOKEN not in caplog.text


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
async def test_the_status_as_speech_for_the_pbx_to_play(app: App, url: str) -> None:
    await _outage(
        app, "WAW", "pl", "Dębowy Dwór", "+48 22 000 00 01", "+48600000001", "Nie ma wody"
    )
    response = await _get(url, AUTH, called="+48220000001", caller="+48600000001", format="wav")
    assert (response.status, response.content_type) == (200, "audio/wav")
    with wave.open(io.BytesIO(await response.read())) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 8000  # seconds of speech
