"""A mail follow-up is one read and one transaction; a new mail is classified once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from core.actors import CLI
from core.operations.classify import Classification, KeywordClassifier
from core.operations.routing import Router
from core.storage.models import Category, EventType, Status, Ticket, TicketEvent
from housedesk.bootstrap import App
from housedesk.settings.operations import DEFAULT_KEYWORDS
from intake.email.authentication import AuthMode, SenderAuthentication
from intake.email.gateway import GatewaySettings, MailGateway
from intake.outcome import Accepted, Deferred
from tests.core import factories
from tests.mail_gateway.test_gateway import HELP, mail


def _gateway(app: App, classifier: KeywordClassifier | None = None) -> MailGateway:
    return MailGateway(
        app.tickets,
        app.blobs,
        app.clock,
        GatewaySettings(help_address=HELP, authentication=SenderAuthentication(AuthMode.NONE)),
        categorize=classifier.categorize if classifier else None,
    )


@pytest.fixture
async def done_ticket(app: App) -> Ticket:
    """Tom's mail became #1, and the work is done."""
    await factories.building("OAK")
    await factories.category("technical")
    await factories.person("Tom Tenant", email="tom@tenant.example")
    await _gateway(app)(mail())
    await app.tickets.change_status(1, CLI, Status.DONE)
    return await app.tickets.get(1)


async def _kinds(ticket_id: int) -> list[EventType]:
    return [e.type for e in await TicketEvent.filter(ticket_id=ticket_id).order_by("id")]


async def test_a_failed_reopen_takes_the_reply_with_it_and_the_mail_comes_again(
    app: App, done_ticket: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = _gateway(app)
    follow_up = mail(subject="Re: [#1] Leak", body="Still dripping", message_id="<m4@t>")
    before = await _kinds(1)

    async def outbox_down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("outbox table unavailable")

    with monkeypatch.context() as patch:  # the reopening's notice fails
        patch.setattr(app.tickets.notifier, "to_requester", outbox_down)
        assert isinstance(await gateway(follow_up), Deferred)
    assert await _kinds(1) == before  # no reply without its reopening
    assert (await Ticket.get(id=1)).status == Status.DONE

    outcome = await gateway(follow_up)  # the sender tries again: both land, once
    assert isinstance(outcome, Accepted) and outcome.note == "follow-up"
    assert await _kinds(1) == [*before, EventType.PUBLIC_REPLY, EventType.STATUS_CHANGED]
    assert (await Ticket.get(id=1)).status == Status.REOPENED


async def test_a_follow_up_reads_its_ticket_once(
    app: App, done_ticket: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[object] = []
    read = app.tickets.get

    async def counted(ref: str | int) -> Ticket:
        reads.append(ref)
        return await read(ref)

    monkeypatch.setattr(app.tickets, "get", counted)
    await _gateway(app)(mail(subject="Re: [#1] Leak", body="Still dripping", message_id="<m4@t>"))
    assert reads == [1]
    assert (await Ticket.get(id=1)).status == Status.REOPENED


async def test_a_new_mail_is_classified_once_and_routing_records_it(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    await factories.category("technical")
    await factories.category("emergency", emergency=True, priority=1, response_minutes=30)
    classifier = KeywordClassifier(DEFAULT_KEYWORDS)
    app.tickets.on_created.append(Router(app.tickets, classifier).on_created)
    texts: list[str] = []
    classify = classifier.classify

    def counted(text: str, categories: list[Category]) -> Classification:
        texts.append(text)
        return classify(text, categories)

    monkeypatch.setattr(classifier, "classify", counted)
    outcome = await _gateway(app, classifier)(
        mail(subject="Flood", body="The kitchen is flooded, water everywhere.")
    )

    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    assert len(texts) == 1
    ticket = await app.tickets.get(1)
    assert (ticket.category.code, ticket.priority) == ("emergency", 1)
    assert ticket.response_due_at == app.clock.now() + timedelta(minutes=30)
    routing = await TicketEvent.filter(ticket_id=1, type=EventType.ROUTING).order_by("id")
    assert routing[0].data["decision"] == "category"
    assert routing[0].text == "Category emergency from keywords: flood"
