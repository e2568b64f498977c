"""The inbox of chat updates: stored durably before they are confirmed, handled from here.

A bot's feed stores each batch of updates (:func:`store`) before it confirms them to the
chat service, so an update that arrives while the database is away is not confirmed and is
delivered again; an update stored twice (a redelivery, or one sent to two processes) is one
row. Stored updates are claimed by one process at a time (:func:`claim`, a lease renewed
while they are handled): a chat's updates go to whichever process has none of that chat's
in hand, so any process may handle any update and one chat's updates stay in order. One
whose handling
fails while the database answers is tried again with backoff (:meth:`InboxPolicy.delay`),
and after ``max_attempts`` such failures it is quarantined: set aside, the managers told,
and left for ``housedesk quarantine``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from core.i18n import N_, gettext
from core.messaging.quarantine import QuarantinedItem
from core.messaging.staff_messages import managers_of, message_staff
from core.storage.models import InboundUpdate
from core.storage.rawsql import bind

log = logging.getLogger(__name__)

QUARANTINE_NOTICE = N_(
    "A message from {who} to the {bot} bot failed {attempts} times and was set aside as "
    "{ref}: {error}\nAn operator can retry it with: housedesk quarantine retry {ref}"
)
_ERROR_CHARS = 300


@dataclass(frozen=True)
class InboxPolicy:
    """How often and how soon a failed update is tried again."""

    max_attempts: int = 5
    base_delay_s: float = 2.0
    max_delay_s: float = 300.0
    lease_s: float = 30.0
    """A claim lasts this long, renewed while handled: how long a dead process's claimed
    updates wait before another process takes them."""

    @property
    def lease(self) -> timedelta:
        """:attr:`lease_s` as a duration."""
        return timedelta(seconds=self.lease_s)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure: doubling, capped."""
        return timedelta(seconds=min(self.base_delay_s * 2 ** (attempts - 1), self.max_delay_s))


async def store(bot: str, updates: Sequence[tuple[int, dict[str, object]]], now: datetime) -> None:
    """Store ``(update_id, payload)`` pairs in one statement; ones stored before are kept.

    Raises whatever the database raises: then nothing is stored and nothing may be confirmed.
    """
    rows = [
        InboundUpdate(
            bot=bot,
            update_id=update_id,
            payload=payload,
            chat=chat_of(payload),
            received_at=now,
            next_attempt_at=now,
        )
        for update_id, payload in updates
    ]
    await InboundUpdate.bulk_create(rows, ignore_conflicts=True)


def chat_of(payload: dict[str, object]) -> str:
    """Whose conversation an update belongs to: its chat, else its sender ("" if neither)."""
    event = _event(payload)
    message = event.get("message")
    for holder in (event, message):
        if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
            return str(holder["chat"].get("id", ""))
    sender = event.get("from")
    return str(sender.get("id", "")) if isinstance(sender, dict) else ""


_CLAIMABLE = (
    'SELECT "u"."id" FROM "inbound_update" "u"'
    ' WHERE "u"."bot" = :bot AND "u"."handled_at" IS NULL AND "u"."quarantined_at" IS NULL'
    ' AND "u"."next_attempt_at" <= :now'
    ' AND ("u"."locked_until" IS NULL OR "u"."locked_until" < :now)'
    ' AND NOT EXISTS (SELECT 1 FROM "inbound_update" "e"'
    ' WHERE "e"."bot" = "u"."bot" AND "e"."chat" = "u"."chat" AND "e"."handled_at" IS NULL'
    ' AND "e"."quarantined_at" IS NULL AND "e"."locked_until" >= :now)'
    ' ORDER BY "u"."update_id" LIMIT :limit'
)
"""Due updates of chats that no process has an update of in hand."""

_CLAIM = (
    f'UPDATE "inbound_update" SET "locked_until" = :until WHERE "id" IN ({_CLAIMABLE}) RETURNING *'
)
"""Lease them."""


async def claim(bot: str, now: datetime, lease: timedelta, limit: int = 100) -> list[InboundUpdate]:
    """Lease the bot's due updates, oldest first, of chats nobody has in hand; a process
    that dies with them leaves them to others once the lease runs out.

    The updates are chosen and leased in one statement (on SQLite one hop to the
    connection's thread, where a claim took four). On PostgreSQL the claims of one bot take
    turns (a transaction-scoped advisory lock), so two processes never split one chat's
    updates between them.
    """
    params = {"bot": bot, "now": now, "until": now + lease, "limit": limit}
    db = connections.get("default")
    if db.capabilities.dialect != "postgres":
        rows = await db.execute_query_dict(*bind(_CLAIM, params, "sqlite"))
    else:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_claim_key(bot)])
            rows = await conn.execute_query_dict(*bind(_CLAIM, params, "postgres"))
    claimed = [InboundUpdate._init_from_db(**row) for row in rows]
    return sorted(claimed, key=lambda row: row.update_id)


