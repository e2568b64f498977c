"""The outbox: messages written with the change that caused them, delivered by lanes.

Each row holds one :class:`~core.messaging.message.OutgoingMessage` for one recipient on one
:class:`~core.messaging.routes.Route` (the row's ``channel``), with a
:class:`~core.messaging.routes.Priority`. Channels register a sender per route (see
:mod:`core.messaging.delivery`). Every route is a lane of its own, served by
``concurrency`` tasks, so a relay that never answers delays only its own lane. A task
claims one due row at a time, in order of priority, due time and age, under a lease
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional update everywhere) that it renews
while the send runs; a send gets ``send_timeout_s`` before it counts as a failed attempt.
A row is claimable only when it is its recipient's first pending row (by priority, then
age) and no other row of that recipient is in flight, so one recipient's messages never
overtake each other, across processes too.

The worker records each result and retries failures with exponential backoff and jitter.
A row that runs out of attempts, or fails permanently, is marked failed and leaves a
timeline event for staff. A sender that needs several calls for one message reports how
many parts went out; the row keeps that count (``progress``) so a retry resumes after them.

Delivery is at least once: a row is sent, then marked sent in a separate transaction; a
process killed in between leaves the row to be sent again once its lease runs out.

Idle lanes wait for :mod:`core.messaging.wakeup` (a row written in this process, or a
PostgreSQL notification from another), with a slow poll as the safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
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
from core.messaging.lane_health import LaneHealth
from core.messaging.message import OutgoingMessage
from core.messaging.routes import Priority, Route
from core.messaging.wakeup import WAKEUPS, announce
from core.storage.fit import fitted_key
from core.storage.models import (
    Contact,
    EventType,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketEvent,
)
from core.storage.rawsql import bind, write_later
from core.storage.rows import insert, insert_later
from core.tickets.timeline import Saying

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
    priority: Priority = Priority.NORMAL,
) -> None:
    """Write one message to send, with a ``key`` that is new (e.g. derived from an event id).

    Call it inside the transaction of the change that causes the message: the lane of
    ``route`` wakes when that transaction commits, and the row is written with the
    transaction's next statement. A key used before violates the unique constraint (and
    fails the transaction): use :func:`enqueue_once` where repeats happen.
    """
    values = _row(route, recipient, message, key, now, ticket, max_attempts, priority)
    await insert_later(OutboxMessage, **values)
    await announce(route.value)


def _row(
    route: Route,
    recipient: str,
    message: OutgoingMessage,
    key: str,
    now: datetime,
    ticket: Ticket | None,
    max_attempts: int,
    priority: Priority,
) -> dict[str, object]:
    return {
        "channel": route.value,
        "recipient": recipient,
        "payload": message.to_payload(),
        "idempotency_key": fitted_key(OutboxMessage, "idempotency_key", key),
        "next_attempt_at": now,
        "max_attempts": max_attempts,
        "priority": int(priority),
        "ticket": ticket,
        "created_at": now,
    }


async def enqueue_once(
    *,
    route: Route,
    recipient: str,
    message: OutgoingMessage,
    key: str,
    now: datetime,
    ticket: Ticket | None = None,
    max_attempts: int = 8,
    priority: Priority = Priority.NORMAL,
) -> OutboxMessage | None:
    """Like :func:`enqueue`, but a second call with the same ``key`` writes nothing."""
    if await OutboxMessage.exists(
        idempotency_key=fitted_key(OutboxMessage, "idempotency_key", key)
    ):
        return None
    values = _row(route, recipient, message, key, now, ticket, max_attempts, priority)
    row = await insert(OutboxMessage, **values)
    await announce(route.value)
    return row


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``base * 2**(n-1)``, capped, times ``[0.5, 1)``."""

    base_seconds: float = 5.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        raw = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return raw * (0.5 + rng.random() / 2)


@dataclass(frozen=True)
class Lane:
    """How one route is served: ``concurrency`` sends at once, each within ``send_timeout_s``,
    at most ``bulk`` of them :attr:`Priority.BULK` rows (the other tasks stay free for rows
    a person waits for: a bulk send waiting for the rate budget must not hold them up)."""

    concurrency: int = 2
    send_timeout_s: float = 60.0
    bulk: int = 1


