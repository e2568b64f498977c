"""The outbox: messages written with the change that caused them, delivered by one worker.

Each row holds one :class:`~core.messaging.message.OutgoingMessage` for one recipient on one
:class:`~core.messaging.routes.Route` (the row's ``channel``). Channels register a sender per
route (see :mod:`core.messaging.delivery`); the worker
claims due rows with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional
update everywhere), hands each to its sender, records the result and retries failures
with exponential backoff and jitter. A row that runs out of attempts, or fails
permanently, is marked failed and leaves a timeline event for staff. A sender that needs
several calls for one message reports how many parts went out; the row keeps that count
(``progress``) so a retry resumes after them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.clock import Clock
from core.messaging.delivery import (
    Delivery,
    DeliveryError,
    DeliveryReceipt,
    PermanentDeliveryError,
    RecipientBlockedError,
    Sender,
    TemporaryDeliveryError,
)
from core.messaging.message import OutgoingMessage
from core.messaging.routes import Route
from core.storage.fit import fitted_key
from core.storage.models import (
    Contact,
    EventType,
    MessageRef,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketEvent,
)
from core.storage.rows import insert

log = logging.getLogger(__name__)


async def enqueue(
    *,
    route: Route,
    recipient: str,
    message: OutgoingMessage,
    key: str,
    now: datetime,
    ticket: Ticket | None = None,
    max_attempts: int = 8,
) -> OutboxMessage:
    """Write one message to send, with a ``key`` that is new (e.g. derived from an event id).

    Call it inside the transaction of the change that causes the message. A key used
    before violates the unique constraint: use :func:`enqueue_once` where repeats happen.
    """
    return await insert(
        OutboxMessage,
        channel=route.value,
        recipient=recipient,
        payload=message.to_payload(),
        idempotency_key=fitted_key(OutboxMessage, "idempotency_key", key),
        next_attempt_at=now,
        max_attempts=max_attempts,
        ticket=ticket,
        created_at=now,
    )


async def enqueue_once(
    *,
    route: Route,
    recipient: str,
    message: OutgoingMessage,
    key: str,
    now: datetime,
    ticket: Ticket | None = None,
    max_attempts: int = 8,
) -> OutboxMessage | None:
    """Like :func:`enqueue`, but a second call with the same ``key`` writes nothing."""
    if await OutboxMessage.exists(
        idempotency_key=fitted_key(OutboxMessage, "idempotency_key", key)
    ):
        return None
    return await enqueue(
        route=route,
        recipient=recipient,
        message=message,
        key=key,
        now=now,
        ticket=ticket,
        max_attempts=max_attempts,
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``base * 2**(n-1)``, capped, times ``[0.5, 1)``."""

    base_seconds: float = 5.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        raw = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return raw * (0.5 + rng.random() / 2)


