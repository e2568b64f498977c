"""A fresh install takes mail in: ``housedesk init``, no directory imported, then a mail
through the SMTP intake makes a ticket and an acknowledgement (issue #16)."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from core.storage.db import sqlite_url
from core.storage.models import Category, Ticket
from housedesk.bootstrap import bootstrap
from housedesk.run import serve
from housedesk.settings.config import Settings
from intake.email.parse import parse_message
from tests.cli.test_cli import _free_port, housedesk
from tests.mail_gateway.test_email_story import wait_for_mail
from tests.servers.smtp_sink import SmtpSink, smtp_sink

__all__ = ["smtp_sink"]

HELP = "help@housedesk.localhost"


@pytest.mark.slow
async def test_init_then_a_mail_makes_a_ticket_and_an_acknowledgement(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    init = housedesk(tmp_path, "init")
    assert init.returncode == 0, init.stderr
    assert "created 4 default categories" in init.stdout
    again = housedesk(tmp_path, "init")
    assert again.returncode == 0 and "default categories" not in again.stdout

    smtp_port = _free_port()
    settings = Settings(
        database={"url": sqlite_url(f"sqlite://{tmp_path / 'data' / 'housedesk.sqlite3'}")},
        storage={"data_dir": tmp_path / "data"},
        http={"listen": f"127.0.0.1:{_free_port()}"},
        outbox={"poll_interval_s": 0.05},
        email={
            "help_address": HELP,
            "smtp_listen": f"127.0.0.1:{smtp_port}",
            "outgoing": {"host": "127.0.0.1", "port": smtp_sink.port},
        },
    )
    app = bootstrap(settings)
    ready, stop = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(serve(app, ready=ready, stop=stop))
    try:
        await asyncio.wait_for(ready.wait(), 60)  # start-up on a loaded machine
        emergency = await Category.get(code="emergency")
        assert emergency.emergency and emergency.names["pl"] == "Awaria"
        assert (
            await Category.filter(code__in=["technical", "billing", "administration"]).count() == 3
        )

        msg = EmailMessage()
        msg["From"] = "Ala Nowak <ala@tenant.example>"
        msg["To"] = HELP
        msg["Subject"] = "Nie działa ogrzewanie"
        msg.set_content("Dzień dobry, w mieszkaniu nie działa ogrzewanie. Proszę o pomoc.")
        reply = await aiosmtplib.send(msg, hostname="127.0.0.1", port=smtp_port)
        assert "as ticket #1" in reply[1]

        ack = parse_message((await wait_for_mail(smtp_sink, 1)).as_bytes(), max_attachment_bytes=1)
        assert ack.subject == "[#1] Nie działa ogrzewanie"
        assert ack.header("Content-Language") == "pl"
        text = ack.body
        assert text.startswith("Dzień dobry,")
        assert "#1" in text and "Co dalej:" in text
        assert "Aby uzupełnić zgłoszenie, odpowiedz na tę wiadomość" in text
        ticket = await Ticket.get(id=1).select_related("category")
        assert ticket.category.code == "technical" and ticket.language == "pl"
    finally:
        stop.set()
        await asyncio.wait_for(service, 60)
