"""SmtpSender against a real SMTP server: success, 4xx/5xx mapping, refused and silent relays."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path

import pytest

from core.messaging.attachments import SEND_WITHOUT_FROM
from core.messaging.delivery import Delivery, PermanentDeliveryError, TemporaryDeliveryError
from core.messaging.message import FileRef, OutgoingMessage
from core.messaging.routes import Route
from core.storage.blobs.local import LocalBlobStore
from intake.email.parse import parse_message
from intake.email.smtp_sender import SmtpSender, SmtpSettings
from tests.servers.smtp_sink import SmtpSink


def _delivery(**changes: object) -> Delivery:
    message = OutgoingMessage(
        "A plumber will come tomorrow between 9 and 11.",
        subject="Re: [#42] Leaking pipe in flat 12",
        message_id="<out-42-3@housedesk.example>",
        answers="<resident-1@resident.example>",
        thread=("<resident-1@resident.example>",),
    )
    return Delivery(
        id=7,
        route=Route.EMAIL,
        recipient="Anna Berg <anna@resident.example>",
        message=replace(message, **changes),  # type: ignore[arg-type]
        attempts=1,
    )


def _sender(sink: SmtpSink, tmp_path: Path, **changes: object) -> SmtpSender:
    settings = {
        "host": sink.host,
        "port": sink.port,
        "from_address": "Housedesk <help@housedesk.example>",
        "timeout": 5.0,
    }
    settings.update(changes)
    return SmtpSender(SmtpSettings(**settings), LocalBlobStore(tmp_path))  # type: ignore[arg-type]


async def test_sends_the_mail_and_reports_its_message_id(
    smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    receipt = await _sender(smtp_sink, tmp_path)(_delivery())

    assert receipt.external_id == "<out-42-3@housedesk.example>"
    [received] = smtp_sink.messages
    assert received.mail_from == "help@housedesk.example"
    assert received.rcpt_tos == ["anna@resident.example"]
    mail = parse_message(received.data, max_attachment_bytes=1024)
    assert mail.message_id == "<out-42-3@housedesk.example>"
    assert mail.in_reply_to == "<resident-1@resident.example>"
    assert mail.body.startswith("Hello,\n\nA plumber will come tomorrow between 9 and 11.")
    assert mail.body.endswith("Reply to this mail to add to your request (photos are welcome).")


async def test_logs_in_when_credentials_are_configured(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    smtp_sink.credentials = ("desk", "s3cret")

    await _sender(smtp_sink, tmp_path, user="desk", password="s3cret")(_delivery())

    assert len(smtp_sink.messages) == 1


async def test_wrong_password_is_temporary_not_a_lost_mail(
    smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    smtp_sink.credentials = ("desk", "s3cret")

    with pytest.raises(TemporaryDeliveryError, match="535"):
        await _sender(smtp_sink, tmp_path, user="desk", password="wrong")(_delivery())
    assert smtp_sink.messages == []


async def test_unknown_recipient_is_permanent_with_the_server_reply(
    smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    smtp_sink.rcpt_replies["anna@resident.example"] = (
        "550 5.1.1 <anna@resident.example>: no such user"
    )

    with pytest.raises(
        PermanentDeliveryError, match=re.escape("550 5.1.1 <anna@resident.example>: no such user")
    ):
        await _sender(smtp_sink, tmp_path)(_delivery())


async def test_greylisted_recipient_is_temporary(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    smtp_sink.rcpt_replies["anna@resident.example"] = "450 4.2.0 Greylisted, come back later"

    with pytest.raises(TemporaryDeliveryError, match=re.escape("450 4.2.0 Greylisted")):
        await _sender(smtp_sink, tmp_path)(_delivery())


async def test_message_too_large_is_permanent(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    smtp_sink.data_reply = "552 5.3.4 Message size exceeds fixed limit"

    with pytest.raises(
        PermanentDeliveryError, match=re.escape("552 5.3.4 Message size exceeds fixed limit")
    ):
        await _sender(smtp_sink, tmp_path)(_delivery())


async def test_data_deferred_by_the_relay_is_temporary(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    smtp_sink.data_reply = "451 4.3.0 Local problem, try later"

    with pytest.raises(TemporaryDeliveryError, match=re.escape("451 4.3.0")):
        await _sender(smtp_sink, tmp_path)(_delivery())


async def test_connection_refused_is_temporary(tmp_path: Path) -> None:
    sink = SmtpSink(port=1)  # nothing listens on port 1 of 127.0.0.1

    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        await _sender(sink, tmp_path)(_delivery())


async def test_silent_relay_times_out_as_temporary(tmp_path: Path) -> None:
    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TemporaryDeliveryError):
            await _sender(SmtpSink(port=port), tmp_path, timeout=0.3)(_delivery())
    finally:
        server.close()
        await server.wait_closed()


async def test_a_missing_attachment_is_waited_for_then_the_mail_says_it_is_missing(
    smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    photo = FileRef("0" * 64, "photo.jpg", "image/jpeg")
    sender = _sender(smtp_sink, tmp_path)

    with pytest.raises(TemporaryDeliveryError, match=r"photo\.jpg not in the local blob store"):
        await sender(_delivery(files=(photo,)))
    assert smtp_sink.messages == []

    await sender(replace(_delivery(files=(photo,)), attempts=SEND_WITHOUT_FROM))

    [received] = smtp_sink.messages
    mail = parse_message(received.data, max_attachment_bytes=1024)
    assert mail.attachments == ()
    assert (
        "A plumber will come tomorrow between 9 and 11.\n\n"
        "⚠️ The file photo.jpg could not be attached: it is missing from storage.\n\n"
    ) in mail.body


async def test_a_message_without_message_id_is_permanent(
    smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    with pytest.raises(PermanentDeliveryError, match="message_id"):
        await _sender(smtp_sink, tmp_path)(_delivery(message_id=""))
