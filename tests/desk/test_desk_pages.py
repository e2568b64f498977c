"""The desk's pages without a browser: registrations decided as with the staff bot's
buttons, and a call from a number nobody in the directory has."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.actors import Actor
from core.directory.desk_sessions import csrf_token, open_session
from core.directory.residents import register_resident
from core.incidents.commands import OpenIncident
from core.storage.models import (
    ClaimStatus,
    ContactKind,
    IncidentKind,
    Person,
    ResidencyClaim,
    Ticket,
)
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from tests.bots.support import load_example_directory
from tests.conftest import START
from tests.desk.support import give_phone


@pytest.fixture
async def dmitri(app: App) -> AsyncIterator[tuple[TestClient, str]]:
    """The desk's client, signed in as Dmitri (a dispatcher of both buildings, in Russian)."""
    await load_example_directory()
    signed = await open_session(await Person.get(name="Dmitri Dispatcher"), "link", START)
    async with TestClient(TestServer(build_http_app(app))) as client:
        client.session.cookie_jar.update_cookies({"housedesk_desk": signed.token})
        yield client, csrf_token(signed.token)


async def test_a_registration_is_approved_from_the_desk(
    dmitri: tuple[TestClient, str],
) -> None:
    client, csrf = dmitri
    mina, _ = await register_resident(5550001, "Mina", "LIPA", "7", "ru", claimed_at=START)
    claim = await ResidencyClaim.get(person=mina)
    page = await (await client.get("/desk/registrations")).text()
    assert "Mina · ЖК Липовый, кв. 7" in page

    answer = await client.post(
        f"/desk/registrations/{claim.id}/approve", data={"csrf": csrf}, allow_redirects=False
    )
    assert answer.status == 303
    assert (await ResidencyClaim.get(id=claim.id)).status == ClaimStatus.VERIFIED
    assert "Никто не ждёт." in await (await client.get("/desk/registrations")).text()

    again = await client.post(f"/desk/registrations/{claim.id}/reject", data={"csrf": csrf})
    assert again.status == 409 and "уже" in await again.text()
    assert (await ResidencyClaim.get(id=claim.id)).status == ClaimStatus.VERIFIED


async def test_a_call_from_an_unknown_number_is_filed_under_the_number(
    dmitri: tuple[TestClient, str],
) -> None:
    client, csrf = dmitri
    page = await (await client.get("/desk/call", params={"phone": "+48 600 100 200"})).text()
    assert "Этого номера нет в справочнике" in page
    answer = await client.post(
        "/desk/call",
        data={
            "csrf": csrf,
            "phone": "+48 600 100 200",
            "building": "",
            "category": "technical",
            "title": "Протекает кран",
        },
        allow_redirects=False,
    )
    ticket = await Ticket.get(title="Протекает кран").prefetch_related("requester__contacts")
    assert answer.headers["Location"] == f"/desk/tickets/{ticket.id}"
    assert ticket.channel.value == "phone" and ticket.building_id is None  # type: ignore[attr-defined]
    phones = [c.value for c in ticket.requester.contacts if c.kind == ContactKind.PHONE]  # type: ignore[union-attr]
    assert phones == ["+48600100200"]


async def test_an_incident_in_the_building_shows_on_the_call_and_the_ticket(
    app: App, dmitri: tuple[TestClient, str]
) -> None:
    client, csrf = dmitri
    manager = await Person.get(name="Alice Manager")
    await app.incidents.open(
        OpenIncident(
            kind=IncidentKind.EMERGENCY,
            buildings=("OAK",),
            title="Hot water off",
            texts={"en": "Hot water is off."},
            actor=Actor.of(manager),
        )
    )
    await give_phone("Tom Tenant", "+44 7700 900555")
    page = await (await client.get("/desk/call", params={"phone": "+44 7700 900555"})).text()
    assert "Tom Tenant" in page and "Авария в доме: Hot water off" in page
    answer = await client.post(
        "/desk/call",
        data={
            "csrf": csrf,
            "phone": "+44 7700 900555",
            "building": "1",
            "unit": "12",
            "category": "technical",
            "title": "No hot water",
        },
    )
    assert "Авария в доме: Hot water off" in await answer.text()
