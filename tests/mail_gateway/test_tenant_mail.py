"""Issue #16, second part, through the gateway and the real core: mails in the tenant's
language, rating by reply, the staff notes address, limits per sender and per mail."""

from __future__ import annotations

import io
import time
import zipfile
from email.message import EmailMessage

import pytest

from core.actors import CLI
from core.messaging.message import OutgoingMessage
from core.storage.models import (
    Attachment,
    EventType,
    OutboxMessage,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
    Unit,
)
from core.tickets.timeline import event_text
from housedesk.bootstrap import App
from intake.email.authentication import AuthMode, SenderAuthentication
from intake.email.compose import compose_message
from intake.email.gateway import GatewaySettings, MailGateway
from intake.email.parse import parse_message
from intake.email.wording import Emergency
from intake.outcome import Accepted, Rejected
from tests.core import factories

HELP = "help@oak.example"
MTA = "mx.oak.example"


def mail(
    body: str,
    subject: str = "Leak",
    sender: str = "Tom Tenant <tom@tenant.example>",
    message_id: str = "<m1@tenant.example>",
    to: str = HELP,
    verified: bool = True,
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    domain = sender.rpartition("@")[2].rstrip(">")
    if verified:
        msg["Authentication-Results"] = f"{MTA}; dmarc=pass header.from={domain}"
    msg.set_content(body)
    for name, value in headers.items():  # after set_content, which drops Content-* fields
        msg[name.replace("_", "-")] = value
    return msg.as_bytes()


@pytest.fixture
async def gateway(app: App) -> MailGateway:
    oak = await factories.building("OAK")
    oak.duty_phone = "+47 22 00 11 22"
    await oak.save()
    await factories.category("technical")
    await factories.category("emergency", emergency=True, priority=1)
    tom = await factories.person("Tom Tenant", email="tom@tenant.example")
    [flat, *_] = await Unit.filter(building=oak).order_by("id")
    await tom.units.add(flat)
    await factories.person("Bob", Role.TECHNICIAN, email="bob@oak.example")
    await factories.person("Dora", Role.DISPATCHER, email="dora@oak.example")
    return MailGateway(
        app.tickets,
        app.blobs,
        app.clock,
        GatewaySettings(
            help_address=HELP,
            authentication=SenderAuthentication(AuthMode.TRUSTED_MTA, MTA),
            tickets_per_sender_per_hour=3,
            max_attachments=4,
            max_mime_parts=50,
        ),
    )


async def tenant_reads(app: App, row: OutboxMessage, emergency: Emergency | None = None) -> str:
    """The body of the mail an outbox row becomes, as the tenant's client shows it."""
    message = compose_message(
        OutgoingMessage.from_payload(row.payload),
        to=row.recipient,
        from_address=HELP,
        files={},
        emergency=emergency,
    )
    return parse_message(message.as_bytes(), max_attachment_bytes=1024).body


async def test_a_russian_mail_is_acknowledged_in_russian(gateway: MailGateway, app: App) -> None:
    await gateway(mail("Здравствуйте! На кухне течёт кран, вода на полу.", subject="Течёт кран"))
    ticket = await Ticket.get(id=1).select_related("requester")
    assert ticket.requester is not None and ticket.requester.language == "ru"
    assert ticket.language == "ru"
    [ack] = await OutboxMessage.filter(ticket=ticket)
    text = await tenant_reads(app, ack, Emergency(phone="+47 22 00 11 22"))
    assert text.startswith("Здравствуйте!\n\n")
    assert "#1" in text and "Течёт кран" in text
    assert "Что дальше: сотрудник рассмотрит вашу заявку" in text
    assert "сразу звоните по номеру +47 22 00 11 22" in text
    assert "Чтобы дополнить заявку, просто ответьте на это письмо" in text


async def test_a_polish_mail_is_acknowledged_in_polish(gateway: MailGateway, app: App) -> None:
    body = "Dzień dobry, w mieszkaniu nie działa ogrzewanie. Proszę o pomoc."
    await gateway(mail(body, subject="Ogrzewanie", sender="Ala <ala@tenant.example>"))
    [ack] = await OutboxMessage.filter(ticket_id=1)
    assert ack.payload["language"] == "pl"
    text = await tenant_reads(app, ack)
    assert text.startswith("Dzień dobry,\n\n")
    assert "Co dalej: pracownik zapozna się z Twoim zgłoszeniem" in text
    assert "Aby uzupełnić zgłoszenie, odpowiedz na tę wiadomość" in text


async def test_content_language_comes_before_the_text(gateway: MailGateway) -> None:
    await gateway(mail("Water on the floor.", Content_Language="nb-NO"))
    assert (await Ticket.get(id=1)).language == "no"


async def _done(gateway: MailGateway, app: App) -> OutboxMessage:
    await gateway(mail("Water on the floor."))
    await app.tickets.change_status(1, CLI, Status.DONE)
    done = await OutboxMessage.filter(ticket_id=1).order_by("-id").first()
    assert done is not None
    return done


async def test_the_done_mail_tells_how_to_rate_and_a_digit_rates(
    gateway: MailGateway, app: App
) -> None:
    done = await _done(gateway, app)
    assert "Reply to this mail with a digit from 1 (poor) to 5" in await tenant_reads(app, done)
    reply = mail(
        "4\nQuick and tidy, thanks.\n\nOn Mon, help wrote:\n> Your request #1 is now: done.",
        subject="Re: [#1] Leak",
        message_id="<r1@tenant.example>",
        In_Reply_To=str(done.payload["message_id"]),
    )
    outcome = await gateway(reply)
    assert isinstance(outcome, Accepted) and outcome.note == "rated 4 of 5"
    ticket = await Ticket.get(id=1)
    assert ticket.status == Status.DONE  # a rating does not reopen
    assert (ticket.rating, ticket.rating_comment) == (4, "Quick and tidy, thanks.")
    again = await gateway(reply)  # the same mail delivered twice rates once
    assert isinstance(again, Accepted) and "duplicate" in again.note
    assert await TicketEvent.filter(ticket_id=1, type=EventType.RATING).count() == 1


async def test_not_fixed_by_reply_reopens(gateway: MailGateway, app: App) -> None:
    done = await _done(gateway, app)
    await gateway(
        mail(
            "Not fixed, it still drips at night.",
            subject="Re: [#1] Leak",
            message_id="<r2@tenant.example>",
            In_Reply_To=str(done.payload["message_id"]),
        )
    )
    ticket = await Ticket.get(id=1)
    assert ticket.status == Status.REOPENED and ticket.rating is None


async def test_a_digit_from_someone_else_is_not_a_rating(gateway: MailGateway, app: App) -> None:
    await _done(gateway, app)
    await gateway(
        mail("5", subject="Re: [#1] Leak", sender="bob@oak.example", message_id="<b@oak>")
    )
    assert (await Ticket.get(id=1)).rating is None


async def test_staff_note_address_makes_an_internal_note(gateway: MailGateway, app: App) -> None:
    await gateway(mail("Water on the floor."))
    sent = await OutboxMessage.all().count()
    outcome = await gateway(
        mail(
            "Door code 4711, do not tell anyone.",
            subject="[#1] Leak",
            sender="Dora <dora@oak.example>",
            to="help+note@oak.example",
            message_id="<n1@oak.example>",
        )
    )
    assert isinstance(outcome, Accepted) and outcome.note == "internal note"
    note = await TicketEvent.get(ticket_id=1, type=EventType.INTERNAL_NOTE)
    assert note.text == "Door code 4711, do not tell anyone." and not note.public
    assert await OutboxMessage.all().count() == sent  # nothing goes out


async def test_a_note_on_a_ticket_staff_may_not_see_is_refused(gateway: MailGateway) -> None:
    await gateway(mail("Water on the floor."))
    outcome = await gateway(
        mail(
            "A note.",
            subject="[#1] Leak",
            sender="Bob <bob@oak.example>",
            to="help+note@oak.example",
            message_id="<n3@oak.example>",
        )
    )
    assert isinstance(outcome, Rejected) and outcome.smtp_code == 550
    assert "may not see ticket #1" in outcome.reason


async def test_an_unverified_note_is_kept_as_not_verified(gateway: MailGateway) -> None:
    await gateway(mail("Water on the floor."))
    await gateway(
        mail(
            "Give the tenant the door code.",
            subject="[#1] Leak",
            sender="Bob <bob@oak.example>",
            to="help+note@oak.example",
            message_id="<n2@evil.example>",
            verified=False,
        )
    )
    note = await TicketEvent.get(ticket_id=1, type=EventType.INTERNAL_NOTE)
    assert note.text.startswith("Sender not verified") and note.data["sender_not_verified"]
    assert await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).count() == 0


