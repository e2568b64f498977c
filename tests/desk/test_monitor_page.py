"""The desk's monitor as a dispatcher sees it over HTTP: every figure links to the journal
filtered to its tickets, in the reader's language; the chart and the XLSX download."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from html import unescape
from urllib.parse import parse_qsl

import pytest
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from core.directory.desk_sessions import open_session
from core.storage.models import Building, Person, Role
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from tests.core import factories
from tests.core.test_ops_reports import _seed

COOKIE = "housedesk_desk"
PERIOD = "2026-11-01..2026-11-30"


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_http_app(app))) as client:
        yield client


async def _signed_in(client: TestClient, app: App, person: Person) -> None:
    signed = await open_session(person, "link", app.clock.now())
    client.session.cookie_jar.update_cookies({COOKIE: signed.token})


def _links(html: str) -> dict[str, dict[str, str]]:
    """Each table row's first link: the row's name -> the journal filters it opens."""
    found: dict[str, dict[str, str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        name = re.search(r'<th scope="row">(.*?)</th>', row, re.S)
        link = re.search(r'href="/desk/journal\?([^"]*)"', row)
        if name and link:
            found.setdefault(unescape(name[1]).strip(), dict(parse_qsl(unescape(link[1]))))
    return found


async def test_every_figure_opens_the_journal_filtered_to_it(app: App, client: TestClient) -> None:
    await _seed()
    dispatcher = await factories.person("Dina", Role.DISPATCHER, language="en")
    await _signed_in(client, app, dispatcher)
    response = await client.get(f"/desk/monitor?period={PERIOD}")
    assert response.status == 200
    html = await response.text()
    links = _links(html)
    assert links["Open"] == {"status": "open"}
    assert links["Overdue"] == {"overdue": "1"}
    assert links["Due within 24 hours"] == {"due_within": "24"}
    assert links["Unassigned"] == {"status": "open", "unassigned": "1"}
    olga = await Person.get(name="Olga")
    assert links["Olga"] == {"status": "open", "assignee": f"{olga.id}"}
    elm = await Building.get(code="ELM")
    assert links["ELM"] == {"status": "open", "building": f"{elm.id}"}
    assert 'href="/desk/journal?overdue=1">2</a>' in html  # the figure is the link
    assert "All buildings: 2026-11-01 – 2026-11-30 (UTC)" in html
    assert f'src="/desk/monitor/chart.svg?period={PERIOD}"' in html


async def test_one_buildings_monitor_keeps_the_building_in_every_link(
    app: App, client: TestClient
) -> None:
    await _seed()
    await _signed_in(client, app, await factories.person("Dina", Role.DISPATCHER))
    oak = await Building.get(code="OAK")
    html = await (await client.get(f"/desk/monitor?period=month&building={oak.id}")).text()
    links = _links(html)
    assert links["Open"] == {"building": f"{oak.id}", "status": "open"}
    bob = await Person.get(name="Bob")
    assert links["Bob"] == {"assignee": str(bob.id), "building": str(oak.id), "status": "open"}


async def test_the_monitor_in_russian(app: App, client: TestClient) -> None:
    await _seed()
    await _signed_in(client, app, await factories.person("Дина", Role.MANAGER, language="ru"))
    html = await (await client.get(f"/desk/monitor?period={PERIOD}")).text()
    for words in ("Монитор", "Открытые заявки сейчас", "Просрочены", "Срок в течение 24 часов",
                  "Загрузка и оценки исполнителей", "Скачать XLSX",
                  "Все дома: 2026-11-01 – 2026-11-30 (UTC)"):  # fmt: skip
        assert words in html, words


async def test_chart_and_export_of_the_period(app: App, client: TestClient) -> None:
    await _seed()
    await _signed_in(client, app, await factories.person("Dina", Role.DISPATCHER))
    svg = await client.get(f"/desk/monitor/chart.svg?period={PERIOD}")
    assert svg.content_type == "image/svg+xml"
    assert "All buildings: 2026-11-01 – 2026-11-30 (UTC)" in await svg.text()
    xlsx = await client.get(f"/desk/monitor/export.xlsx?period={PERIOD}")
    assert xlsx.headers["Content-Disposition"].endswith(
        'filename="tickets-2026-11-01_2026-11-30.xlsx"'
    )
    workbook = load_workbook(io.BytesIO(await xlsx.read()))
    assert workbook.sheetnames == ["Summary", "Tickets", "Timeline"]
    assert workbook["Tickets"].max_row == 8


async def test_a_technician_has_no_monitor(app: App, client: TestClient) -> None:
    await _seed()
    await _signed_in(client, app, await Person.get(name="Bob"))
    for path in ("/desk/monitor", "/desk/monitor/chart.svg", "/desk/monitor/export.xlsx"):
        response = await client.get(path)
        assert response.status in (403, 404), path
        assert "Overdue" not in await response.text()
