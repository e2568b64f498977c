"""The email story end to end, against real servers on 127.0.0.1.

A tenant's mail reaches the aiosmtpd intake of a running `housedesk` service, becomes a
ticket and an acknowledgement (delivered to a real SMTP sink); a staff reply written with
the CLI arrives threaded; the tenant's answer (authenticated by the MTA's
Authentication-Results) lands on the same ticket; an out-of-office answer becomes an
internal note and sends nothing.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib
import pytest

from core.storage.models import EventType, Ticket, TicketEvent
from housedesk.bootstrap import bootstrap
from housedesk.run import serve
from housedesk.settings.config import Settings
from tests.cli.test_cli import _env, _free_port
from tests.core import factories
from tests.servers.smtp_sink import SmtpSink, smtp_sink

__all__ = ["smtp_sink"]

HELP = "help@oak.example"
MTA = "mx.oak.example"
PASSED = f"{MTA}; dkim=pass header.d=tenant.example; dmarc=pass header.from=tenant.example"


def tenant_mail(subject: str, body: str, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Tom Tenant <tom@tenant.example>"
    msg["To"] = HELP
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain="tenant.example")
    msg["Authentication-Results"] = PASSED  # as the organisation's MTA writes it
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


async def wait_for_mail(sink: SmtpSink, count: int, timeout: float = 15.0) -> Message:
    for _ in range(int(timeout / 0.05)):
        if len(sink.messages) >= count:
            return message_from_bytes(sink.messages[count - 1].data)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the sink received {len(sink.messages)} mail(s), expected {count}")


@pytest.mark.slow
async def test_mail_in_ack_staff_reply_tenant_reply_and_out_of_office(
    db_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    smtp_port = _free_port()
    settings = Settings(
        database={"url": db_url},
        storage={"data_dir": tmp_path / "data"},
        http={"listen": f"127.0.0.1:{_free_port()}"},
        outbox={"poll_interval_s": 0.05},
        email={
            "help_address": HELP,
            "authserv_id": MTA,
            "smtp_listen": f"127.0.0.1:{smtp_port}",
            "outgoing": {"host": "127.0.0.1", "port": smtp_sink.port},
        },
    )
    app = bootstrap(settings)
    ready, stop = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(serve(app, ready=ready, stop=stop))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        await factories.building("OAK")
        await factories.category("technical")

        first = tenant_mail("Leak under the sink", "Water drips from the pipe under my sink.")
        reply = await aiosmtplib.send(first, hostname="127.0.0.1", port=smtp_port)
        assert "as ticket #1" in reply[1]

        ack = await wait_for_mail(smtp_sink, 1)
        assert ack["Subject"] == "[#1] Leak under the sink"
        assert ack["In-Reply-To"] == first["Message-ID"]
        assert ack["Auto-Submitted"] == "auto-replied"
        assert HELP in ack["X-Housedesk-Loop"]

        staff = subprocess.run(
            [
                sys.executable,
                "-m",
                "housedesk.cli",
                "tickets",
                "reply",
                "#1",
                "A plumber comes at 3pm.",
            ],
            cwd=tmp_path,
            env=_env(HOUSEDESK_DATABASE__URL=db_url),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert staff.returncode == 0, staff.stderr
        answer = await wait_for_mail(smtp_sink, 2)
        assert answer["Subject"] == "[#1] Leak under the sink"
        assert answer["In-Reply-To"] == first["Message-ID"]
        assert first["Message-ID"] in answer["References"]
        assert ack["Message-ID"] in answer["References"]
        assert "A plumber comes at 3pm." in answer.get_payload(decode=True).decode()
        assert answer["Auto-Submitted"] is None

        tenant_answer = tenant_mail(
            "Re: [#1] Leak under the sink",
            "Thanks, I will be home.\n\nOn Wed, 25 Nov 2026, Help <help@oak.example> wrote:\n"
            "> A plumber comes at 3pm.\n",
            In_Reply_To=answer["Message-ID"],
            References=f"{first['Message-ID']} {answer['Message-ID']}",
        )
        await aiosmtplib.send(tenant_answer, hostname="127.0.0.1", port=smtp_port)
        assert await Ticket.all().count() == 1
        comments = await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).order_by("id")
        assert [c.text for c in comments] == ["A plumber comes at 3pm.", "Thanks, I will be home."]

        out_of_office = tenant_mail(
            "Automatic reply: [#1] Leak under the sink",
            "I am out of the office until Monday.",
            In_Reply_To=answer["Message-ID"],
            Auto_Submitted="auto-replied",
            X_Auto_Response_Suppress="All",
        )
        result = await aiosmtplib.send(out_of_office, hostname="127.0.0.1", port=smtp_port)
        assert result[1].startswith("2.0.0 Message accepted")
        await asyncio.sleep(0.5)
        assert await Ticket.all().count() == 1
        note = await TicketEvent.get(ticket_id=1, type=EventType.INTERNAL_NOTE)
        assert "I am out of the office until Monday." in note.text and not note.public
        assert len(smtp_sink.messages) == 2
    finally:
        stop.set()
        await asyncio.wait_for(service, 20)
