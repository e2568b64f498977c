"""The inbound SMTP server, as exact SMTP transcripts and with real clients on 127.0.0.1."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiosmtplib
import pytest

from intake.email.smtp_server import (
    SmtpServer,
    SmtpServerConfig,
    recover_spool,
    start_smtp_server,
)
from intake.email.spool import lock_spool, write_spool_file
from intake.outcome import Accepted, Deferred, Outcome, Rejected

MAIL = (
    b"From: Anna Berg <anna@resident.example>\r\n"
    b"To: help@housedesk.example\r\n"
    b"Subject: Leaking pipe\r\n"
    b"Message-ID: <leak-1@resident.example>\r\n"
    b"\r\n"
    b"Water is dripping from the ceiling in flat 12.\r\n"
    b".A line that starts with a dot.\r\n"
)

Ingest = Callable[[bytes], Awaitable[Outcome]]
StartServer = Callable[..., Awaitable[SmtpServer]]


class RecordingIngest:
    """Answers with a fixed outcome (or raises) and remembers what it was given."""

    def __init__(self, outcome: Outcome | Exception, spool_dir: Path | None = None) -> None:
        self.outcome = outcome
        self.received: list[bytes] = []
        self.spooled_during_ingest: list[bytes] = []
        self._spool_dir = spool_dir

    async def __call__(self, raw: bytes) -> Outcome:
        self.received.append(raw)
        if self._spool_dir is not None:
            self.spooled_during_ingest += [p.read_bytes() for p in self._spool_dir.glob("*.eml")]
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.fixture
async def start_server(tmp_path: Path) -> AsyncIterator[StartServer]:
    servers: list[SmtpServer] = []

    async def start(ingest: Ingest, **changes: object) -> SmtpServer:
        settings: dict[str, object] = {
            "help_address": "help@housedesk.example",
            "spool_dir": tmp_path / "spool",
            "accept_domains": ("housedesk.example", "lifts.example"),
            "port": 0,
            "hostname": "mx.housedesk.test",
        }
        settings.update(changes)
        server = await start_smtp_server(SmtpServerConfig(**settings), ingest)  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


class Transcript:
    """Speaks SMTP line by line and returns the server's reply lines verbatim."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> tuple[Transcript, list[str]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        transcript = cls(reader, writer)
        return transcript, await transcript.replies()

    async def replies(self) -> list[str]:
        lines = []
        while True:
            line = (await asyncio.wait_for(self._reader.readline(), 5)).decode().rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    async def send(self, line: str | bytes) -> list[str]:
        data = line if isinstance(line, bytes) else line.encode()
        self._writer.write(data + b"\r\n")
        await self._writer.drain()
        return await self.replies()

    async def send_data(self, body: bytes) -> list[str]:
        await self.write_data(body)
        return await self.replies()

    async def write_data(self, body: bytes) -> None:
        self._writer.write(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def test_full_session_transcript(start_server: StartServer, tmp_path: Path) -> None:
    ingest = RecordingIngest(Accepted(ticket_ref="#42"))
    server = await start_server(ingest)

    smtp, greeting = await Transcript.open(server.port)
    assert greeting == ["220 mx.housedesk.test housedesk ESMTP"]
    assert await smtp.send("EHLO client.resident.example") == [
        "250-mx.housedesk.test",
        "250-SIZE 26214400",
        "250-8BITMIME",
        "250-SMTPUTF8",
        "250 HELP",
    ]
    assert await smtp.send("MAIL FROM:<anna@resident.example>") == ["250 OK"]
    assert await smtp.send("RCPT TO:<someone@elsewhere.example>") == [
        "550 5.7.1 Relaying denied: we accept mail for our own domains only"
    ]
    assert await smtp.send("RCPT TO:<help@housedesk.example>") == ["250 2.1.5 OK"]
    assert await smtp.send("DATA") == ["354 End data with <CR><LF>.<CR><LF>"]
    assert await smtp.send_data(MAIL) == ["250 2.0.0 Message accepted as ticket #42"]
    assert await smtp.send("QUIT") == ["221 Bye"]
    await smtp.close()

    [raw] = ingest.received
    assert raw.startswith(
        b"Return-Path: <anna@resident.example>\r\nReceived: from client.resident.example"
    )
    assert b"for <help@housedesk.example>" in raw
    assert raw.endswith(MAIL)  # byte-exact, dot-unstuffed
    assert list((tmp_path / "spool").iterdir()) == []


async def test_postmaster_is_accepted_for_any_domain(start_server: StartServer) -> None:
    server = await start_server(RecordingIngest(Accepted()))
    smtp, _ = await Transcript.open(server.port)
    await smtp.send("EHLO client")
    await smtp.send("MAIL FROM:<>")

    assert await smtp.send("RCPT TO:<postmaster@elsewhere.example>") == ["250 2.1.5 OK"]
    assert await smtp.send("RCPT TO:<Postmaster>") == ["250 2.1.5 OK"]
    assert await smtp.send("RCPT TO:<lift@lifts.example>") == ["250 2.1.5 OK"]
    await smtp.close()


@pytest.mark.parametrize(
    ("outcome", "reply"),
    [
        (Accepted(note="duplicate"), "250 2.0.0 Message accepted"),
        (Rejected("Sender is blocked"), "550 5.7.1 Sender is blocked"),
        (Rejected("No such ticket", 554, "5.6.0"), "554 5.6.0 No such ticket"),
        (Deferred("Database is busy"), "451 4.3.0 Database is busy"),
        (
            RuntimeError("database exploded"),
            "451 4.3.0 Temporary local problem, please try again later",
        ),
    ],
)
async def test_reply_follows_the_ingest_outcome(
    start_server: StartServer, tmp_path: Path, outcome: Outcome | Exception, reply: str
) -> None:
    server = await start_server(RecordingIngest(outcome))
    smtp, _ = await Transcript.open(server.port)
    await smtp.send("EHLO client")
    await smtp.send("MAIL FROM:<anna@resident.example>")
    await smtp.send("RCPT TO:<help@housedesk.example>")
    await smtp.send("DATA")

    assert await smtp.send_data(MAIL) == [reply]
    await smtp.close()
    assert list((tmp_path / "spool").glob("*")) == []


async def test_mail_is_on_disk_before_it_is_ingested(
    start_server: StartServer, tmp_path: Path
) -> None:
    ingest = RecordingIngest(Accepted(), spool_dir=tmp_path / "spool")
    server = await start_server(ingest)

    await aiosmtplib.send(
        MAIL,
        sender="anna@resident.example",
        recipients=["help@housedesk.example"],
        hostname="127.0.0.1",
        port=server.port,
    )

    assert ingest.spooled_during_ingest == ingest.received
    assert list((tmp_path / "spool").glob("*")) == []


async def test_oversized_mail_is_refused_with_552(start_server: StartServer) -> None:
    ingest = RecordingIngest(Accepted())
    server = await start_server(ingest, max_message_bytes=2000)
    smtp, _ = await Transcript.open(server.port)
    await smtp.send("EHLO client")

    assert await smtp.send("MAIL FROM:<anna@resident.example> SIZE=5000") == [
        "552 Error: message size exceeds fixed maximum message size"
    ]
    await smtp.send("MAIL FROM:<anna@resident.example>")
    await smtp.send("RCPT TO:<help@housedesk.example>")
    await smtp.send("DATA")
    assert await smtp.send_data(MAIL + b"x" * 3000 + b"\r\n") == ["552 Error: Too much mail data"]
    await smtp.close()
    assert ingest.received == []


async def test_spool_failure_is_a_temporary_451(start_server: StartServer, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the spool directory should be")
    ingest = RecordingIngest(Accepted())
    server = await start_server(ingest, spool_dir=blocked)

    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(
            MAIL,
            sender="anna@resident.example",
            recipients=["help@housedesk.example"],
            hostname="127.0.0.1",
            port=server.port,
        )
    assert (refused.value.code, refused.value.message) == (
        451,
        "4.3.0 Temporary local problem, please try again later",
    )
    assert ingest.received == []


async def test_ingest_finishes_even_if_the_client_hangs_up(
    start_server: StartServer, tmp_path: Path
) -> None:
    release = asyncio.Event()
    finished: list[bytes] = []

    async def slow_ingest(raw: bytes) -> Outcome:
        await release.wait()
        finished.append(raw)
        return Accepted()

    server = await start_server(slow_ingest)
    smtp, _ = await Transcript.open(server.port)
    await smtp.send("EHLO client")
    await smtp.send("MAIL FROM:<anna@resident.example>")
    await smtp.send("RCPT TO:<help@housedesk.example>")
    await smtp.send("DATA")
    await smtp.write_data(MAIL)
    while not list((tmp_path / "spool").glob("*.eml")):
        await asyncio.sleep(0.01)
    await smtp.close()  # the client gives up while ingest is still running
    await asyncio.sleep(0.05)
    assert finished == [] and len(list((tmp_path / "spool").glob("*.eml"))) == 1
    release.set()
    await server.close()

    assert len(finished) == 1 and finished[0].endswith(MAIL)
    assert list((tmp_path / "spool").glob("*")) == []


async def test_real_clients_deliver_long_lines_and_8bit_text(start_server: StartServer) -> None:
    ingest = RecordingIngest(Accepted())
    server = await start_server(ingest)
    long_html = b"<p>" + b"x" * 5000 + b"</p>"
    russian = "Протечка в квартире 12, вода с потолка.".encode()
    message = (
        b"From: anna@resident.example\r\nTo: help@housedesk.example\r\nSubject: Leak\r\n"
        b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + russian
        + b"\r\n"
        + long_html
        + b"\r\n"
    )

    await aiosmtplib.send(
        message,
        sender="anna@resident.example",
        recipients=["help@housedesk.example"],
        hostname="127.0.0.1",
        port=server.port,
    )

    def send_with_smtplib() -> None:
        with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
            client.sendmail("anna@resident.example", ["help@housedesk.example"], message)

    await asyncio.to_thread(send_with_smtplib)

    assert len(ingest.received) == 2
    assert all(raw.endswith(message) for raw in ingest.received)


async def test_recover_spool_processes_leftovers_and_keeps_deferred(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    outcomes: dict[bytes, Outcome | Exception] = {
        b"accepted": Accepted(),
        b"rejected": Rejected("spam"),
        b"deferred": Deferred("database down"),
        b"crashing": RuntimeError("bug"),
    }
    for body in outcomes:
        write_spool_file(spool, b"Subject: x\r\n\r\n" + body + b"\r\n")
    (spool / ".tmp-half-written").write_bytes(b"Subject: cut off")
    seen: list[bytes] = []

    async def ingest(raw: bytes) -> Outcome:
        body = raw.split(b"\r\n\r\n", 1)[1].strip()
        seen.append(body)
        outcome = outcomes[body]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    recovery = await recover_spool(lock_spool(spool), ingest)

    assert seen == list(outcomes)  # oldest first
    assert (recovery.processed, recovery.kept, recovery.discarded_partial) == (2, 2, 1)
    left = sorted(
        path.read_bytes().split(b"\r\n\r\n", 1)[1].strip() for path in spool.glob("*.eml")
    )
    assert left == [b"crashing", b"deferred"]
