"""Robots get no answer: null reverse-path, read receipts, delivery reports, RFC 3834 mail,
our own loop header. Automatic mail answering a ticket's mail is kept on the ticket as an
internal note; a request not to be auto-answered still makes a ticket, without the
acknowledgement. (Mails here are constructed; real ones are in tests/data/emails.)
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from core.storage.models import EventType, OutboxMessage, Ticket, TicketEvent
from core.tickets.timeline import event_text
from housedesk.bootstrap import App
from intake.email.smtp_server import SmtpServerConfig, start_smtp_server
from intake.outcome import Accepted
from tests.core import factories

HELP = "help@oak.example"


def tenant_mail(body: str = "The lift is stuck.", n: int = 1, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Tom Tenant <tom@tenant.example>"
    msg["To"] = HELP
    msg["Subject"] = "Lift"
    msg["Message-ID"] = f"<m{n}@tenant.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def read_receipt() -> bytes:
    """An RFC 8098 MDN as Thunderbird sends it (constructed)."""
    return (
        b"From: Tom Tenant <tom@tenant.example>\r\nTo: help@oak.example\r\n"
        b"Subject: Return Receipt (displayed) - [#1] Lift\r\nMessage-ID: <mdn1@tenant.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="r"\r\n'
        b"\r\n--r\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        b"This is a Return Receipt for the mail that you sent to tom@tenant.example.\r\n"
        b"--r\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Reporting-UA: tenant.example; Thunderbird 115\r\n"
        b"Final-Recipient: rfc822;tom@tenant.example\r\n"
        b"Original-Message-ID: <ack-unknown@oak.example>\r\n"
        b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--r--\r\n"
    )


def delivery_report() -> bytes:
    """An RFC 3464 DSN about a mail housedesk never sent (constructed)."""
    return (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.far.example>\r\nTo: help@oak.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.far.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n'
        b"\r\n--d\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        b"--d\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.far.example\r\n"
        b"\r\nFinal-Recipient: rfc822; gone@far.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <elsewhere@x.example>\r\n"
        b"--d--\r\n"
    )


@pytest.fixture
async def world(app: App) -> App:
    await factories.building("OAK")
    await factories.category("technical")
    await factories.person("Tom Tenant", email="tom@tenant.example")
    return app


async def nothing_made_or_sent() -> bool:
    return await Ticket.all().count() == 0 and await OutboxMessage.all().count() == 0


async def test_null_reverse_path_through_smtp_is_never_answered(world: App, tmp_path: Path) -> None:
    config = SmtpServerConfig(help_address=HELP, spool_dir=tmp_path / "spool", port=0)
    server = await start_smtp_server(config, world.mail_gateway)
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port)
        await client.connect()
        errors, reply = await client.sendmail("", [HELP], tenant_mail().as_bytes())
        await client.quit()
    finally:
        await server.close()

    assert errors == {} and reply.startswith("2.0.0 Message accepted")
    assert await nothing_made_or_sent()


@pytest.mark.parametrize(
    "raw",
    [
        read_receipt(),
        delivery_report(),
        tenant_mail(Auto_Submitted="auto-generated").as_bytes(),
        tenant_mail(X_Housedesk_Loop=HELP).as_bytes(),
    ],
    ids=["mdn", "dsn", "auto-submitted", "our-loop-header"],
)
async def test_robots_get_no_ticket_and_no_answer(world: App, raw: bytes) -> None:
    outcome = await world.mail_gateway(raw)

    assert isinstance(outcome, Accepted) and outcome.ticket_ref is None
    assert await nothing_made_or_sent()


async def test_unthreaded_automatic_mail_is_counted(world: App) -> None:
    await world.mail_gateway(tenant_mail(Auto_Submitted="auto-replied").as_bytes())
    await world.mail_gateway(read_receipt())

    assert world.mail_gateway.automatic_unthreaded == 2


async def test_out_of_office_to_a_ticket_lands_as_an_internal_note(world: App) -> None:
    await world.mail_gateway(tenant_mail("The lift is stuck on floor 3.").as_bytes())
    sent_before = await OutboxMessage.all().count()
    away = tenant_mail(
        "I am away until Monday.",
        n=2,
        Auto_Submitted="auto-replied",
        In_Reply_To="<m1@tenant.example>",
    )

    outcome = await world.mail_gateway(away.as_bytes())

    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    note = await TicketEvent.get(ticket_id=1, type=EventType.INTERNAL_NOTE)
    assert not note.public and note.data["automatic"] == "Auto-Submitted: auto-replied"
    assert note.text == "Automatic reply from tom@tenant.example (not answered):\n\n" + (
        "I am away until Monday."
    )
    assert event_text(note.text, note.data, "ru") == (  # staff read it in their language
        "Автоматический ответ от tom@tenant.example (без ответа):\n\nI am away until Monday."
    )
    assert await OutboxMessage.all().count() == sent_before
    assert await Ticket.all().count() == 1


async def test_a_request_not_to_be_auto_answered_still_makes_a_ticket(world: App) -> None:
    outcome = await world.mail_gateway(
        tenant_mail("Please fix the lift.", X_Auto_Response_Suppress="All").as_bytes()
    )

    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    assert (await Ticket.get(id=1)).description == "Please fix the lift."
    assert await OutboxMessage.all().count() == 0
