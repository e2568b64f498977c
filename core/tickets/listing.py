"""Tickets newest first, read page by page, so a listing's memory does not grow with the log.

A page is one plain statement (the tickets joined to the names a list shows): building a
tortoise model with its five related rows cost more than 0.3 ms of CPU a ticket, so listing
a million tickets took minutes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.directory.lookup import building_by_code
from core.storage.models import Channel, Status, Ticket
from core.storage.rawsql import fetch, stored_time

PAGE = 200

_PAGE = """
SELECT t."id", t."title", t."status", t."priority", t."channel", t."verified", t."rating",
       t."created_at", t."response_due_at", t."due_at", t."first_response_at",
       t."resolved_at", b."code" AS "building", u."number" AS "unit",
       c."code" AS "category", r."name" AS "requester", a."name" AS "assignee"
FROM "ticket" t
JOIN "category" c ON c."id" = t."category_id"
LEFT JOIN "building" b ON b."id" = t."building_id"
LEFT JOIN "unit" u ON u."id" = t."unit_id"
LEFT JOIN "person" r ON r."id" = t."requester_id"
LEFT JOIN "person" a ON a."id" = t."assignee_id"
WHERE {where}
ORDER BY t."created_at" DESC, t."id" DESC
LIMIT :size
"""
_AFTER = 't."created_at" <= :at AND (t."created_at" < :at OR t."id" < :id)'
"""After the last row seen. The first condition bounds the scan of the ``created_at``
index (the same condition as one OR is a filter that PostgreSQL applies walking from the
newest ticket, so each page re-read every page before it); the second drops the ties
already listed."""


@dataclass(frozen=True)
class TicketLine:
    """A ticket as lists show it: its own fields and the names of what it refers to."""

    id: int
    title: str
    status: Status
    category: str
    priority: int
    building: str | None
    unit: str | None
    channel: Channel
    requester: str | None
    assignee: str | None
    verified: bool
    created_at: datetime
    response_due_at: datetime | None
    due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    rating: int | None

    @property
    def ref(self) -> str:
        """The reference shown to people (``#42``)."""
        return f"#{self.id}"

    @classmethod
    def of(cls, ticket: Ticket) -> TicketLine:
        """The line of ``ticket`` (``building, unit, category, requester, assignee`` fetched)."""
        return cls(
            id=ticket.id,
            title=ticket.title,
            status=ticket.status,
            category=ticket.category.code,
            priority=ticket.priority,
            building=ticket.building.code if ticket.building else None,
            unit=ticket.unit.number if ticket.unit else None,
            channel=ticket.channel,
            requester=ticket.requester.name if ticket.requester else None,
            assignee=ticket.assignee.name if ticket.assignee else None,
            verified=ticket.verified,
            created_at=ticket.created_at,
            response_due_at=ticket.response_due_at,
            due_at=ticket.due_at,
            first_response_at=ticket.first_response_at,
            resolved_at=ticket.resolved_at,
            rating=ticket.rating,
        )


def _line(row: dict[str, Any]) -> TicketLine:
    return TicketLine(
        id=row["id"],
        title=row["title"],
        status=Status(row["status"]),
        category=row["category"],
        priority=row["priority"],
        building=row["building"],
        unit=row["unit"],
        channel=Channel(row["channel"]),
        requester=row["requester"],
        assignee=row["assignee"],
        verified=bool(row["verified"]),
        created_at=stored_time(row["created_at"]) or datetime.min.replace(tzinfo=UTC),
        response_due_at=stored_time(row["response_due_at"]),
        due_at=stored_time(row["due_at"]),
        first_response_at=stored_time(row["first_response_at"]),
        resolved_at=stored_time(row["resolved_at"]),
        rating=row["rating"],
    )


async def newest_tickets(
    *, statuses: Sequence[Status] = (), building: str | None = None, limit: int | None = None
) -> AsyncIterator[TicketLine]:
    """Tickets newest first (``limit`` None: all), one page of rows in memory at a time.

    Pages continue after the last row seen (created_at, id), never with an offset.
    """
    where, params = ["1 = 1"], dict[str, Any]()
    if statuses:
        names = [f"s{n}" for n in range(len(statuses))]
        where.append(f't."status" IN ({", ".join(":" + name for name in names)})')
        params |= {name: Status(s).value for name, s in zip(names, statuses, strict=True)}
    if building:
        where.append('t."building_id" = :building')
        params["building"] = (await building_by_code(building)).id
    first, following = _PAGE.format(where=" AND ".join(where)), None
    left = limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        query = first if following is None else following
        rows = await fetch(query, size=size, **params)
        for row in rows:
            yield _line(row)
        if len(rows) < size:
            return
        # the stored values themselves, so the next page compares like with like
        params |= {"at": rows[-1]["created_at"], "id": rows[-1]["id"]}
        following = _PAGE.format(where=" AND ".join([*where, _AFTER]))
        if left is not None:
            left -= len(rows)
