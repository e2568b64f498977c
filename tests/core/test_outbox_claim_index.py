"""A lane's claim reads the pending rows in claim order from an index instead of sorting
every pending row (on PostgreSQL ``outbox_claim``, migration 0021): the planner of each
database, asked about the query the outbox runs with an announcement's rows pending."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tortoise import connections

from core.messaging.outbox import _HEADS, _below
from core.storage.rawsql import bind

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
ROWS = (
    'INSERT INTO "outbox" ("channel", "recipient", "payload", "idempotency_key", "status",'
    ' "attempts", "max_attempts", "progress", "priority", "next_attempt_at", "last_error",'
    " \"created_at\") VALUES (:channel, :recipient, '{}', :key, :status, 0, 8, 0, :priority,"
    " :now, '', :now)"
)


async def _plan(bulk: bool) -> str:
    db = connections.get("default")
    dialect = db.capabilities.dialect
    rows = [
        {"recipient": str(8_000_000 + n), "status": status, "priority": priority}
        for status, priority, count in (("sent", 5, 3000), ("pending", 9, 2000), ("pending", 5, 50))
        for n in range(count)
    ]
    many = [
        bind(ROWS, {**row, "channel": "resident_chat", "key": f"k{n}", "now": NOW}, dialect)
        for n, row in enumerate(rows)
    ]
    await db.execute_many(many[0][0], [args for _, args in many])
    await db.execute_script("ANALYZE")
    params = {"route": "resident_chat", "now": NOW, "limit": 1, "below": _below(bulk)}
    sql, args = bind(_HEADS, params, dialect)
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    found = await db.execute_query_dict(explain + sql, args)
    return "\n".join(str(row.get("detail") or row.get("QUERY PLAN")) for row in found)


@pytest.mark.parametrize("bulk", [True, False])
async def test_the_claim_reads_the_pending_rows_in_order(bulk: bool) -> None:
    plan = await _plan(bulk)
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # SQLite
    assert " Sort " not in f" {plan} " and "Sort Key" not in plan, plan  # PostgreSQL
