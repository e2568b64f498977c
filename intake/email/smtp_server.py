"""The inbound SMTP server: receives mail for our domains and hands it to ``MailIngest``.

Runs on the current event loop (``loop.create_server`` with aiosmtpd's ``SMTP`` protocol,
no thread). Per message: the raw bytes, with ``Return-Path`` and ``Received`` trace
headers prepended as the final delivery agent must (RFC 5321 4.4), are written durably to
the spool, then ingested, and the reply follows the outcome:

* ``Accepted`` (including duplicates, and mail set aside after failing too often) ->
  ``250 2.0.0``
* ``Rejected`` -> its own code and enhanced status
* ``Deferred`` or any unexpected error -> ``451 4.3.0`` (aiosmtpd's default would be a
  ``500``, which makes senders bounce the mail for good)

The spool file is removed once ingest has returned, whatever the outcome: after a ``451``
the client keeps the message and retries, so keeping our copy would only duplicate it. It
stays only when the process dies mid-ingest; :func:`recover_spool` processes it at start-up.
Ingest is shielded from the client hanging up: once the data is spooled it is processed.

Also deliberate: lines longer than RFC 5321's 1000 octets are accepted (real mailers send
them and Postfix accepts them too; refusing would bounce a resident's mail), and SMTPUTF8
is enabled for internationalised addresses.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.email.spool import (
    SpoolLock,
    discard_partial_files,
    spooled_files,
    write_spool_file,
)
from intake.outcome import Accepted, Deferred, MailIngest, Outcome, Rejected

log = logging.getLogger(__name__)

_LONG_LINE_LIMIT = 64 * 1024
_MAX_REPLY_TEXT = 200


@dataclass(frozen=True)
class SmtpServerConfig:
    """Where to listen and what to accept."""

    help_address: str
    spool_dir: Path
    accept_domains: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 2525
    max_message_bytes: int = 25 * 1024 * 1024
    hostname: str = field(default_factory=socket.getfqdn)

    def accepts(self, address: str) -> bool:
        """True for ``postmaster`` (any domain) and any address at an accepted domain."""
        local, _, domain = address.lower().rpartition("@")
        if not local:
            return domain == "postmaster"
        if local == "postmaster":
            return True
        help_domain = self.help_address.lower().rpartition("@")[2]
        return domain in {help_domain, *(name.lower() for name in self.accept_domains)}


@dataclass(frozen=True)
class SpoolRecovery:
    """What :func:`recover_spool` did."""

    processed: int
    kept: int
    discarded_partial: int


class _LongLineSMTP(SMTP):
    line_length_limit = _LONG_LINE_LIMIT


class IngestHandler:
    """aiosmtpd handler: RCPT policy, durable spooling, ingest and the reply it earns."""

    def __init__(self, config: SmtpServerConfig, ingest: MailIngest) -> None:
        self._config = config
        self._ingest = ingest
        self._in_flight: set[asyncio.Task[str]] = set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept our domains and postmaster; refuse relaying with 550 5.7.1."""
        if not self._config.accepts(address):
            return "550 5.7.1 Relaying denied: we accept mail for our own domains only"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Spool, ingest and answer according to the outcome."""
        raw = _trace_headers(self._config.hostname, session, envelope) + (
            envelope.original_content or b""
        )
        path = await asyncio.to_thread(write_spool_file, self._config.spool_dir, raw)
        task = asyncio.create_task(self._ingest_spooled(raw, path))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def handle_exception(self, error: Exception) -> str:
        """Any failure outside ingest (spool disk full, a bug) is a temporary one."""
        log.error("SMTP session failed", exc_info=error)
        return "451 4.3.0 Temporary local problem, please try again later"

    async def wait_for_ingests(self) -> None:
        """Wait until every message already spooled has been ingested."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _ingest_spooled(self, raw: bytes, path: Path) -> str:
        outcome = await _safe_ingest(self._ingest, raw)
        await asyncio.to_thread(path.unlink, True)
        return smtp_reply(outcome)


def smtp_reply(outcome: Outcome) -> str:
    """Return the SMTP reply line for an ingest outcome."""
    if isinstance(outcome, Accepted) and outcome.quarantined:
        return f"250 2.0.0 Message accepted and quarantined as {outcome.quarantined}"
    if isinstance(outcome, Accepted):
        detail = f" as ticket {_reply_text(outcome.ticket_ref)}" if outcome.ticket_ref else ""
        return f"250 2.0.0 Message accepted{detail}"
    if isinstance(outcome, Rejected):
        return f"{outcome.smtp_code} {outcome.smtp_enhanced} {_reply_text(outcome.reason)}"
    return f"451 4.3.0 {_reply_text(outcome.reason) or 'Try again later'}"


