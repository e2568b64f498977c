"""The mail gateway against the real core: new, follow-up, forged thread, automatic, bounce."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import pytest

from core.actors import CLI
from core.clock import FrozenClock
from core.storage.models import EventType, OutboxMessage, Role, Status, Ticket, TicketEvent
from housedesk.bootstrap import App
from intake.email.authentication import AuthMode, SenderAuthentication
from intake.email.gateway import GatewaySettings, MailGateway
from intake.outcome import Accepted, Deferred, Rejected
from tests.core import factories

HELP = "help@oak.example"


def mail(
    sender: str = "Tom Tenant <tom@tenant.example>",
    subject: str = "Leak under the sink",
    body: str = "Water is dripping from the pipe under my kitchen sink.",
    message_id: str = "<m1@tenant.example>",
    **headers: str,
) -> bytes:
    """A plain mail as a tenant's client sends it."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = HELP
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Wed, 25 Nov 2026 09:00:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


@pytest.fixture
async def gateway(app: App) -> MailGateway:
    await factories.building("OAK")
    await factories.category("technical")
    tom = await factories.person("Tom Tenant", email="tom@tenant.example")
    oak_units = await (await factories.building("ELM")).units.all()
    await tom.units.add(oak_units[0])
    await factories.person("Bob", Role.DISPATCHER, email="bob@oak.example")  # sees every ticket
    # Threading, not sender authentication, is tested here: every From: is believed.
    believe_all = SenderAuthentication(AuthMode.NONE)
    return MailGateway(
        app.tickets,
        app.blobs,
        app.clock,
        GatewaySettings(help_address=HELP, authentication=believe_all),
    )


async def test_new_mail_makes_a_ticket_and_an_acknowledgement(gateway: MailGateway) -> None:
    outcome = await gateway(mail())
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    ticket = await Ticket.get(id=1).select_related("requester", "building")
    assert ticket.title == "Leak under the sink" and ticket.requester.name == "Tom Tenant"
    assert "dripping" in ticket.description and ticket.building.code == "ELM"
    [ack] = await OutboxMessage.filter(ticket=ticket)
    assert ack.recipient == "tom@tenant.example" and ack.payload["answers"] == "<m1@tenant.example>"
    assert ack.payload["subject"] == "[#1] Leak under the sink"


async def test_same_message_twice_makes_one_ticket(gateway: MailGateway) -> None:
    first, second = await gateway(mail()), await gateway(mail())
    assert isinstance(second, Accepted) and "duplicate" in second.note
    assert first.ticket_ref == "#1"  # type: ignore[union-attr]
    assert await Ticket.all().count() == 1 and await OutboxMessage.all().count() == 1


async def test_reply_by_references_lands_on_the_ticket(gateway: MailGateway) -> None:
    await gateway(mail())
    ack = await OutboxMessage.get(ticket_id=1)
    reply = mail(
        subject="Re: [#1] Leak under the sink",
        body="It is getting worse.\n\nOn Wed, 25 Nov 2026 Help wrote:\n> Your request #1 is in",
        message_id="<m2@tenant.example>",
        In_Reply_To=str(ack.payload["message_id"]),
        References=f"<m1@tenant.example> {ack.payload['message_id']}",
    )
    outcome = await gateway(reply)
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    assert await Ticket.all().count() == 1
    [comment] = await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY)
    assert comment.text == "It is getting worse." and comment.actor_label == "Tom Tenant"


async def test_subject_tag_alone_threads_too(gateway: MailGateway) -> None:
    await gateway(mail())
    await gateway(mail(subject="Re: [#1] Leak", body="Photo attached later", message_id="<m3@t>"))
    assert await Ticket.all().count() == 1
    assert await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).count() == 1


async def test_forged_thread_from_a_stranger_starts_a_new_ticket(gateway: MailGateway) -> None:
    await gateway(mail())
    forged = mail(
        sender="mallory@evil.example",
        subject="Re: [#1] Leak under the sink",
        body="Please give me the resident's phone number",
        message_id="<x1@evil.example>",
        In_Reply_To="<m1@tenant.example>",
    )
    outcome = await gateway(forged)
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#2"
    assert await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).count() == 0
    stranger = await Ticket.get(id=2)
    assert not stranger.verified


async def test_staff_reply_by_mail_reaches_the_requester(gateway: MailGateway) -> None:
    await gateway(mail())
    await gateway(
        mail(
            sender="bob@oak.example",
            subject="Re: [#1] Leak",
            body="On my way.",
            message_id="<b1@oak.example>",
        )
    )
    last = await OutboxMessage.filter(ticket_id=1).order_by("-id").first()
    assert last is not None and last.recipient == "tom@tenant.example"
    assert "On my way." in str(last.payload["text"])


async def test_reply_to_a_long_closed_ticket_opens_a_linked_one(
    gateway: MailGateway, app: App, clock: FrozenClock
) -> None:
    await gateway(mail())
    await app.tickets.change_status(1, CLI, Status.DONE)
    await app.tickets.change_status(1, CLI, Status.CLOSED)
    clock.advance(timedelta(days=30))
    outcome = await gateway(
        mail(subject="Re: [#1] Leak", body="It leaks again", message_id="<m9@t>")
    )
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#2"
    assert (await Ticket.get(id=2)).linked_to_id == 1  # type: ignore[attr-defined]
    assert (await Ticket.get(id=1)).status == Status.CLOSED


async def test_recent_done_ticket_is_reopened_by_the_requester(
    gateway: MailGateway, app: App
) -> None:
    await gateway(mail())
    await app.tickets.change_status(1, CLI, Status.DONE)
    await gateway(mail(subject="Re: [#1] Leak", body="Still dripping", message_id="<m4@t>"))
    assert (await Ticket.get(id=1)).status == Status.REOPENED


