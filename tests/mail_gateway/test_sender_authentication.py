"""Only an authenticated sender speaks as staff or as the requester.

DKIM signatures are real: dkimpy signs with an RSA key this module generates (openssl), and
housedesk verifies them against the DNS answer the test injects (no network). A forged mail
may add an internal note "sender not verified" and nothing else: no mail to the resident,
no public reply, no reopen.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import dkim
import pytest

from core.actors import CLI
from core.storage.models import EventType, OutboxMessage, Role, Status, Ticket, TicketEvent
from housedesk.bootstrap import App
from intake.email.authentication import AuthMode, SenderAuthentication
from intake.email.gateway import GatewaySettings, MailGateway
from intake.outcome import Accepted
from tests.core import factories

HELP = "help@oak.example"
TRUSTED = "mx.oak.example"
SELECTOR = "hd2026"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@dataclass(frozen=True)
class SigningKey:
    """An RSA key for DKIM and the TXT record that publishes it."""

    private_pem: bytes
    txt_record: bytes


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    path: Path = tmp_path_factory.mktemp("dkim") / "key.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(path), "1024"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(path), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return SigningKey(path.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public))


def mail(sender: str, subject: str, body: str, message_id: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = HELP
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Wed, 25 Nov 2026 09:30:00 +0000"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes().replace(b"\n", b"\r\n")


def dkim_signed(raw: bytes, domain: str, key: SigningKey) -> bytes:
    signature = dkim.sign(
        raw,
        SELECTOR.encode(),
        domain.encode(),
        key.private_pem,
        include_headers=[b"from", b"to", b"subject", b"message-id", b"date"],
    )
    return signature + raw


def dns_for(key: SigningKey, *domains: str) -> Callable[[str], bytes | None]:
    records = {f"{SELECTOR}._domainkey.{domain}": key.txt_record for domain in domains}
    return records.get


def staff_reply(body: str = "Please send us the door code.", n: int = 1) -> bytes:
    return mail("Bob <bob@oak.example>", "Re: [#1] Leak", body, f"<b{n}@oak.example>")


def tenant_reply(body: str = "Still dripping.", n: int = 1, **headers: str) -> bytes:
    return mail(
        "Tom Tenant <tom@tenant.example>",
        "Re: [#1] Leak",
        body,
        f"<t{n}@tenant.example>",
        **headers,
    )


async def build(app: App, auth: SenderAuthentication) -> MailGateway:
    gateway = MailGateway(
        app.tickets, app.blobs, app.clock, GatewaySettings(help_address=HELP, authentication=auth)
    )
    await factories.building("OAK")
    await factories.category("technical")
    await factories.person("Tom Tenant", email="tom@tenant.example")
    await factories.person("Bob", Role.DISPATCHER, email="bob@oak.example")  # sees every ticket
    first = mail(
        "Tom Tenant <tom@tenant.example>", "Leak", "The sink leaks.", "<m1@tenant.example>"
    )
    assert (await gateway(first)) == Accepted("#1", note="new ticket")
    return gateway


async def mail_to_tom() -> list[str]:
    rows = await OutboxMessage.filter(recipient="tom@tenant.example").order_by("id")
    return [str(row.payload.get("text", "")) for row in rows]


async def test_forged_staff_reply_reaches_nobody_and_stays_internal(app: App) -> None:
    gateway = await build(app, SenderAuthentication(AuthMode.TRUSTED_MTA, TRUSTED))
    before = await mail_to_tom()

    outcome = await gateway(staff_reply())

    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    assert await mail_to_tom() == before  # only the acknowledgement, no "door code"
    assert not await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).exists()
    [note] = await TicketEvent.filter(ticket_id=1, type=EventType.INTERNAL_NOTE)
    assert not note.public and note.data["sender_not_verified"] is True
    assert note.text.startswith("Sender not verified: a mail from bob@oak.example")
    assert "Please send us the door code." in note.text


async def test_forged_requester_reply_does_not_reopen(app: App) -> None:
    gateway = await build(app, SenderAuthentication(AuthMode.TRUSTED_MTA, TRUSTED))
    await app.tickets.change_status(1, CLI, Status.DONE)
    outbox_before = await OutboxMessage.all().count()

    await gateway(tenant_reply("It is not fixed, let the man in."))

    assert (await Ticket.get(id=1)).status == Status.DONE
    assert await OutboxMessage.all().count() == outbox_before
    assert not await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).exists()
    note = await TicketEvent.get(ticket_id=1, type=EventType.INTERNAL_NOTE)
    assert "It is not fixed, let the man in." in note.text


async def test_dkim_signed_staff_reply_reaches_the_requester(app: App, key: SigningKey) -> None:
    auth = SenderAuthentication(AuthMode.VERIFY, dns_txt=dns_for(key, "oak.example"))
    gateway = await build(app, auth)

    await gateway(dkim_signed(staff_reply("A plumber comes at 3pm."), "oak.example", key))

    assert any("A plumber comes at 3pm." in text for text in await mail_to_tom())
    [reply] = await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY)
    assert reply.text == "A plumber comes at 3pm."


async def test_dkim_signature_of_altered_mail_or_other_domain_is_forged(
    app: App, key: SigningKey
) -> None:
    auth = SenderAuthentication(
        AuthMode.VERIFY, dns_txt=dns_for(key, "oak.example", "evil.example")
    )
    gateway = await build(app, auth)
    before = await mail_to_tom()
    altered = dkim_signed(staff_reply("A plumber comes at 3pm.", n=1), "oak.example", key)
    altered = altered.replace(b"A plumber comes at 3pm.", b"Send us the door code.")
    signed_elsewhere = dkim_signed(staff_reply("Door code please.", n=2), "evil.example", key)

    await gateway(altered)
    await gateway(signed_elsewhere)

    assert await mail_to_tom() == before
    assert await TicketEvent.filter(ticket_id=1, type=EventType.INTERNAL_NOTE).count() == 2
    assert not await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).exists()


async def test_trusted_authentication_results_pass_and_reopen(app: App) -> None:
    gateway = await build(app, SenderAuthentication(AuthMode.TRUSTED_MTA, TRUSTED))
    await app.tickets.change_status(1, CLI, Status.DONE)
    results = f"{TRUSTED}; dkim=pass header.d=tenant.example; dmarc=pass header.from=tenant.example"

    await gateway(tenant_reply("Still dripping.", Authentication_Results=results))

    assert (await Ticket.get(id=1)).status == Status.REOPENED
    [reply] = await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY)
    assert reply.text == "Still dripping."


async def test_authentication_results_of_another_server_are_ignored(app: App) -> None:
    gateway = await build(app, SenderAuthentication(AuthMode.TRUSTED_MTA, TRUSTED))
    await app.tickets.change_status(1, CLI, Status.DONE)
    forged = (
        "mx.evil.example; dkim=pass header.d=tenant.example; dmarc=pass header.from=tenant.example"
    )

    await gateway(tenant_reply("Reopen it.", Authentication_Results=forged))

    assert (await Ticket.get(id=1)).status == Status.DONE
    assert not await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).exists()
    assert await TicketEvent.filter(ticket_id=1, type=EventType.INTERNAL_NOTE).exists()


async def test_new_mail_from_a_known_but_unverified_address_is_flagged(app: App) -> None:
    gateway = await build(app, SenderAuthentication(AuthMode.TRUSTED_MTA, TRUSTED))

    outcome = await gateway(
        mail("Bob <bob@oak.example>", "Give access", "Open flat 3 for me.", "<n1@oak.example>")
    )

    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#2"
    ticket = await Ticket.get(id=2)
    assert ticket.needs_attention.startswith("Sender not verified")
    assert "bob@oak.example" in ticket.needs_attention


async def test_mode_none_believes_every_sender(app: App) -> None:
    gateway = await build(app, SenderAuthentication(AuthMode.NONE))

    await gateway(staff_reply("On my way."))

    assert any("On my way." in text for text in await mail_to_tom())
