"""Mail that fails the same way again and again is set aside instead of deferred for ever.

:class:`QuarantiningIngest` wraps the gateway for the SMTP server, the spool recovery and the
IMAP poller. A ``Deferred`` outcome is counted for the mail (known by :func:`mail_key`
however often it comes back); a different failure starts the count again. At the
``max_attempts``-th the mail is kept with its raw bytes (``failed_mail``), the managers are
told, and the outcome becomes ``Accepted``: SMTP answers 250, IMAP files the message and
stops reading it. A mail taken in at last leaves no row. When the database itself is away
nothing can be counted, so an outage defers mail exactly as before.

:class:`MailQuarantine` offers the kept mails to ``housedesk quarantine`` as ``mail:<id>``;
``retry`` takes the mail in again at once, through the gateway.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from datetime import datetime

from tortoise.exceptions import IntegrityError

from core.clock import Clock
from core.i18n import N_, gettext
from core.messaging.quarantine import QuarantinedItem
from core.messaging.staff_messages import managers_of, message_staff
from core.storage.fit import clipped
from core.storage.models import FailedMail
from core.storage.rawsql import fetch
from core.storage.rows import from_row
from intake.outcome import Accepted, Deferred, MailIngest, Outcome

log = logging.getLogger(__name__)

KIND = "mail"
QUARANTINE_NOTICE = N_(
    "A mail from {sender} («{subject}») failed {attempts} times and was set aside as {ref}: "
    "{error}\nAn operator can retry it with: housedesk quarantine retry {ref}"
)
_ERROR_CHARS = 300
_INLINE_BYTES = 256 * 1024
_SHOWN_CHARS = 20_000
_BLANK_LINE = re.compile(rb"\n\r?\n")  # a line end and an empty line (no "\r?" first: slow)
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+")
_KEY_NAMES = {b"from", b"subject", b"message-id"}


def mail_key(raw: bytes) -> tuple[str, str, str]:
    """What identifies a mail when it comes again (our trace headers differ each time):
    a digest of its Message-ID and sender, else of its body; with its sender and subject."""
    fields = _key_fields(raw)
    sender = " ".join(fields.get(b"from", "").split())
    subject = " ".join(fields.get(b"subject", "").split())
    message_id = fields.get(b"message-id", "").strip()
    if message_id:
        basis = f"{message_id}\0{sender}".encode("utf-8", "surrogateescape")
    else:
        body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
        basis = f"{sender}\0{subject}\0".encode("utf-8", "surrogateescape") + body
    return hashlib.sha256(basis).hexdigest(), sender, subject


def _key_fields(raw: bytes) -> dict[bytes, str]:
    """The first From, Subject and Message-ID of the header section, as the standard
    library's compat32 header parser reads them (folds kept, 8-bit bytes as U+FFFD), but
    without parsing every field and the body: this runs on the event loop for every mail."""
    lines = raw[: _header_end(raw)].splitlines(keepends=True)
    if lines and lines[0].startswith(b"From "):  # an mbox separator
        lines = lines[1:]
    found: dict[bytes, list[bytes]] = {}
    current: list[bytes] | None = None
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current.append(line)
            continue
        if len(found) == len(_KEY_NAMES):
            break  # all three read, folds included: later fields cannot change them
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME.fullmatch(name):
            break  # where the parser, too, takes the body to begin
        name = name.lower()
        current = None
        if name in _KEY_NAMES and name not in found:
            current = found[name] = [value.lstrip(b" \t")]
    return {
        name: b"".join(parts).rstrip(b"\r\n").decode("ascii", "replace")
        for name, parts in found.items()
    }


def _header_end(raw: bytes) -> int:
    """Where the line end before the first empty line starts (the whole mail: no such line)."""
    blank = _BLANK_LINE.search(raw)
    if blank is None:
        return len(raw)
    end = blank.start()
    return end - 1 if raw[end - 1 : end] == b"\r" else end


class QuarantiningIngest:
    """The gateway, with failures counted and persistent ones set aside."""

    def __init__(self, ingest: MailIngest, clock: Clock, max_attempts: int) -> None:
        self.ingest = ingest
        self.clock = clock
        self.max_attempts = max_attempts

    async def __call__(self, raw: bytes) -> Outcome:
        if len(raw) <= _INLINE_BYTES:  # its headers read in microseconds: no thread trip
            key, sender, subject = mail_key(raw)
        else:
            key, sender, subject = await asyncio.to_thread(mail_key, raw)
        try:
            held = await _held(key)
        except Exception:  # the database is away: the gateway will defer the mail
            held = None
        if held is not None and held.quarantined_at is not None:
            return Accepted(quarantined=f"{KIND}:{held.id}")
        outcome = await self.ingest(raw)
        try:
            if not isinstance(outcome, Deferred):
                if held is not None:
                    await FailedMail.filter(id=held.id).delete()
                return outcome
            return await self._failed(held, key, sender, subject, raw, outcome)
        except Exception:
            log.warning("mail failure not counted: %s", outcome, exc_info=True)
            return outcome

    async def _failed(
        self,
        held: FailedMail | None,
        key: str,
        sender: str,
        subject: str,
        raw: bytes,
        outcome: Deferred,
    ) -> Outcome:
        """Count a failure; at the last one set the mail aside and tell the managers."""
        now = self.clock.now()
        error = outcome.reason[:_ERROR_CHARS]
        if held is None:
            try:
                held = await FailedMail.create(
                    key=key,
                    sender=clipped(FailedMail, "sender", sender),
                    subject=clipped(FailedMail, "subject", subject),
                    content=raw,
                    attempts=0,
                    last_error=error,
                    first_failed_at=now,
                )
            except IntegrityError:  # the same mail failing in another session meanwhile
                return outcome
        held.attempts = held.attempts + 1 if held.last_error == error else 1
        held.last_error, held.content = error, raw
        if held.attempts < self.max_attempts:
            await held.save(update_fields=["attempts", "last_error", "content"])
            return outcome
        held.quarantined_at = now
        await held.save(update_fields=["attempts", "last_error", "content", "quarantined_at"])
        ref = f"{KIND}:{held.id}"
        log.error("mail %s quarantined after %d failures: %s", ref, held.attempts, error)
        await _tell_managers(held, ref, now)
        return Accepted(quarantined=ref)


async def _held(key: str) -> FailedMail | None:
    """The failures counted for the mail of ``key`` (one plain query: every mail asks)."""
    rows = await fetch('SELECT * FROM "failed_mail" WHERE "key" = :key', key=key)
    return from_row(FailedMail, rows[0]) if rows else None


async def _tell_managers(held: FailedMail, ref: str, now: datetime) -> None:
    for manager in await managers_of(None):
        text = gettext(
            manager.language,
            QUARANTINE_NOTICE,
            sender=held.sender or "?",
            subject=held.subject,
            attempts=held.attempts,
            ref=ref,
            error=held.last_error,
        )
        await message_staff(manager, text, key=f"quarantine:{ref}:{now.timestamp():.0f}", now=now)


class MailQuarantine:
    """Quarantined mails (see :class:`core.messaging.quarantine.Quarantine`); ``retry``
    takes one in again through ``ingest`` (the gateway) at once."""

    kind = KIND

    def __init__(self, ingest: MailIngest) -> None:
        self.ingest = ingest

    async def items(self, limit: int) -> list[QuarantinedItem]:
        """The newest quarantined mails first."""
        query = FailedMail.filter(quarantined_at__not_isnull=True).order_by("-id")
        return [_item(row) for row in await (query.limit(limit) if limit else query)]

    async def count(self) -> int:
        """How many mails are quarantined."""
        return await FailedMail.filter(quarantined_at__not_isnull=True).count()

    async def item(self, item_id: int) -> QuarantinedItem | None:
        """One quarantined mail, or None."""
        row = await FailedMail.get_or_none(id=item_id, quarantined_at__not_isnull=True)
        return _item(row) if row else None

    async def retry(self, item_id: int, now: datetime) -> bool:
        """Take the mail in again now: gone from the quarantine once taken in (or refused
        for good); kept, with the new error, when it fails again."""
        row = await FailedMail.get_or_none(id=item_id, quarantined_at__not_isnull=True)
        if row is None:
            return False
        outcome = await self.ingest(bytes(row.content))
        if isinstance(outcome, Deferred):
            await FailedMail.filter(id=row.id).update(
                attempts=row.attempts + 1, last_error=outcome.reason[:_ERROR_CHARS]
            )
        else:
            await FailedMail.filter(id=row.id).delete()
        return True

    async def drop(self, item_id: int) -> bool:
        """Delete the quarantined mail."""
        deleted = await FailedMail.filter(id=item_id, quarantined_at__not_isnull=True).delete()
        return bool(deleted)


def _item(row: FailedMail) -> QuarantinedItem:
    raw = bytes(row.content)
    return QuarantinedItem(
        ref=f"{KIND}:{row.id}",
        source="email",
        summary=f"{row.sender or '?'}: {row.subject}"[:120],
        attempts=row.attempts,
        last_error=row.last_error,
        quarantined_at=row.quarantined_at or row.first_failed_at,
        raw=raw[:_SHOWN_CHARS].decode("utf-8", "replace"),
    )
