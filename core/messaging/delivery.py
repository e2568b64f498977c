"""The contract between the outbox worker and the channel senders.

A channel registers one sender per outbox route with the composition root. The worker
hands it a :class:`Delivery`; the sender either returns a :class:`DeliveryReceipt` or raises
one of the errors below. Any other exception is treated as temporary. Senders never retry
on their own: the worker owns backoff.

A sender may need several calls for one message (a long text in parts, then photos). It
skips the first ``Delivery.progress`` parts, which went out on an earlier attempt, and an
error says how far it got (``progress``) so a retry never sends a part twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.messaging.message import OutgoingMessage


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a sender sees it; ``progress`` parts of it went out before."""

    id: int
    route: str
    recipient: str
    message: OutgoingMessage
    attempts: int
    progress: int = 0
    priority: int = 5
    """The row's priority, lower first (``OutboxMessage.priority``): senders may let bulk wait."""
    replaces: str | None = None
    """The external id of the sent message that ``message.edits`` names (None: not sent)."""


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a successful send reports back.

    ``external_id`` names the sent message (a chat message, a mail's Message-ID);
    ``references`` are the ids, as the channel's inbound side will see them quoted in a reply,
    that the outbox stores as message references of the ticket (empty when reserved before).
    """

    external_id: str | None = None
    references: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


class DeliveryError(Exception):
    """Base of the errors a sender may raise.

    ``progress`` is how many parts of the message are out, counting earlier attempts (None:
    unchanged); ``references`` are the reply references of the parts sent in this attempt.
    """

    def __init__(
        self, message: str, *, progress: int | None = None, references: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.progress = progress
        self.references = tuple(references)


class TemporaryDeliveryError(DeliveryError):
    """Try again later (timeouts, 5xx, 4xx SMTP replies, 429 with ``retry_after`` seconds)."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        *,
        progress: int | None = None,
        references: Sequence[str] = (),
    ) -> None:
        super().__init__(message, progress=progress, references=references)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Never retry (5xx SMTP reply, rejected recipient, message too large, bad request)."""


class RecipientBlockedError(PermanentDeliveryError):
    """The recipient blocked us (a chat bot blocked, 403): mark the contact, stop sending."""


Sender = Callable[[Delivery], Awaitable[DeliveryReceipt]]
"""A channel sender: an async callable taking a :class:`Delivery`."""
