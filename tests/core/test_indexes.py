"""The look-ups every request makes use an index: none reads a growing table whole.

Checked with SQLite's query planner on the migrated schema, with the queries the code runs
(the plain-SQL constants themselves, and the ORM queries rendered by tortoise).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from tortoise import connections
from tortoise.expressions import Q

from core.directory import lookup as directory
from core.operations import assignment_rules
from core.storage.models import Attachment, MessageRef, Ticket, TicketEvent
from core.storage.rawsql import bind
from core.tickets import lookups, queries

pytestmark = [pytest.mark.usefixtures("db"), pytest.mark.sqlite_only]

SOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GROWING = (
    "ticket",
    "ticket_event",
    "message_ref",
    "contact",
    "attachment",
    "residency",
    "staff_building",
)


def _scans(db_url: str, sql: str, params: list[object]) -> list[str]:
    """The growing tables the planner reads whole for ``sql``."""
    with sqlite3.connect(urlsplit(db_url).path) as db:
        plan = db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    scanned = [m[1] for _, _, _, step in plan if (m := re.match(r"SCAN (\w+)", step))]
    return [table for table in scanned if table in GROWING]


PLAIN: dict[str, tuple[str, dict[str, object]]] = {
    "the acknowledgement limit": (
        queries._CREATED_SINCE,
        {"requester": 1, "channel": "email", "since": "2026"},
    ),
    "a delivery seen before": (queries._TICKET_OF_MESSAGE, {"channel": "email", "id": "<a@b>"}),
    "a resident's only building": (lookups._BUILDINGS_OF_RESIDENT, {"person": 1}),
    "a requester and their contacts": (directory._PERSON_AND_CONTACTS, {"person": 1}),
    "the staff of a building": (
        assignment_rules._STAFF_OF_BUILDING,
        {"resident": "resident", "scope": 1},
    ),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
async def test_hot_plain_queries_use_an_index(db_url: str, name: str) -> None:
    query, params = PLAIN[name]
    sql, values = bind(query, params, "sqlite")
    assert _scans(db_url, sql, values) == []


def _orm_queries() -> dict[str, str]:
    return {
        "a timeline": TicketEvent.filter(ticket_id=7).order_by("at").sql(params_inline=True),
        "a ticket's attachments": Attachment.filter(ticket_id=7).sql(params_inline=True),
        "a thread's references": MessageRef.filter(ticket_id=7).sql(params_inline=True),
        "a resident's requests": Ticket.filter(requester_id=3)
        .order_by("-created_at")
        .sql(params_inline=True),
        "a technician's open work": Ticket.filter(
            assignee_id=3, status__in=["new", "in_progress"]
        ).sql(params_inline=True),
        "a building's open tickets": Ticket.filter(
            building_id=3, status__in=["new", "on_hold"]
        ).sql(params_inline=True),
        "open tickets near a deadline": Ticket.filter(status__in=["new", "in_progress"])
        .filter(Q(response_due_at__lte=SOON, first_response_at__isnull=True) | Q(due_at__lte=SOON))
        .sql(params_inline=True),
    }


async def test_hot_orm_queries_use_an_index(db_url: str) -> None:
    assert connections.get("default").capabilities.dialect == "sqlite"
    scans = {name: _scans(db_url, sql, []) for name, sql in _orm_queries().items()}
    assert scans == {name: [] for name in scans}