async def renew(rows: Sequence[InboundUpdate], until: datetime) -> None:
    """Keep the claim of ``rows`` not yet handled until ``until``."""
    await InboundUpdate.filter(
        id__in=[row.id for row in rows], handled_at=None, locked_until__not_isnull=True
    ).update(locked_until=until)


async def release(rows: Sequence[InboundUpdate]) -> None:
    """Give up the claim of ``rows`` not handled (their chat may be claimed again at once)."""
    await InboundUpdate.filter(id__in=[row.id for row in rows], handled_at=None).update(
        locked_until=None
    )


def _claim_key(bot: str) -> int:
    digest = hashlib.blake2b(f"housedesk:inbox:{bot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def mark_handled(row: InboundUpdate, now: datetime) -> None:
    """The update was handled: it is never handled again."""
    await InboundUpdate.filter(id=row.id).update(handled_at=now)


async def record_failure(
    row: InboundUpdate, error: str, now: datetime, policy: InboxPolicy
) -> bool:
    """Count a failed attempt; quarantine the update (and tell the managers) after the last.

    Returns True when the update was quarantined.
    """
    attempts = row.attempts + 1
    error = error[:_ERROR_CHARS]
    if attempts < policy.max_attempts:
        await InboundUpdate.filter(id=row.id).update(
            attempts=attempts,
            last_error=error,
            next_attempt_at=now + policy.delay(attempts),
            locked_until=None,
        )
        return False
    await InboundUpdate.filter(id=row.id).update(
        attempts=attempts, last_error=error, quarantined_at=now, locked_until=None
    )
    ref = f"{UpdateQuarantine.kind}:{row.id}"
    log.error("inbox: %s bot update %s quarantined after %d attempts", row.bot, ref, attempts)
    for manager in await managers_of(None):
        text = gettext(
            manager.language,
            QUARANTINE_NOTICE,
            who=_sender(row.payload),
            bot=row.bot,
            attempts=attempts,
            ref=ref,
            error=error,
        )
        await message_staff(manager, text, key=f"quarantine:{ref}:{now.timestamp():.0f}", now=now)
    return True


def _event(payload: dict[str, object]) -> dict[str, object]:
    """The update's one event (a message, a pressed button...), or an empty dict."""
    for key, value in payload.items():
        if key != "update_id" and isinstance(value, dict):
            return value
    return {}


def _sender(payload: dict[str, object]) -> str:
    sender = _event(payload).get("from")
    if not isinstance(sender, dict):
        return "?"
    name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if sender.get(k))
    return f"{name} (id {sender.get('id')})" if name else f"id {sender.get('id')}"


def _summary(payload: dict[str, object]) -> str:
    event = _event(payload)
    said = event.get("text") or event.get("caption") or event.get("data") or ""
    return f"{_sender(payload)}: {str(said)[:60]}"


def _item(row: InboundUpdate) -> QuarantinedItem:
    return QuarantinedItem(
        ref=f"{UpdateQuarantine.kind}:{row.id}",
        source=row.bot,
        summary=_summary(row.payload),
        attempts=row.attempts,
        last_error=row.last_error,
        quarantined_at=row.quarantined_at or row.received_at,
        raw=json.dumps(row.payload, ensure_ascii=False, indent=2),
    )


class UpdateQuarantine:
    """Quarantined chat updates (see :class:`core.messaging.quarantine.Quarantine`)."""

    kind = "update"

    async def items(self, limit: int) -> list[QuarantinedItem]:
        """The newest quarantined updates first."""
        query = InboundUpdate.filter(quarantined_at__not_isnull=True).order_by("-id")
        return [_item(row) for row in await (query.limit(limit) if limit else query)]

    async def count(self) -> int:
        """How many updates are quarantined."""
        return await InboundUpdate.filter(quarantined_at__not_isnull=True).count()

    async def item(self, item_id: int) -> QuarantinedItem | None:
        """One quarantined update, or None."""
        row = await InboundUpdate.get_or_none(id=item_id, quarantined_at__not_isnull=True)
        return _item(row) if row else None

    async def retry(self, item_id: int, now: datetime) -> bool:
        """Hand the update back to its bot's feed with a fresh count of attempts."""
        changed = await InboundUpdate.filter(id=item_id, quarantined_at__not_isnull=True).update(
            quarantined_at=None, attempts=0, next_attempt_at=now
        )
        return bool(changed)

    async def drop(self, item_id: int) -> bool:
        """Delete the quarantined update."""
        deleted = await InboundUpdate.filter(id=item_id, quarantined_at__not_isnull=True).delete()
        return bool(deleted)
