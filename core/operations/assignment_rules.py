"""The assignment rules: in business hours a ticket goes to the member of staff who serves
its building (or the building's zone), has the category's trade, is on shift and not away,
and has the fewest open tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.functions import Count

from core.operations.calendar import absences_around, unavailable_reason
from core.storage.models import Person, Role, Ticket
from core.storage.rawsql import fetch
from core.storage.rows import from_row
from core.tickets.timeline import Saying
from core.tickets.workflow import OPEN_STATUSES

_STAFF_OF_BUILDING = (
    'SELECT * FROM "person" WHERE "role" <> :resident AND "id" IN'
    ' (SELECT "person_id" FROM "staff_building" WHERE "building_id" = :scope) ORDER BY "id"'
)
_STAFF_OF_ZONE = (
    'SELECT * FROM "person" WHERE "role" <> :resident AND "id" IN'
    ' (SELECT "staff_building"."person_id" FROM "staff_building"'
    ' JOIN "building" ON "building"."id" = "staff_building"."building_id"'
    ' WHERE "building"."zone" = :scope) ORDER BY "id"'
)


@dataclass(frozen=True)
class Choice:
    """The outcome of the assignment rules: who (or nobody), where from, and who was passed over."""

    person: Person | None
    scope: Saying
    load: dict[str, int] = field(default_factory=dict)
    skipped: list[Saying] = field(default_factory=list)


async def open_loads(person_ids: Sequence[int]) -> dict[int, int]:
    """Open tickets assigned to each of these people."""
    if not person_ids:
        return {}
    rows = (
        await Ticket.filter(assignee_id__in=list(person_ids), status__in=list(OPEN_STATUSES))
        .group_by("assignee_id")
        .annotate(n=Count("id"))
        .values("assignee_id", "n")
    )
    return {int(r["assignee_id"]): int(r["n"]) for r in rows}


def _handles(person: Person, trade: str | None) -> bool:
    if trade:
        return trade in (person.trades or [])
    return person.role == Role.TECHNICIAN


async def choose(ticket: Ticket, now: datetime) -> Choice:
    """Apply the assignment rules to ``ticket`` at ``now`` without changing anything."""
    building = ticket.building
    if building is None:
        return Choice(None, Saying("building_unknown"))
    tz = ZoneInfo(building.timezone or "UTC")
    scopes: list[tuple[Saying, str, int | str]] = [
        (Saying("building_scope", {"code": building.code}), _STAFF_OF_BUILDING, building.id)
    ]
    if building.zone:
        zone = Saying("zone_scope", {"zone": building.zone})
        scopes.append((zone, _STAFF_OF_ZONE, building.zone))
    seen: set[int] = set()
    skipped: list[Saying] = []
    for scope, query, value in scopes:
        staff = [
            p
            for p in (
                from_row(Person, row)
                for row in await fetch(query, resident=Role.RESIDENT.value, scope=value)
            )
            if p.id not in seen and _handles(p, ticket.category.trade)
        ]
        seen.update(p.id for p in staff)
        absences = await absences_around([p.id for p in staff], now)
        available = []
        for person in sorted(staff, key=lambda p: p.id):
            reason = unavailable_reason(person, absences, now, tz)
            if reason is None:
                available.append(person)
            else:
                skipped.append(reason)
        if available:
            loads = await open_loads([p.id for p in available])
            chosen = min(available, key=lambda p: (loads.get(p.id, 0), p.id))
            load = {p.name: loads.get(p.id, 0) for p in available}
            return Choice(chosen, scope, load, skipped)
    return Choice(None, scopes[-1][0], {}, skipped)
