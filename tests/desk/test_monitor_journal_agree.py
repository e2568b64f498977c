"""A figure on the monitor and the journal it links to count the same tickets: overdue
(a missed response deadline too), due soon (the window's end left out), needs attention
(open tickets only), and the period's tickets created (in the building's timezone)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.clock import FrozenClock
from core.directory.desk_sessions import open_session
from core.storage.models import Building, Channel, Role, Status, Ticket
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from tests.core import factories

LINK = re.compile(r'<a href="(/desk/journal\?[^"]*)">(\d+)</a>')
COUNT = re.compile(r'<p class="count" id="count">(\d+) tickets?</p>')


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_http_app(app))) as client:
        yield client


async def _tickets(clock: FrozenClock) -> Building:
    """Tickets on the edges where the journal and the monitor used to disagree."""
    now = clock.now()
    tokyo = await Building.create(code="TKY", name="Tokyo House", timezone="Asia/Tokyo")
    oak = await factories.building("OAK")
    technical = await factories.category("technical")
    hour = timedelta(hours=1)
    late, owed, far = now - hour, "response_due_at", now + 90 * hour
    specs: list[tuple[str, Building, Status, dict[str, object]]] = [
        ("late fix", oak, Status.IN_PROGRESS, {"due_at": late}),
        ("no answer yet", oak, Status.NEW, {owed: late, "due_at": far}),
        ("answered late", oak, Status.IN_PROGRESS, {owed: late, "first_response_at": now,
                                                     "due_at": far}),
        ("due at the window's end", oak, Status.IN_PROGRESS, {"due_at": now + 24 * hour}),
        ("answer owed soon", tokyo, Status.NEW, {owed: now + 2 * hour}),
        ("done, flagged", oak, Status.DONE, {"needs_attention": "no transcript", "due_at": late}),
        ("open, flagged", tokyo, Status.NEW, {"needs_attention": "no transcript"}),
        ("closed late", tokyo, Status.CLOSED, {"due_at": now - 5 * hour}),
    ]  # fmt: skip
    for n, (title, building, status, times) in enumerate(specs):
        created = now - timedelta(hours=16) + n * timedelta(minutes=10)  # 25 Nov in Tokyo
        await Ticket.create(
            title=title, building=building, category=technical, channel=Channel.PHONE,
            status=status, created_at=created, updated_at=created, **times,
        )  # fmt: skip
    return tokyo


async def _figures_and_journals(client: TestClient, monitor: str) -> list[tuple[str, int, int]]:
    """Each linked figure on the monitor page: its link, its number, the journal's count."""
    html = await (await client.get(monitor)).text()
    found = []
    for href, figure in sorted(set(LINK.findall(html))):
        journal = await (await client.get(unescape(href))).text()
        counted = COUNT.search(journal)
        assert counted, (href, journal)
        found.append((unescape(href), int(figure), int(counted[1])))
    return found


async def test_every_figure_counts_what_its_journal_lists(
    app: App, client: TestClient, clock: FrozenClock
) -> None:
    tokyo = await _tickets(clock)
    dispatcher = await factories.person("Dina", Role.DISPATCHER, language="en")
    signed = await open_session(dispatcher, "link", clock.now())
    client.session.cookie_jar.update_cookies({"housedesk_desk": signed.token})

    everywhere = await _figures_and_journals(client, "/desk/monitor?period=today")
    by_link = {href: figure for href, figure, _ in everywhere}
    assert by_link["/desk/journal?overdue=1"] == 2  # "late fix", "no answer yet"
    assert by_link["/desk/journal?due_within=24"] == 1  # "answer owed soon"
    assert by_link["/desk/journal?status=open&attention=1"] == 1  # "open, flagged"
    assert by_link["/desk/journal?created_from=2026-11-25&created_to=2026-11-25"] == 0  # UTC
    in_tokyo = await _figures_and_journals(
        client, f"/desk/monitor?period=today&building={tokyo.id}"
    )
    created = f"/desk/journal?building={tokyo.id}&created_from=2026-11-25&created_to=2026-11-25"
    assert dict((href, figure) for href, figure, _ in in_tokyo)[created] == 3
    for href, figure, listed in everywhere + in_tokyo:
        assert figure == listed, href
