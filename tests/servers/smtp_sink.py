"""A real SMTP server (aiosmtpd) on 127.0.0.1 that records every message it receives.

Tests can make it answer a given RCPT address or every DATA with a chosen reply
(``sink.rcpt_replies["x@example.com"] = "550 5.1.1 No such user"``,
``sink.data_reply = "451 4.3.0 Try later"``) and require AUTH with given credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class SinkMessage:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    at: float = field(default_factory=time.monotonic)
    """When it arrived (``time.monotonic()``)."""


@dataclass
class SmtpSink:
    """The sink's address, what it received, and how it should answer."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[SinkMessage] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None
    credentials: tuple[str, str] | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply is not None:
            return self.data_reply
        self.messages.append(
            SinkMessage(
                envelope.mail_from or "", list(envelope.rcpt_tos), envelope.original_content or b""
            )
        )
        return "250 2.0.0 Queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        if not isinstance(data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        given = (data.login.decode(), data.password.decode())
        return AuthResult(success=given == self.credentials, handled=False)


@contextlib.asynccontextmanager
async def running_sink() -> AsyncIterator[SmtpSink]:
    """A :class:`SmtpSink` listening on an ephemeral 127.0.0.1 port for the block."""
    sink = SmtpSink()
    loop = asyncio.get_running_loop()
    sessions: list[SMTP] = []

    def new_session() -> SMTP:
        session = SMTP(
            sink,
            hostname="sink.test",
            authenticator=sink.authenticate,
            auth_require_tls=False,
            loop=loop,
        )
        sessions.append(session)
        return session

    server = await loop.create_server(new_session, sink.host, 0)
    sink.port = int(server.sockets[0].getsockname()[1])
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
        for session in sessions:
            if session.transport is not None:
                session.transport.close()
        await asyncio.sleep(0)


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    """A running :class:`SmtpSink` on an ephemeral 127.0.0.1 port."""
    async with running_sink() as sink:
        yield sink