DEFAULT_LANES: Mapping[str, Lane] = {
    Route.RESIDENT_CHAT.value: Lane(concurrency=4, send_timeout_s=60.0, bulk=2),
    Route.STAFF_CHAT.value: Lane(concurrency=4, send_timeout_s=60.0, bulk=2),
    Route.EMAIL.value: Lane(concurrency=2, send_timeout_s=120.0, bulk=1),
}
"""Chat lanes send more at once (the bot's rate limiter paces them); mail is slower."""

_HEADS = (
    'SELECT "o"."id" FROM "outbox" "o"'
    ' WHERE "o"."status" = \'pending\' AND "o"."channel" = :route'
    ' AND "o"."priority" < :below AND "o"."next_attempt_at" <= :now'
    ' AND ("o"."locked_until" IS NULL OR "o"."locked_until" < :now)'
    ' AND NOT EXISTS (SELECT 1 FROM "outbox" "e"'
    ' WHERE "e"."channel" = "o"."channel" AND "e"."recipient" = "o"."recipient"'
    ' AND "e"."status" = \'pending\' AND "e"."id" <> "o"."id"'
    ' AND ("e"."locked_until" >= :now OR "e"."priority" < "o"."priority"'
    ' OR ("e"."priority" = "o"."priority" AND "e"."id" < "o"."id")))'
    ' ORDER BY "o"."priority", "o"."next_attempt_at", "o"."id" LIMIT :limit'
)
"""Due rows below priority ``below`` that are their recipient's first pending row, with none
of theirs in flight."""

_CLAIM = (
    'UPDATE "outbox" SET "locked_until" = :until WHERE "id" IN ('
    + _HEADS.replace("{", "{{").replace("}", "}}")
    + "{lock}) RETURNING *"
)
"""Lease the heads (PostgreSQL: ``{lock}`` skips rows another process is claiming)."""