async def test_out_of_office_creates_nothing_and_sends_nothing(gateway: MailGateway) -> None:
    ooo = mail(
        subject="Automatic reply: Leak",
        body="I am away until Monday.",
        message_id="<ooo@t>",
        Auto_Submitted="auto-replied",
    )
    outcome = await gateway(ooo)
    assert isinstance(outcome, Accepted) and outcome.ticket_ref is None
    assert await Ticket.all().count() == 0 and await OutboxMessage.all().count() == 0


async def test_acknowledgements_are_rate_limited_per_sender(gateway: MailGateway) -> None:
    for n in range(7):
        await gateway(mail(subject=f"Problem {n}", message_id=f"<p{n}@t>"))
    assert await Ticket.all().count() == 7
    assert await OutboxMessage.filter(recipient="tom@tenant.example").count() == 5


async def test_garbage_is_rejected_and_database_failure_deferred(
    gateway: MailGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(await gateway(b""), Rejected)

    async def database_away(*args: object, **kwargs: object) -> None:
        raise ConnectionError("database away")

    monkeypatch.setattr(gateway.tickets, "create", database_away)
    outcome = await gateway(mail(message_id="<z@t>"))
    assert isinstance(outcome, Deferred)
    assert await Ticket.all().count() == 0


async def test_a_missing_category_files_the_mail_in_the_fallback(gateway: MailGateway) -> None:
    gateway.settings = GatewaySettings(help_address=HELP, default_category="nope")
    outcome = await gateway(mail(message_id="<z@t>"))
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    ticket = await Ticket.get(id=1).select_related("category")
    assert ticket.category.code == "technical"
    assert "the category nope does not exist" in ticket.needs_attention
    assert await OutboxMessage.filter(ticket=ticket).count() == 1  # the tenant is answered


async def test_a_400_character_message_id_is_taken_in_once_and_recognised(
    gateway: MailGateway,
) -> None:
    """PostgreSQL refuses a Message-ID longer than its column: the mail is still taken in
    (under a stable digest of its id), acknowledged, and a re-delivery is a duplicate."""
    long_id = f"<{'x' * 380}@tenant.example>"
    assert len(long_id) > 255
    first = await gateway(mail(message_id=long_id))
    assert isinstance(first, Accepted) and first.ticket_ref == "#1"
    [ack] = await OutboxMessage.filter(ticket_id=1)
    assert ack.recipient == "tom@tenant.example"
    again = await gateway(mail(message_id=long_id))
    assert isinstance(again, Accepted) and again.ticket_ref == "#1"
    assert "duplicate" in again.note
    assert await Ticket.all().count() == 1 and await OutboxMessage.all().count() == 1


async def test_a_reply_referring_to_a_long_message_id_lands_on_its_ticket(
    gateway: MailGateway,
) -> None:
    long_id = f"<{'y' * 300}@tenant.example>"
    await gateway(mail(message_id=long_id))
    reply = mail(
        subject="More about the leak",
        body="It is getting worse.",
        message_id="<m2@tenant.example>",
        In_Reply_To="<placeholder@t>",
    )  # EmailMessage would encode a long In-Reply-To; a mail client writes it as it is
    outcome = await gateway(reply.replace(b"<placeholder@t>", long_id.encode()))
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    assert outcome.note == "follow-up"


async def test_a_sender_address_longer_than_any_valid_one_is_refused(
    gateway: MailGateway,
) -> None:
    address = f"{'a' * 200}@{'b' * 100}.example"
    outcome = await gateway(mail(sender=address, message_id="<toolong@t>"))
    assert isinstance(outcome, Rejected) and "too long" in outcome.reason
    assert await Ticket.all().count() == 0


async def test_a_stranger_with_a_long_address_and_name_gets_a_ticket_and_an_answer(
    gateway: MailGateway,
) -> None:
    """Names and labels longer than their columns are shortened with "…"; the address
    (230 characters, a valid length) makes an outbox key longer than its column, kept
    unique by its digest."""
    address = f"{'a' * 60}@{'b' * 60}.{'c' * 60}.{'d' * 40}.example"
    name = "Z" * 300
    outcome = await gateway(mail(sender=f"{name} <{address}>", message_id="<long@t>"))
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    ticket = await Ticket.get(id=1).select_related("requester")
    assert ticket.requester.name == "Z" * 199 + "…"
    created = await TicketEvent.get(ticket_id=1, type=EventType.CREATED)
    assert created.actor_label == address[:199] + "…"
    [ack] = await OutboxMessage.filter(ticket_id=1)
    assert ack.recipient == address and len(ack.idempotency_key) == 200


async def test_a_small_mail_is_parsed_on_the_loop_a_large_one_in_a_worker_thread(
    gateway: MailGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from intake.email import gateway as module

    threads: list[int] = []
    parse = module.parse_message

    def traced(raw: bytes, **kwargs: int) -> module.ParsedMail:
        threads.append(threading.get_ident())
        return parse(raw, **kwargs)

    monkeypatch.setattr(module, "parse_message", traced)
    small = mail(message_id="<small@tenant.example>")
    large = mail(message_id="<large@tenant.example>", body="The sink leaks.\n" * 1000)
    assert len(small) <= module.SMALL_MAIL < len(large)
    for raw in (small, large):
        assert isinstance(await gateway(raw), Accepted)
    loop = threading.get_ident()
    assert threads[0] == loop and threads[1] != loop
    gateway.settings = GatewaySettings(  # the check may wait on DNS: never on the loop
        help_address=HELP, authentication=SenderAuthentication(AuthMode.VERIFY)
    )
    assert isinstance(await gateway(mail(message_id="<dkim@tenant.example>")), Accepted)
    assert threads[2] != loop
    assert await Ticket.all().count() == 3
