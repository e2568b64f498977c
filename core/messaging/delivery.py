"""The contract between the outbox worker and the channel senders.

A channel (Telegram, email) registers one sender per outbox channel name with the
composition root. The worker hands it a :class:`Delivery`; the sender either returns a
:class:`DeliveryReceipt` or raises one of the errors below. Any other exception is treated
as temporary. Senders never retry on their own: the worker owns backoff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a sender sees it."""

    id: int
    channel: str
    recipient: str
    payload: dict[str, Any]
    attempts: int
    ticket_ref: str | None = None
    idempotency_key: str = ""


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a successful send reports back (Telegram message id, email Message-ID)."""

    external_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """Base of the errors a sender may raise."""


class TemporaryDeliveryError(DeliveryError):
    """Try again later (timeouts, 5xx, 4xx SMTP replies, 429 with ``retry_after`` seconds)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Never retry (5xx SMTP reply, rejected recipient, message too large, bad request)."""


class RecipientBlockedError(PermanentDeliveryError):
    """The recipient blocked us (Telegram 403): mark the contact, stop sending to it."""


Sender = Callable[[Delivery], Awaitable[DeliveryReceipt]]
"""A channel sender: an async callable taking a :class:`Delivery`."""
