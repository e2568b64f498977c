"""The journal as a dispatcher reads it over HTTP: its filters offer the directory's
buildings, staff and categories with the chosen ones selected, a renamed building shows
as soon as the directory is imported, and what people wrote stays text."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from html import unescape
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.actors import CLI
from core.directory.desk_sessions import open_session
from core.storage.models import Channel, Person
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from presentation.directory_file import import_directory_file
from tests.bots.support import EXAMPLE_DIRECTORY, load_example_directory
from tests.conftest import START

SELECT = re.compile(r'<select name="(\w+)"[^>]*>(.*?)</select>', re.S)
OPTION = re.compile(r'<option value="([^"]*)"( selected)?>([^<]*)</option>')
LINE = re.compile(r'<li data-ticket="(\d+)">(.*?)</li>', re.S)
TAG = re.compile(r"<[^>]+>")


def _filters(html: str) -> dict[str, list[tuple[str, str, bool]]]:
    """Each filter's options as (value, label, selected), as a browser reads them."""
    return {
        name: [
            (unescape(v), unescape(label), bool(chosen))
            for v, chosen, label in OPTION.findall(body)
        ]
        for name, body in SELECT.findall(html)
    }


def _lines(html: str) -> dict[int, str]:
    """Each listed ticket's text, as a browser shows it (tags dropped, spaces joined)."""
    return {
        int(ident): " ".join(unescape(TAG.sub(" ", body)).split())
        for ident, body in LINE.findall(html)
    }


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    """The desk's client, signed in as Dmitri (a dispatcher of both buildings, in Russian)."""
    await load_example_directory()
    signed = await open_session(await Person.get(name="Dmitri Dispatcher"), "link", START)
    async with TestClient(TestServer(build_http_app(app))) as client:
        client.session.cookie_jar.update_cookies({"housedesk_desk": signed.token})
        yield client


async def test_the_filters_offer_the_directory_and_keep_what_was_chosen(
    client: TestClient,
) -> None:
    bob = await Person.get(name="Bob Plumber")
    plain = _filters(await (await client.get("/desk/journal")).text())
    assert [label for _, label, _ in plain["building"]] == ["Все дома", "ЖК Липовый", "Oak Court"]
    assert ("", "Любой статус", False) in plain["status"] and len(plain["status"]) == 9
    assert ("technical", "Техническая неисправность", False) in plain["category"]
    assert (str(bob.id), "Bob Plumber", False) in plain["assignee"]
    assert ("telegram", "Telegram", False) in plain["channel"]
    assert not any(chosen for options in plain.values() for _, _, chosen in options)

    query = f"?status=open&category=technical&assignee={bob.id}&channel=telegram"
    chosen = _filters(await (await client.get(f"/desk/journal{query}")).text())
    selected = {name: [v for v, _, s in options if s] for name, options in chosen.items()}
    assert selected == {
        "building": [],
        "status": ["open"],
        "category": ["technical"],
        "assignee": [str(bob.id)],
        "channel": ["telegram"],
    }
    assert ("open", "открыты", True) in chosen["status"]


async def test_a_renamed_building_shows_once_imported_and_stays_text(
    app: App, client: TestClient, tmp_path: Path
) -> None:
    await client.get("/desk/journal")  # the lists are read and kept
    renamed = tmp_path / "directory.toml"
    text = EXAMPLE_DIRECTORY.read_text()
    renamed.write_text(text.replace('name = "Oak Court"', 'name = "Oak <b>Court</b> & Sons"'))
    await import_directory_file(renamed)

    html = await (await client.get("/desk/journal")).text()
    assert "Oak <b>Court</b> & Sons" in [label for _, label, _ in _filters(html)["building"]]
    assert "<b>Court</b>" not in html and "Oak &lt;b&gt;Court&lt;/b&gt; &amp; Sons" in html


async def test_a_ticket_reads_as_written_with_its_status_flag_and_local_time(
    app: App, client: TestClient
) -> None:
    hostile = await app.tickets.create(
        NewTicket(
            category="technical",
            title='Radiator <img src=x onerror="alert(1)"> cold',
            description="The radiator is cold",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="12",
            needs_attention="frost",
        )
    )
    in_moscow = await app.tickets.create(
        NewTicket(
            category="billing",
            title="Счёт за воду",
            description="Пришёл двойной счёт",
            channel=Channel.CLI,
            actor=CLI,
            building="LIPA",
        )
    )
    html = await (await client.get("/desk/journal")).text()
    assert "<img" not in html
    lines = _lines(html)
    assert lines[hostile.ticket.id].startswith(
        f'#{hostile.ticket.id} · Radiator <img src=x onerror="alert(1)"> cold новая'
        " требует внимания 25 нояб., 09:00 · Oak Court, кв. 12 · Техническая неисправность"
    ), lines
    assert lines[in_moscow.ticket.id].startswith(
        f"#{in_moscow.ticket.id} · Счёт за воду новая 25 нояб., 12:00 · ЖК Липовый"
        " · Начисления и оплата"
    ), lines
