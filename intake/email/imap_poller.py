"""Polling an IMAP mailbox and feeding each unseen message to ``MailIngest``.

imap-tools is synchronous, so every IMAP call runs in a worker thread, one at a time.
Per unseen message (fetched with ``BODY.PEEK[]``, so fetching never marks it seen):

* ``Accepted`` -> flagged ``\\Seen``, then moved to the processed folder if one is set;
* ``Rejected`` -> moved to the rejected folder if one is set, else flagged ``\\Seen``;
* ``Deferred`` (or an exception in ingest) -> left unseen for the next round.

Between rounds the poller waits with IDLE when the server advertises it (bounded by the
poll interval, then it polls anyway), else it sleeps the interval. Connection errors lead
to a reconnect with exponential backoff; the loop never dies of an error, and stops cleanly
(logging out) when its task is cancelled.

Flags are set with ``UID STORE`` directly: imap-tools' ``flag()`` runs EXPUNGE afterwards,
which would also purge messages a human marked deleted in a shared mailbox. Without the
MOVE extension a "move" is a copy plus ``\\Seen \\Deleted``, left for the server's own
expunge for the same reason.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.mailbox import BaseMailBox

from intake.outcome import Accepted, Deferred, MailIngest, Outcome, Rejected

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_IDLE_LIMIT = 29 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes


class ImapCommandError(Exception):
    """The IMAP server answered a command with NO or BAD."""


@dataclass(frozen=True)
class ImapConfig:
    """Which mailbox to poll and how to treat handled messages."""

    host: str
    user: str
    password: str
    port: int = 993
    security: Literal["ssl", "starttls", "plain"] = "ssl"
    folder: str = "INBOX"
    poll_interval: float = 60.0
    processed_folder: str | None = None
    rejected_folder: str | None = None
    timeout: float = 30.0
    min_backoff: float = 1.0
    max_backoff: float = 300.0


@dataclass(frozen=True)
class PollResult:
    """How many messages one round handled, by outcome."""

    accepted: int = 0
    rejected: int = 0
    deferred: int = 0


class ImapPoller:
    """Feeds a mailbox's unseen messages to ``ingest``; see the module docstring."""

    def __init__(self, config: ImapConfig, ingest: MailIngest) -> None:
        self._config = config
        self._ingest = ingest
        self._mailbox: BaseMailBox | None = None

    async def run(self) -> None:
        """Poll until cancelled; errors reconnect with backoff instead of ending the loop."""
        delay = self._config.min_backoff
        try:
            while True:
                try:
                    await self.poll_once()
                    await self._wait_for_news()
                    delay = self._config.min_backoff
                except Exception:
                    log.warning("IMAP round failed; retrying in %.1f s", delay, exc_info=True)
                    await self.close()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._config.max_backoff)
        finally:
            await self.close()

    async def poll_once(self) -> PollResult:
        """Connect if needed and handle every unseen message once."""
        mailbox = await self._connected()
        counts = {"accepted": 0, "rejected": 0, "deferred": 0}
        for uid in await self._call(mailbox.uids, "UNSEEN"):
            raw = await self._call(_fetch_raw, mailbox, uid)
            if raw is None:
                continue
            outcome = await self._safe_ingest(raw, uid)
            if isinstance(outcome, Accepted):
                await self._call(self._file_accepted, mailbox, uid)
                counts["accepted"] += 1
            elif isinstance(outcome, Rejected):
                await self._call(self._file_rejected, mailbox, uid)
                counts["rejected"] += 1
            else:
                counts["deferred"] += 1
        return PollResult(**counts)

    async def close(self) -> None:
        """Log out (best effort) and forget the connection."""
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            try:
                await asyncio.to_thread(mailbox.logout)
            except Exception:
                log.debug("IMAP logout failed", exc_info=True)

    async def _connected(self) -> BaseMailBox:
        if self._mailbox is None:
            self._mailbox = await self._call(self._connect)
        return self._mailbox

    def _connect(self) -> BaseMailBox:
        config = self._config
        mailbox: BaseMailBox
        if config.security == "ssl":
            mailbox = MailBox(config.host, config.port, timeout=config.timeout)
        elif config.security == "starttls":
            mailbox = MailBoxStartTls(config.host, config.port, timeout=config.timeout)
        else:
            mailbox = MailBoxUnencrypted(config.host, config.port, timeout=config.timeout)
        try:
            mailbox.login(config.user, config.password, initial_folder=config.folder)
            # imaplib keeps the capabilities announced before login; servers add MOVE,
            # UIDPLUS and more once authenticated.
            status, data = mailbox.client.capability()
            _check(status, data, "CAPABILITY")
            mailbox.client.capabilities = tuple(data[-1].decode("ascii").upper().split())
            for folder in (config.processed_folder, config.rejected_folder):
                if folder and not mailbox.folder.exists(folder):
                    mailbox.folder.create(folder)
        except BaseException:
            mailbox.client.shutdown()
            raise
        return mailbox

    async def _wait_for_news(self) -> None:
        mailbox = await self._connected()
        interval = min(self._config.poll_interval, _IDLE_LIMIT)
        if "IDLE" in mailbox.client.capabilities:
            await self._call(mailbox.idle.wait, interval)
        else:
            await asyncio.sleep(interval)

    async def _safe_ingest(self, raw: bytes, uid: str) -> Outcome:
        try:
            return await self._ingest(raw)
        except Exception:
            log.exception("ingest of IMAP message %s failed", uid)
            return Deferred("ingest failed")

    def _file_accepted(self, mailbox: BaseMailBox, uid: str) -> None:
        _store(mailbox, uid, r"(\Seen)")
        if self._config.processed_folder:
            _move(mailbox, uid, self._config.processed_folder)

    def _file_rejected(self, mailbox: BaseMailBox, uid: str) -> None:
        if self._config.rejected_folder:
            _move(mailbox, uid, self._config.rejected_folder)
        else:
            _store(mailbox, uid, r"(\Seen)")

    async def _call(self, function: Callable[..., _T], *args: object) -> _T:
        """Run one blocking IMAP call in a thread. If the caller is cancelled meanwhile,
        the socket is shut down to wake the thread, which is awaited before re-raising, so
        that no two threads ever use the connection at once."""
        call = asyncio.ensure_future(asyncio.to_thread(function, *args))
        try:
            return await asyncio.shield(call)
        except asyncio.CancelledError:
            self._abort_connection()
            await asyncio.wait([call])
            raise

    def _abort_connection(self) -> None:
        if self._mailbox is not None:
            try:
                self._mailbox.client.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("IMAP socket already closed", exc_info=True)


def _fetch_raw(mailbox: BaseMailBox, uid: str) -> bytes | None:
    """Return the message's exact bytes without setting ``\\Seen``; None if it vanished."""
    status, data = mailbox.client.uid("FETCH", uid, "(BODY.PEEK[])")
    _check(status, data, f"FETCH {uid}")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _store(mailbox: BaseMailBox, uid: str, flags: str) -> None:
    status, data = mailbox.client.uid("STORE", uid, "+FLAGS.SILENT", flags)
    _check(status, data, f"STORE {uid}")


def _move(mailbox: BaseMailBox, uid: str, folder: str) -> None:
    if "MOVE" in mailbox.client.capabilities:
        mailbox.move(uid, folder)
    else:
        mailbox.copy(uid, folder)
        _store(mailbox, uid, r"(\Seen \Deleted)")


def _check(status: str, data: object, command: str) -> None:
    if status != "OK":
        raise ImapCommandError(f"{command} failed: {status} {data!r}")