class SmtpServer:
    """A running SMTP server; ``close()`` stops it after in-flight ingests finish."""

    def __init__(
        self, server: asyncio.Server, handler: IngestHandler, sessions: weakref.WeakSet[SMTP]
    ) -> None:
        self._server = server
        self._handler = handler
        self._sessions = sessions

    @property
    def port(self) -> int:
        """The port actually bound (useful when configured with port 0)."""
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening, let spooled messages finish ingesting, drop open sessions."""
        self._server.close()
        await self._server.wait_closed()
        await self._handler.wait_for_ingests()
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()
        await asyncio.sleep(0)


async def start_smtp_server(config: SmtpServerConfig, ingest: MailIngest) -> SmtpServer:
    """Start listening on the running event loop; call :func:`recover_spool` before this."""
    loop = asyncio.get_running_loop()
    handler = IngestHandler(config, ingest)
    sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()

    def new_session() -> SMTP:
        session = _LongLineSMTP(
            handler,
            data_size_limit=config.max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=config.hostname,
            ident="housedesk ESMTP",
            loop=loop,
        )
        sessions.add(session)
        return session

    server = SmtpServer(
        await loop.create_server(new_session, config.host, config.port), handler, sessions
    )
    log.info("SMTP server listening on %s:%s", config.host, server.port)
    return server


async def recover_spool(spool: SpoolLock, ingest: MailIngest) -> SpoolRecovery:
    """Ingest spool files left by a crash, oldest first; keep only the deferred ones.

    Only a process holding the spool (:func:`~intake.email.spool.lock_spool`) recovers it.
    """
    spool_dir = spool.directory
    discarded = await asyncio.to_thread(discard_partial_files, spool_dir)
    processed = kept = 0
    for path in await asyncio.to_thread(spooled_files, spool_dir):
        raw = await asyncio.to_thread(path.read_bytes)
        outcome = await _safe_ingest(ingest, raw)
        if isinstance(outcome, Deferred):
            kept += 1
            continue
        await asyncio.to_thread(path.unlink, True)
        processed += 1
    if processed or kept or discarded:
        log.info(
            "spool recovery: %d processed, %d kept for later, %d partial files discarded",
            processed,
            kept,
            discarded,
        )
    return SpoolRecovery(processed=processed, kept=kept, discarded_partial=discarded)


async def _safe_ingest(ingest: MailIngest, raw: bytes) -> Outcome:
    """Run ingest; an unexpected exception is a ``Deferred``, never a rejection."""
    try:
        return await ingest(raw)
    except Exception:
        log.exception("mail ingest failed")
        return Deferred("Temporary local problem, please try again later")


def _trace_headers(hostname: str, session: Session, envelope: Envelope) -> bytes:
    peer: Any = session.peer
    peer_ip = peer[0] if isinstance(peer, tuple) else str(peer)
    helo = session.host_name or "unknown"
    protocol = "ESMTP" if session.extended_smtp else "SMTP"
    recipient = f"\r\n\tfor <{envelope.rcpt_tos[0]}>" if len(envelope.rcpt_tos) == 1 else ""
    received = (
        f"Received: from {helo} ([{peer_ip}])\r\n\tby {hostname} (housedesk) with {protocol}"
        f"{recipient};\r\n\t{format_datetime(datetime.now(UTC))}\r\n"
    )
    return_path = f"Return-Path: <{_reverse_path(envelope.mail_from)}>\r\n"
    return (return_path + received).encode("utf-8", "surrogateescape")


def _reverse_path(mail_from: str | None) -> str:
    """The envelope sender without brackets; ``""`` for the null reverse-path.

    aiosmtpd keeps ``MAIL FROM:<>`` as the two characters ``<>``; written as they are, the
    trace header would read ``<<>>`` and the gateway would miss that the mail must never be
    answered (RFC 3834, RFC 5321 4.5.5).
    """
    address = (mail_from or "").strip()
    return "" if address in {"", "<>"} else address


def _reply_text(text: str) -> str:
    """One printable line, bounded, safe to put in an SMTP reply."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned[:_MAX_REPLY_TEXT]
