"""A mail that fails the same way every time it comes is set aside after N attempts instead
of answered 451 for ever, and an operator's retry after the fix makes it one ticket."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from core.operations.classify import Classification
from core.storage.models import FailedMail, OutboxMessage, Role, Ticket
from housedesk.bootstrap import App
from housedesk.cli.main import build_parser
from intake.email.quarantine import QuarantiningIngest
from intake.email.smtp_server import SmtpServer, SmtpServerConfig, start_smtp_server
from tests.core import factories

ATTEMPTS = 3


def _poison() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Anna <anna@resident.example>"
    msg["To"] = "help@oak.example"
    msg["Subject"] = "Broken lift"
    msg["Message-ID"] = "<poison-1@resident.example>"
    msg.set_content("The lift is stuck between floors.")
    return msg


class Classifier:
    """A classification step with a bug for one mail, until it is fixed."""

    def __init__(self) -> None:
        self.fixed = False
        self.calls = 0

    async def __call__(self, text: str) -> Classification:
        self.calls += 1
        if not self.fixed:
            raise RuntimeError("classifier crashed on this mail")
        return Classification(None)


@pytest.fixture
async def smtp(app: App, tmp_path: Path) -> AsyncIterator[SmtpServer]:
    await factories.building("OAK")
    await factories.category("technical")
    await factories.person("Mona Manager", Role.MANAGER, telegram="7001")
    ingest = QuarantiningIngest(app.mail_gateway, app.clock, ATTEMPTS)
    server = await start_smtp_server(
        SmtpServerConfig(help_address="help@oak.example", spool_dir=tmp_path / "spool", port=0),
        ingest,
    )
    yield server
    await server.close()


async def _send(server: SmtpServer) -> str:
    """The server's answer to the end of the mail's data, as one line."""
    try:
        _, reply = await aiosmtplib.send(_poison(), hostname="127.0.0.1", port=server.port)
    except aiosmtplib.SMTPResponseException as exc:
        return f"{exc.code} {exc.message}"
    return f"250 {reply}"


async def _housedesk(app: App, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    args: argparse.Namespace = build_parser().parse_args(list(argv))
    assert await args.func(app, args) == 0
    return capsys.readouterr().out


async def test_a_poison_mail_is_set_aside_and_a_retry_after_the_fix_files_it_once(
    app: App, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    classifier = Classifier()
    app.mail_gateway.categorize = classifier

    answers = [await _send(smtp) for _ in range(ATTEMPTS)]
    assert [a[:3] for a in answers[:-1]] == ["451"] * (ATTEMPTS - 1)
    assert answers[-1] == "250 2.0.0 Message accepted and quarantined as mail:1"
    assert await _send(smtp) == "250 2.0.0 Message accepted and quarantined as mail:1"
    assert classifier.calls == ATTEMPTS  # once set aside, it is not taken in again
    assert await Ticket.all().count() == 0
    [notice] = await OutboxMessage.filter(recipient="7001")
    assert "set aside as mail:1: temporary failure: RuntimeError" in notice.payload["text"]

    listed = json.loads(await _housedesk(app, capsys, "quarantine", "list", "--json"))
    assert [(i["ref"], i["attempts"], i["summary"]) for i in listed] == [
        ("mail:1", ATTEMPTS, "Anna <anna@resident.example>: Broken lift")
    ]
    shown = await _housedesk(app, capsys, "quarantine", "show", "mail:1")
    assert "The lift is stuck between floors." in shown

    classifier.fixed = True
    retried = await _housedesk(app, capsys, "quarantine", "retry", "mail:1")
    assert retried == "mail:1 is out of the quarantine and handled again\n"
    [ticket] = await Ticket.all()
    assert ticket.title == "Broken lift"
    assert await FailedMail.all().count() == 0
    assert await _send(smtp) == f"250 2.0.0 Message accepted as ticket {ticket.ref}"
    assert await Ticket.all().count() == 1


async def test_a_different_failure_starts_the_count_again(app: App, smtp: SmtpServer) -> None:
    classifier = Classifier()
    app.mail_gateway.categorize = classifier
    for _ in range(ATTEMPTS - 1):
        assert (await _send(smtp))[:3] == "451"

    async def other_bug(text: str) -> Classification:
        raise KeyError(text)

    app.mail_gateway.categorize = other_bug
    assert (await _send(smtp))[:3] == "451"
    [row] = await FailedMail.all()
    assert (row.attempts, row.quarantined_at) == (1, None)