async def test_over_the_ticket_limit_mail_is_kept_on_the_latest_ticket(
    gateway: MailGateway,
) -> None:
    for n in range(5):
        await gateway(mail(f"Problem number {n}", subject=f"Problem {n}", message_id=f"<p{n}@t>"))
    assert await Ticket.all().count() == 3
    latest = await Ticket.get(id=3)
    kept = await TicketEvent.filter(ticket=latest, type=EventType.INTERNAL_NOTE).order_by("id")
    assert [("Problem number 3" in e.text, "Problem number 4" in e.text) for e in kept] == [
        (True, False),
        (False, True),
    ]
    assert "more than 3 new requests in an hour" in kept[0].text


async def test_a_residents_emergency_is_never_held_back(
    gateway: MailGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.operations.classify import Classification

    async def emergency(text: str) -> Classification:
        return Classification(category="emergency")

    for n in range(3):
        await gateway(mail(f"Problem {n}", subject=f"Problem {n}", message_id=f"<p{n}@t>"))
    gateway.categorize = emergency
    outcome = await gateway(mail("Water pours from the ceiling!", message_id="<e@t>"))
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#4"


async def test_many_attachments_are_kept_as_one_archive(gateway: MailGateway) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "tom@tenant.example", HELP, "Photos"
    msg["Message-ID"] = "<photos@t>"
    msg.set_content("Photos of the damage.")
    for n in range(7):
        msg.add_attachment(f"photo {n}".encode(), "image", "jpeg", filename=f"p{n}.jpg")
    await gateway(msg.as_bytes())
    files = await Attachment.filter(ticket_id=1).order_by("id")
    assert [f.original_name for f in files] == [
        "p0.jpg",
        "p1.jpg",
        "p2.jpg",
        "more-attachments.zip",
    ]
    archive = zipfile.ZipFile(io.BytesIO(await gateway.blobs.read(files[-1].sha256)))
    assert archive.namelist() == ["p3.jpg", "p4.jpg", "p5.jpg", "p6.jpg"]
    assert archive.read("p6.jpg") == b"photo 6"


async def test_thirty_thousand_tiny_parts_are_refused_quickly(gateway: MailGateway) -> None:
    parts = "".join(
        f"--B\r\nContent-Type: application/octet-stream\r\n\r\nx{n}\r\n" for n in range(30_000)
    )
    raw = (
        "From: tom@tenant.example\r\nTo: help@oak.example\r\nSubject: many\r\n"
        "Message-ID: <many@t>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: multipart/mixed; boundary=B\r\n\r\n{parts}--B--\r\n"
    ).encode()
    started = time.perf_counter()
    outcome = await gateway(raw)
    assert time.perf_counter() - started < 1.0
    assert isinstance(outcome, Rejected) and outcome.smtp_code == 552
    assert await Ticket.all().count() == 0 and await Attachment.all().count() == 0
    assert await Person.filter(name="many").count() == 0


async def test_a_known_tenants_flat_is_put_on_the_ticket(gateway: MailGateway, app: App) -> None:
    outcome = await gateway(mail("The radiator is cold."))
    assert isinstance(outcome, Accepted)
    ticket = await Ticket.get(id=1).select_related("building", "unit")
    tom_flat = await Unit.filter(residents__name="Tom Tenant").first()
    assert ticket.building is not None and ticket.building.code == "OAK"
    assert ticket.unit is not None and tom_flat is not None and ticket.unit.id == tom_flat.id


async def test_with_two_flats_none_is_chosen_and_the_ticket_says_so(
    gateway: MailGateway, app: App
) -> None:
    tom = await Person.get(name="Tom Tenant")
    second = await Unit.filter(building__code="OAK").order_by("-id").first()
    assert second is not None
    await tom.units.add(second)
    numbers = ", ".join(u.number for u in await tom.units.all().order_by("number"))
    await gateway(mail("The radiator is cold."))
    ticket = await Ticket.get(id=1).select_related("building", "unit")
    assert ticket.building is not None and ticket.unit is None
    detail = await app.tickets.detail(1)
    said = [event_text(e.text, e.data, "ru") for e in detail.events if e.data.get("say")]
    assert f"У жителя несколько квартир в этом доме ({numbers}); квартира не выбрана." in said