class OutboxWorker:
    """Claims due outbox rows and delivers them through registered senders."""

    def __init__(
        self,
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        batch_size: int = 20,
        lease_seconds: float = 120.0,
        poll_interval: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.rng = rng or random.Random()
        self.senders: dict[str, Sender] = {}
        self.healthy = True

    def register(self, route: Route, sender: Sender) -> None:
        """Use ``sender`` for every row of ``route``."""
        self.senders[route.value] = sender

    async def claim(self) -> list[OutboxMessage]:
        """Lease up to ``batch_size`` due rows of registered channels to this worker."""
        if not self.senders:
            return []
        now = self.clock.now()
        due = Q(status=OutboxStatus.PENDING, next_attempt_at__lte=now) & (
            Q(locked_until__isnull=True) | Q(locked_until__lt=now)
        )
        claimed: list[OutboxMessage] = []
        async with in_transaction() as conn:
            rows = (
                await OutboxMessage.filter(due, channel__in=list(self.senders))
                .order_by("next_attempt_at", "id")
                .limit(self.batch_size)
                .select_for_update(skip_locked=True)
                .using_db(conn)
            )
            for row in rows:
                taken = (
                    await OutboxMessage.filter(due, id=row.id)
                    .using_db(conn)
                    .update(locked_until=now + self.lease)
                )
                if taken:
                    claimed.append(row)
        return claimed

    async def run_once(self) -> int:
        """Deliver what is due now; return how many rows were handled."""
        rows = await self.claim()
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; the send in flight is finished first."""
        while not stop.is_set():
            try:
                handled = await self.run_once()
                self.healthy = True
            except Exception:  # the database may be away; keep going
                self.healthy = False
                log.exception("outbox: cannot claim rows; retrying")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)

    async def _deliver(self, row: OutboxMessage) -> None:
        sender = self.senders[row.channel]
        attempts = row.attempts + 1
        try:
            delivery = Delivery(
                id=row.id,
                route=row.channel,
                recipient=row.recipient,
                message=OutgoingMessage.from_payload(row.payload),
                attempts=attempts,
                progress=row.progress,
            )
            receipt = await sender(delivery)
        except RecipientBlockedError as exc:
            await self._record_failure(row, attempts, str(exc), blocked=True, sent=exc)
        except PermanentDeliveryError as exc:
            await self._record_failure(row, attempts, str(exc), sent=exc)
        except TemporaryDeliveryError as exc:
            await self._record_retry(row, attempts, str(exc), exc.retry_after, sent=exc)
        except Exception as exc:  # an unknown failure is temporary by rule
            log.exception("outbox: sender for %s raised unexpectedly", row.channel)
            await self._record_retry(row, attempts, f"{type(exc).__name__}: {exc}", None)
        else:
            await self._record_success(row, attempts, receipt)

    async def _record_success(
        self, row: OutboxMessage, attempts: int, receipt: DeliveryReceipt
    ) -> None:
        now = self.clock.now()
        async with in_transaction():
            await OutboxMessage.filter(id=row.id).update(
                status=OutboxStatus.SENT,
                attempts=attempts,
                sent_at=now,
                external_id=receipt.external_id,
                locked_until=None,
                last_error="",
            )
            ticket_id = row.ticket_id  # type: ignore[attr-defined]
            if ticket_id is None:
                return
            await _remember(row, receipt.references, now)
            await insert(
                TicketEvent,
                ticket_id=ticket_id,
                type=EventType.NOTIFICATION_SENT,
                text=f"{row.channel} to {row.recipient}",
                actor_label="outbox",
                data={"outbox_id": row.id, "external_id": receipt.external_id},
                at=now,
            )

    async def _record_retry(
        self,
        row: OutboxMessage,
        attempts: int,
        error: str,
        retry_after: float | None,
        *,
        sent: DeliveryError | None = None,
    ) -> None:
        if attempts >= row.max_attempts:
            await self._record_failure(
                row, attempts, f"gave up after {attempts} attempts: {error}", sent=sent
            )
            return
        delay = self.policy.delay(attempts, self.rng)
        if retry_after is not None:
            delay = max(retry_after, 0.0)
        async with in_transaction():
            await OutboxMessage.filter(id=row.id).update(
                attempts=attempts,
                last_error=error[:2000],
                next_attempt_at=self.clock.now() + timedelta(seconds=delay),
                locked_until=None,
                **_progress(row, sent),
            )
            if sent is not None:
                await _remember(row, sent.references, self.clock.now())
        log.warning(
            "outbox: %s #%s attempt %s failed, retry in %.1fs: %s",
            row.channel,
            row.id,
            attempts,
            delay,
            error,
        )

    async def _record_failure(
        self,
        row: OutboxMessage,
        attempts: int,
        error: str,
        *,
        blocked: bool = False,
        sent: DeliveryError | None = None,
    ) -> None:
        now = self.clock.now()
        async with in_transaction():
            await OutboxMessage.filter(id=row.id).update(
                status=OutboxStatus.FAILED,
                attempts=attempts,
                last_error=error[:2000],
                locked_until=None,
                **_progress(row, sent),
            )
            if sent is not None:
                await _remember(row, sent.references, now)
            if blocked:
                kind = Route(row.channel).contact_kind
                await Contact.filter(kind=kind, value=row.recipient).update(blocked=True)
            ticket_id = row.ticket_id  # type: ignore[attr-defined]
            if ticket_id is not None:
                await insert(
                    TicketEvent,
                    ticket_id=ticket_id,
                    type=EventType.NOTIFICATION_FAILED,
                    text=f"could not deliver {row.channel} message to {row.recipient}: {error}",
                    actor_label="outbox",
                    data={"outbox_id": row.id, "blocked": blocked},
                    at=now,
                )
        log.error("outbox: %s #%s failed for good: %s", row.channel, row.id, error)


def _progress(row: OutboxMessage, sent: DeliveryError | None) -> dict[str, int]:
    """The ``progress`` column's new value, when a failed attempt got some parts out."""
    if sent is None or sent.progress is None or sent.progress == row.progress:
        return {}
    return {"progress": sent.progress}


async def _remember(row: OutboxMessage, references: Sequence[str], now: datetime) -> None:
    """Store the references of sent parts, so a reply quoting one threads to the ticket."""
    ticket_id = row.ticket_id  # type: ignore[attr-defined]
    if ticket_id is None:
        return
    for reference in references:
        await MessageRef.get_or_create(
            channel=row.channel,
            external_id=reference,
            defaults={"ticket_id": ticket_id, "inbound": False, "created_at": now},
        )
