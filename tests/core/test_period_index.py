"""A period's report reads its tickets from their index alone (``ticket_period``, migration
0022), and on SQLite the whole hours' tally by its key (``ticket_tally``, migration 0024):
the planner, asked about the queries :mod:`core.reports.figures` runs, on the migrated
schema of each database."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from tortoise.transactions import in_transaction

from core.reports.figures import (
    PG_COUNTS_SQL,
    PG_PERCENTILES_SQL,
    SQLITE_COUNTS_SQL,
    SQLITE_DURATIONS_SQL,
    Period,
    window_params,
    window_sql,
)
from core.storage.rawsql import bind

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TODAY = Period("today", datetime(2026, 11, 25, tzinfo=UTC), NOW, "UTC")


@pytest.mark.sqlite_only
@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("building", [None, 3])
@pytest.mark.parametrize("template", [SQLITE_COUNTS_SQL, SQLITE_DURATIONS_SQL])
def test_sqlite_reads_the_period_from_the_covering_index(
    db_url: str, template: str, building: int | None
) -> None:
    sql, args = bind(window_sql(template, building), window_params(TODAY, building, NOW), "sqlite")
    with sqlite3.connect(urlsplit(db_url).path) as db:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
    reads = [step for step in plan if "ticket" in step.split()]
    assert reads == [
        "SEARCH ticket USING COVERING INDEX ticket_period (created_at>? AND created_at<?)"
    ], plan
    tally = [step for step in plan if "ticket_tally" in step.split()]
    assert tally == (
        ["SEARCH ticket_tally USING PRIMARY KEY (dimension=? AND hour>? AND hour<?)"] * 5
        if template is SQLITE_COUNTS_SQL
        else []
    ), plan


@pytest.mark.postgres
@pytest.mark.parametrize("template", [PG_COUNTS_SQL, PG_PERCENTILES_SQL])
async def test_postgres_can_read_the_period_from_the_index_alone(db: str, template: str) -> None:
    sql, args = bind(window_sql(template, None), window_params(TODAY, None, NOW), "postgres")
    async with in_transaction() as tx:
        await tx.execute_script("SET LOCAL enable_seqscan = off")
        _, rows = await tx.execute_query(f"EXPLAIN {sql}", args)
    plan = "\n".join(str(next(iter(r.values()))) for r in rows)
    assert "Index Only Scan using ticket_period" in plan, plan
