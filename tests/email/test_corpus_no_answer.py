"""The corpus's robots through the whole gateway: no ticket and no answer for any of them, and a
delivery report about one of our mails on that ticket, a report of success not as a failure."""

from __future__ import annotations

import pytest

from core.storage.models import EventType, MessageRef, OutboxMessage, Ticket, TicketEvent
from housedesk.bootstrap import App
from intake.outcome import Accepted
from tests.core import factories
from tests.email.test_corpus import EMAILS, EXPECTED

ROBOTS = sorted(
    name
    for name, expected in EXPECTED["messages"].items()
    if expected["kind"] in {"automatic", "bounce"}
)


@pytest.fixture
async def world(app: App) -> App:
    await factories.building("OAK")
    await factories.category("technical")
    return app


@pytest.mark.parametrize("name", ROBOTS)
async def test_a_robot_gets_no_ticket_and_no_answer(world: App, name: str) -> None:
    outcome = await world.mail_gateway((EMAILS / name).read_bytes())

    assert isinstance(outcome, Accepted) and outcome.ticket_ref is None
    assert await Ticket.all().count() == 0
    assert await OutboxMessage.all().count() == 0


async def _ticket_whose_mail_was(world: App, message_id: str) -> int:
    """A ticket whose acknowledgement went out as ``message_id``; its number."""
    await world.mail_gateway(
        b"From: Tom <tom@tenant.example>\r\nTo: help@oak.example\r\nSubject: Lift\r\n"
        b"Message-ID: <lift1@tenant.example>\r\n\r\nThe lift is stuck.\r\n"
    )
    ticket = await Ticket.get()
    await MessageRef.filter(ticket_id=ticket.id, inbound=False).update(external_id=message_id)
    return ticket.id


async def test_a_real_bounce_of_our_mail_is_recorded_on_its_ticket(world: App) -> None:
    raw = (EMAILS / "deltachat__gmail_ndn.eml").read_bytes()
    ticket_id = await _ticket_whose_mail_was(
        world, "<CABXKi8zruXJc_6e4Dr087H5wE7sLp+u250o0N2q5DdjF_r-8wg@mail.gmail.com>"
    )
    sent = await OutboxMessage.all().count()

    outcome = await world.mail_gateway(raw)

    assert isinstance(outcome, Accepted) and outcome.ticket_ref == f"#{ticket_id}"
    failed = await TicketEvent.get(ticket_id=ticket_id, type=EventType.NOTIFICATION_FAILED)
    assert failed.data["status"] == "5.1.1" and failed.data["permanent"]
    assert "assidhfaaspocwaeofi@gmail.com" in failed.text
    assert await OutboxMessage.all().count() == sent


async def test_a_report_of_success_is_not_recorded_as_a_failure(world: App) -> None:
    raw = (EMAILS / "deltachat__dsn_relayed.eml").read_bytes()
    ticket_id = await _ticket_whose_mail_was(world, "<8b7b1a9d0c8cc588c7bcac47f5687634@posteo.de>")
    sent = await OutboxMessage.all().count()

    outcome = await world.mail_gateway(raw)

    assert (
        isinstance(outcome, Accepted)
        and outcome.note == "delivery report (relayed): nothing failed"
    )
    assert not await TicketEvent.exists(ticket_id=ticket_id, type=EventType.NOTIFICATION_FAILED)
    assert await OutboxMessage.all().count() == sent
