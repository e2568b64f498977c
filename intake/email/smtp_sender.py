"""The email channel's outbox sender: one SMTP transaction per delivery via aiosmtplib.

Error mapping (the outbox worker owns retries):

* 4xx replies, connection failures, disconnects and timeouts -> ``TemporaryDeliveryError``.
* 5xx for the recipient, the sender or the data (550 unknown user, 552 too large, 554
  refused) -> ``PermanentDeliveryError`` carrying the server's reply.
* Session-level refusals are *temporary* although they may be 5xx (535 authentication
  failed, 554 greeting, EHLO refused): they are about our configuration or the relay, not
  the message, and failing every queued mail for good until an operator fixes a password
  would lose them.
* A message that cannot be turned into a mail -> permanent.
* An attachment missing from the blob store -> temporary for the first attempts, then the
  mail goes without it and says so (:mod:`core.messaging.attachments`).

The receipt names the mail by its Message-ID and adds no references: the id was reserved
and stored as the ticket's reference when the message was written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.utils import parseaddr

import aiosmtplib

from core.messaging.attachments import with_files_at_hand
from core.messaging.delivery import (
    Delivery,
    DeliveryReceipt,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from core.storage.blobs import BlobMissing, BlobStore
from intake.email.compose import compose_message
from intake.email.wording import RatingLinks, emergency_of


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to relay outgoing mail."""

    host: str
    port: int
    from_address: str
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    timeout: float = 30.0
    links: RatingLinks | None = None
    """Signed rating links under "done" mails (None: tenants rate by replying)."""


class SmtpSender:
    """Sends an outbox delivery as one mail; the receipt's external id is its Message-ID."""

    def __init__(self, settings: SmtpSettings, blobs: BlobStore) -> None:
        if settings.ssl and settings.starttls:
            raise ValueError("choose ssl (implicit TLS) or starttls, not both")
        self._settings = settings
        self._blobs = blobs

    async def __call__(self, delivery: Delivery) -> DeliveryReceipt:
        """Send ``delivery``; raise a temporary or permanent delivery error on failure."""
        emergency = (
            await emergency_of(delivery.id, delivery.message.language)
            if delivery.message.automatic
            else None
        )
        outgoing = await with_files_at_hand(delivery, self._blobs)
        try:
            files = {ref.sha256: await self._blobs.read(ref.sha256) for ref in outgoing.files}
        except BlobMissing as error:  # removed since it was looked for
            raise TemporaryDeliveryError(str(error)) from error
        try:  # off the event loop: encoding the attachments takes a while
            message = await asyncio.to_thread(
                compose_message,
                outgoing,
                to=delivery.recipient,
                from_address=self._settings.from_address,
                files=files,
                links=self._settings.links,
                emergency=emergency,
            )
        except (KeyError, ValueError) as error:
            raise PermanentDeliveryError(f"cannot build the mail: {error}") from error
        recipient = parseaddr(str(message["To"]))[1]
        envelope_sender = parseaddr(self._settings.from_address)[1]
        settings = self._settings
        try:
            _, reply = await aiosmtplib.send(
                await asyncio.to_thread(message.as_bytes),
                sender=envelope_sender,
                recipients=[recipient],
                hostname=settings.host,
                port=settings.port,
                username=settings.user,
                password=settings.password,
                use_tls=settings.ssl,
                start_tls=settings.starttls,
                timeout=settings.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = error.recipients[0]
            raise _reply_error(refused.code, refused.message, "recipient refused") from error
        except (
            aiosmtplib.SMTPAuthenticationError,
            aiosmtplib.SMTPConnectResponseError,
            aiosmtplib.SMTPHeloError,
        ) as error:
            raise TemporaryDeliveryError(
                f"SMTP relay refused the session: {error.code} {error.message}"
            ) from error
        except aiosmtplib.SMTPResponseException as error:
            raise _reply_error(error.code, error.message, "relay refused the mail") from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise TemporaryDeliveryError(f"SMTP relay unreachable: {error}") from error
        return DeliveryReceipt(
            external_id=str(message["Message-ID"]), details={"smtp_reply": reply}
        )


def _reply_error(
    code: int, text: str, what: str
) -> TemporaryDeliveryError | PermanentDeliveryError:
    description = f"{what}: {code} {text}"
    if 500 <= code < 600:
        return PermanentDeliveryError(description)
    return TemporaryDeliveryError(description)
