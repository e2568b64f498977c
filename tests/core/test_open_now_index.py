"""The open tickets now are read from their partial index alone (``ticket_open_now``,
migration 0020), however many closed tickets there are: SQLite's planner, asked about the
queries :mod:`core.reports.open_now` runs, on the migrated schema; for every building, the
open tickets' tally by its key."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from core.reports.open_now import OPEN_SQL, open_now_sql
from core.storage.models import OPEN_TICKET_WHERE
from core.storage.rawsql import bind

pytestmark = [pytest.mark.usefixtures("db"), pytest.mark.sqlite_only]

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_the_index_condition_is_the_query_s_word_for_word() -> None:
    assert OPEN_TICKET_WHERE == OPEN_SQL  # SQLite uses a partial index only then


def _plan(db_url: str, one_building: bool) -> list[str]:
    params = {"now": NOW, "soon": NOW + timedelta(hours=24), "building": 1}
    text, args = bind(open_now_sql(one_building, "sqlite"), params, "sqlite")
    with sqlite3.connect(urlsplit(db_url).path) as db:
        return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {text}", args)]


async def test_open_now_reads_only_the_covering_index(db_url: str) -> None:
    plan = _plan(db_url, one_building=False)
    reads = [step for step in plan if "ticket" in step.split()]
    assert reads == ["SEARCH ticket USING COVERING INDEX ticket_open_now (status=?)"], plan
    tally = [step for step in plan if "ticket_open_tally" in step.split()]
    assert tally == ["SEARCH ticket_open_tally USING PRIMARY KEY (dimension=?)"] * 4, plan


async def test_one_building_s_open_now_reads_an_index(db_url: str) -> None:
    plan = _plan(db_url, one_building=True)  # its own or the open one
    reads = [step for step in plan if "ticket" in step.split()]
    assert len(reads) == 1 and reads[0].startswith("SEARCH ticket USING"), plan
