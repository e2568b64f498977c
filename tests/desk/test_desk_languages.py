"""Every desk page a dispatcher opens, read in Russian and in Chinese: no English word left
(names, codes, what people wrote and the period's dates aside)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.actors import CLI
from core.directory.desk_sessions import open_session
from core.directory.residents import register_resident
from core.storage.models import Channel, Person
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from tests.bots.support import load_example_directory
from tests.conftest import START
from tests.core.ops_world import routed
from tests.desk.support import give_phone, hot_water_off

GIVEN = re.compile(
    r"Alice Manager|Bob Plumber|Olga Electric|Carol Accounts|Dmitri Dispatcher|Ivan Slesar"
    r"|Tom Tenant|Oak Court|OAK|LIPA|Mina|Hot water off|Hot water is off\.|Radiator is cold"
    r"|The radiator in the bedroom is cold|general|plumbing|housedesk|Telegram|UTC|XLSX|SVG|PNG"
    r"|[\w.+-]+@[\w.-]+|https?://\S+|[A-Z][a-z]+/[A-Z][a-z_]+"
)
"""Names of people, places and services, what they wrote, the directory's trades, formats,
links and zones."""
LATIN = re.compile(r"[A-Za-z]{3,}")


class _Shown(HTMLParser):
    """The text a person reads on a page: its text, titles, placeholders and labels."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in self.SHOWN_ATTRIBUTES and value:
                self.texts.append(value)
            if tag == "input" and name == "value" and dict(attrs).get("type") == "submit":
                self.texts.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(data.strip())


def english(html: str) -> list[str]:
    """The texts of ``html`` with English words in them, and the words."""
    shown = _Shown()
    shown.feed(html)
    found = []
    for text in shown.texts:
        words = LATIN.findall(GIVEN.sub(" ", text))
        if words:
            found.append(f"{words} in {text!r}")
    return found


def test_english_is_found() -> None:
    page = '<p title="Open">Журнал</p><script>var x = "hidden";</script><b>Bob Plumber left</b>'
    assert english(page) == ["['Open'] in 'Open'", "['left'] in 'Bob Plumber left'"]


@pytest.mark.parametrize("language", ["ru", "zh"])
async def test_every_desk_page_in_the_readers_language(app: App, language: str) -> None:
    await load_example_directory()
    routed(app.tickets)
    await Person.filter(name="Dmitri Dispatcher").update(language=language)
    await register_resident(5550001, "Mina", "LIPA", "7", "ru", claimed_at=START)
    incident = await hot_water_off(app, "Hot water is off.")
    created = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Radiator is cold",
            description="The radiator in the bedroom is cold",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="12",
        )
    )
    await give_phone("Tom Tenant", "+44 7700 900555")
    signed = await open_session(await Person.get(name="Dmitri Dispatcher"), "link", START)
    pages = {
        "journal": "/desk/journal",
        "ticket": f"/desk/tickets/{created.ticket.id}",
        "monitor": "/desk/monitor",
        "call": "/desk/call?phone=%2B44%207700%20900555",
        "unknown caller": "/desk/call?phone=%2B48%20600%20100%20200",
        "registrations": "/desk/registrations",
        "incident": f"/desk/incidents/{incident.id}",
    }
    found = {}
    async with TestClient(TestServer(build_http_app(app))) as client:
        client.session.cookie_jar.update_cookies({"housedesk_desk": signed.token})
        for name, path in pages.items():
            answer = await client.get(path)
            assert answer.status == 200, (name, answer.status)
            found[name] = english(shown := await answer.text())
            if name == "ticket" and language == "zh":  # what was said with it after a 「：」
                assert "将工单分派给 Olga Electric：general" in shown
    assert found == {name: [] for name in pages}, found