class OutboxWorker:
    """Serves one lane per registered route, each claiming and delivering its own rows."""

    def __init__(
        self,
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        batch_size: int = 20,
        lease_seconds: float = 30.0,
        poll_interval: float = 5.0,
        lanes: Mapping[str, Lane] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_interval = poll_interval
        self.lanes = {**DEFAULT_LANES, **(lanes or {})}
        self.rng = rng or random.Random()
        self.senders: dict[str, Sender] = {}
        self.healthy = True
        self.health = LaneHealth()
        """Whether each lane's channel answers (``/healthz``)."""
        self._wake: dict[str, asyncio.Event] = {}
        self._bulk: dict[str, int] = {}
        """Bulk rows in hand per lane, counted from before their claim."""

    def register(self, route: Route | str, sender: Sender) -> None:
        """Use ``sender`` for every row of ``route``."""
        self.senders[str(route)] = sender

    def lane(self, route: str) -> Lane:
        """The lane settings of ``route``."""
        return self.lanes.get(route, Lane())

    async def claim(self, route: str, limit: int = 1, *, bulk: bool = True) -> list[OutboxMessage]:
        """Lease up to ``limit`` claimable rows of ``route`` to this worker (no
        :attr:`Priority.BULK` rows unless ``bulk``), in claim order.

        One statement, so one round trip (on SQLite, one hop to the connection's thread,
        where a claim used to take four): the rows are chosen and leased at once."""
        now = self.clock.now()
        db = connections.get("default")
        dialect = db.capabilities.dialect
        sql, values = bind(
            _CLAIM.format(lock=' FOR UPDATE OF "o" SKIP LOCKED' if dialect == "postgres" else ""),
            {
                "route": route,
                "now": now,
                "until": now + self.lease,
                "limit": limit,
                "below": _below(bulk),
            },
            dialect,
        )
        rows = [
            OutboxMessage._init_from_db(**row) for row in await db.execute_query_dict(sql, values)
        ]
        return sorted(rows, key=lambda r: (r.priority, r.next_attempt_at, r.id))

    async def run_once(self) -> int:
        """Deliver what is due now, lane by lane, one row at a time (at most ``batch_size``
        per lane); return how many rows were handled."""
        handled = 0
        for route in list(self.senders):
            for _ in range(self.batch_size):
                rows = await self.claim(route)
                if not rows:
                    break
                await self._deliver(rows[0])
                handled += 1
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        """Serve every registered lane until ``stop`` is set; sends in flight finish first."""
        tasks = [
            asyncio.create_task(self._serve(route, stop), name=f"outbox:{route}:{n}")
            for route in self.senders
            for n in range(self.lane(route).concurrency)
        ]
        await stop.wait()
        for event in self._wake.values():
            event.set()
        await asyncio.gather(*tasks)

    async def _serve(self, route: str, stop: asyncio.Event) -> None:
        """One task of a lane: claim a row, deliver it, repeat; wait for a wake-up when idle."""
        wake = self._wake.setdefault(route, asyncio.Event())
        WAKEUPS.subscribe(route, wake)
        try:
            while not stop.is_set():
                wake.clear()  # a row written from now on sets it again
                bulk = self._bulk.get(route, 0) < self.lane(route).bulk
                if bulk:  # reserved before the claim, so siblings never take more
                    self._bulk[route] = self._bulk.get(route, 0) + 1
                try:
                    rows = await self.claim(route, bulk=bulk)
                    self.healthy = True
                except Exception:  # the database may be away; keep going
                    self.healthy = False
                    log.exception("outbox: cannot claim %s rows; retrying", route)
                    rows = []
                if bulk and not (rows and rows[0].priority >= Priority.BULK):
                    self._bulk[route] -= 1
                    bulk = False
                if rows:
                    wake.set()  # there may be more: let an idle sibling look too
                    try:
                        await self._deliver(rows[0])
                    except Exception:  # the result could not be recorded: the database
                        # went away mid-way; the row's lease runs out and it is sent again
                        self.healthy = False
                        log.exception("outbox: cannot record a %s delivery; retrying", route)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), timeout=self.poll_interval)
                    finally:
                        if bulk:
                            self._bulk[route] -= 1
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), timeout=self.poll_interval)
        finally:
            WAKEUPS.unsubscribe(route, wake)

    async def _send(self, sender: Sender, delivery: Delivery) -> DeliveryReceipt:
        """Run the send within the lane's timeout, renewing the row's lease meanwhile."""
        timeout = self.lane(delivery.route).send_timeout_s
        renewal = asyncio.create_task(self._renew(delivery.id))
        try:
            return await asyncio.wait_for(sender(delivery), timeout)
        except TimeoutError:
            raise TemporaryDeliveryError(f"no answer within {timeout:g} s") from None
        finally:
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal

    async def _renew(self, row_id: int) -> None:
        """Extend the lease of row ``row_id`` every third of a lease while it is sent."""
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            try:
                kept = await OutboxMessage.filter(id=row_id, status=OutboxStatus.PENDING).update(
                    locked_until=self.clock.now() + self.lease
                )
            except Exception as exc:  # the send goes on; the lease may lapse
                log.warning("outbox: cannot renew the lease of #%s: %s", row_id, exc)
                continue
            if not kept:
                return

    async def _deliver(self, row: OutboxMessage) -> None:
        sender = self.senders[row.channel]
        attempts = row.attempts + 1
        try:
            message = OutgoingMessage.from_payload(row.payload)
            delivery = Delivery(
                id=row.id,
                route=row.channel,
                recipient=row.recipient,
                message=message,
                attempts=attempts,
                progress=row.progress,
                priority=row.priority,
                replaces=await _replaced(message),
            )
            receipt = await self._send(sender, delivery)
        except RecipientBlockedError as exc:
            self.health.answered(row.channel)
            await self._record_failure(row, attempts, str(exc), blocked=True, sent=exc)
        except PermanentDeliveryError as exc:
            self.health.answered(row.channel)
            await self._record_failure(row, attempts, str(exc), sent=exc)
        except TemporaryDeliveryError as exc:
            if exc.retry_after is None:  # a rate limit's "later" is an answer
                self.health.failing(row.channel, str(exc), self.clock.now())
            await self._record_retry(row, attempts, str(exc), exc.retry_after, sent=exc)
        except Exception as exc:  # an unknown failure is temporary by rule
            log.exception("outbox: sender for %s raised unexpectedly", row.channel)
            error = f"{type(exc).__name__}: {exc}"
            self.health.failing(row.channel, error, self.clock.now())
            await self._record_retry(row, attempts, error, None)
        else:
            self.health.answered(row.channel)
            await self._record_success(row, attempts, receipt)

    async def _record_success(
        self, row: OutboxMessage, attempts: int, receipt: DeliveryReceipt
    ) -> None:
        """Mark the row sent, with its references and the ticket's event: every statement
        held back to the commit (on SQLite, one hop to the connection's thread)."""
        now = self.clock.now()
        async with in_transaction():
            await write_later(
                _SENT,
                id=row.id,
                sent=OutboxStatus.SENT.value,
                attempts=attempts,
                now=now,
                external_id=receipt.external_id,
            )
            ticket_id = row.ticket_id  # type: ignore[attr-defined]
            if ticket_id is None:
                return
            await _remember(row, receipt.references, now)
            says = Saying("sent_via", {"route": Saying(row.channel), "recipient": row.recipient})
            await insert_later(
                TicketEvent,
                ticket_id=ticket_id,
                type=EventType.NOTIFICATION_SENT,
                text=str(says),
                actor_label="outbox",
                data={"outbox_id": row.id, "external_id": receipt.external_id, **says.as_data()},
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
        if delay < self.poll_interval:  # look again when it is due, not at the next poll
            asyncio.get_running_loop().call_later(delay, WAKEUPS.wake, row.channel)
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
                says = Saying(
                    "not_delivered",
                    {"route": Saying(row.channel), "recipient": row.recipient, "error": error},
                )
                await insert(
                    TicketEvent,
                    ticket_id=ticket_id,
                    type=EventType.NOTIFICATION_FAILED,
                    text=str(says),
                    actor_label="outbox",
                    data={"outbox_id": row.id, "blocked": blocked, **says.as_data()},
                    at=now,
                )
        log.error("outbox: %s #%s failed for good: %s", row.channel, row.id, error)


_SENT = (
    'UPDATE "outbox" SET "status" = :sent, "attempts" = :attempts, "sent_at" = :now,'
    ' "external_id" = :external_id, "locked_until" = NULL, "last_error" = \'\''
    ' WHERE "id" = :id'
)
_REMEMBER = (
    'INSERT INTO "message_ref" ("channel", "external_id", "inbound", "ticket_id", "created_at")'
    " VALUES (:channel, :external_id, FALSE, :ticket, :now)"
    ' ON CONFLICT ("channel", "external_id") DO NOTHING'
)

_ANY_PRIORITY = 32767
"""Above every row's priority (the column is a small integer)."""


def _below(bulk: bool) -> int:
    """The priority a claim takes rows below: every row, or every row but bulk ones."""
    return _ANY_PRIORITY if bulk else Priority.BULK


async def _replaced(message: OutgoingMessage) -> str | None:
    """The external id of the sent message an edit replaces (None: no edit, or never sent)."""
    if message.edits is None:
        return None
    found = await OutboxMessage.filter(id=message.edits, status=OutboxStatus.SENT).values_list(
        "external_id", flat=True
    )
    return str(found[0]) if found and found[0] else None


def _progress(row: OutboxMessage, sent: DeliveryError | None) -> dict[str, int]:
    """The ``progress`` column's new value, when a failed attempt got some parts out."""
    if sent is None or sent.progress is None or sent.progress == row.progress:
        return {}
    return {"progress": sent.progress}


async def _remember(row: OutboxMessage, references: Sequence[str], now: datetime) -> None:
    """Store the references of sent parts, so a reply quoting one threads to the ticket
    (one already stored stays as it is)."""
    ticket_id = row.ticket_id  # type: ignore[attr-defined]
    if ticket_id is None:
        return
    for reference in references:
        await write_later(
            _REMEMBER, channel=row.channel, external_id=reference, ticket=ticket_id, now=now
        )
