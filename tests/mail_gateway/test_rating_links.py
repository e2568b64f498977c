"""The signed rating links of a "done" mail, served by housedesk's HTTP server."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from core.actors import CLI
from core.clock import FrozenClock
from core.messaging.message import OutgoingMessage
from core.storage.models import (
    Channel,
    ContactKind,
    EventType,
    OutboxMessage,
    Status,
    Ticket,
    TicketEvent,
)
from core.tickets.commands import NewTicket, RequesterHint
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from housedesk.channels.rating import rating_http_routes, rating_links
from housedesk.settings.config import Settings
from intake.email.compose import compose_message
from intake.email.parse import parse_message
from tests.core import factories


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        database={"url": db_url},
        storage={"data_dir": tmp_path / "data"},
        email={"help_address": "help@oak.example", "link_base_url": "https://desk.example"},
        operations={"routing_enabled": False, "scheduler_enabled": False},
    )


@pytest.fixture
async def client(app: App) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(build_http_app(app, rating_http_routes(app)))) as client:
        yield client


async def _done_mail(app: App) -> dict[str, str]:
    """Finish ticket #1 and return the links of its "done" mail by label."""
    await app.tickets.change_status(1, CLI, Status.DONE)
    row = await OutboxMessage.filter(ticket_id=1).order_by("-id").first()
    assert row is not None
    message = compose_message(
        OutgoingMessage.from_payload(row.payload),
        to=row.recipient,
        from_address="help@oak.example",
        files={},
        now=app.clock.now(),
        links=rating_links(app.settings),
    )
    body = parse_message(message.as_bytes(), max_attachment_bytes=1024).body
    found = re.findall(r"^(★+|Not fixed:) https://desk\.example(/rate/\S+)$", body, re.M)
    return dict(found)


@pytest.fixture
async def ticket(app: App) -> Ticket:
    await factories.building("OAK")
    await factories.category("technical")
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Leak",
            channel=Channel.EMAIL,
            actor=CLI,
            requester=RequesterHint(ContactKind.EMAIL, "tom@tenant.example", "Tom"),
        )
    )
    return result.ticket


async def test_a_link_asks_first_then_rates_once(
    app: App,
    ticket: Ticket,
    client: TestClient,
) -> None:
    links = await _done_mail(app)
    assert set(links) == {"★", "★★", "★★★", "★★★★", "★★★★★", "Not fixed:"}
    page = await client.get(links["★★★★"])
    assert page.status == 200
    assert "Your rating of request #1: ★★★★" in await page.text()
    assert (await Ticket.get(id=1)).rating is None  # opening the link (a scanner) rates nothing
    done = await client.post(links["★★★★"])
    assert done.status == 200 and "Thank you: your rating is recorded." in await done.text()
    rated = await Ticket.get(id=1)
    assert rated.rating == 4 and rated.status == Status.DONE
    again = await client.post(links["★★"])
    assert again.status == 410 and "This link is no longer valid." in await again.text()
    assert (await Ticket.get(id=1)).rating == 4
    assert await TicketEvent.filter(ticket_id=1, type=EventType.RATING).count() == 1


async def test_not_fixed_link_reopens_and_old_links_die(
    app: App,
    ticket: Ticket,
    client: TestClient,
    clock: FrozenClock,
) -> None:
    first = await _done_mail(app)
    reopened = await client.post(first["Not fixed:"])
    assert reopened.status == 200
    assert "Request #1 is reopened" in await reopened.text()
    assert (await Ticket.get(id=1)).status == Status.REOPENED
    assert (await client.post(first["★★★★★"])).status == 410  # not finished any more
    clock.advance(timedelta(minutes=5))
    await _done_mail(app)
    assert (await client.post(first["★★★★★"])).status == 410  # made for the earlier resolution
    assert (await Ticket.get(id=1)).rating is None


async def test_a_forged_link_does_nothing(
    app: App,
    ticket: Ticket,
    client: TestClient,
) -> None:
    links = await _done_mail(app)
    forged = re.sub(r"^/rate/1-4-", "/rate/1-5-", links["★★★★"])
    assert (await client.post(forged)).status == 410
    assert (await client.get("/rate/1-5-1795608000.AAAAAAAAAAAAAAAAAAAAAA")).status == 410
    assert (await Ticket.get(id=1)).rating is None
