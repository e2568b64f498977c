"""Who a ticket could be given to, with each person's open work and whether they are on
shift now: what a dispatcher weighs before assigning by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.operations.assignment_rules import open_loads
from core.operations.calendar import BusinessCalendar, absences_around, parse_week
from core.storage.models import Person, Role, Ticket

ASSIGNABLE = (Role.TECHNICIAN, Role.DISPATCHER, Role.MANAGER)


@dataclass(frozen=True)
class Candidate:
    """A member of staff who may take a ticket, as things are now."""

    person: Person
    load: int
    """Open tickets assigned to them."""
    on_shift: bool
    away_until: date | None
    """The last day of an absence covering today (None: not away)."""


async def candidates(ticket: Ticket, now: datetime) -> list[Candidate]:
    """Active staff serving the ticket's building (every active member of staff when the
    building is unknown): technicians first, then the fewest open tickets."""
    query = Person.filter(active=True, role__in=list(ASSIGNABLE))
    if ticket.building_id is not None:  # type: ignore[attr-defined]
        query = query.filter(buildings__id=ticket.building_id)  # type: ignore[attr-defined]
    people = await query.distinct().order_by("name")
    ids = [p.id for p in people]
    loads = await open_loads(ids)
    absences = await absences_around(ids, now)
    zone = ZoneInfo(ticket.building.timezone if ticket.building else "UTC")
    today = now.astimezone(zone).date()
    found = []
    for person in people:
        away = [
            a.ends
            for a in absences
            if a.person_id == person.id and a.starts <= today <= a.ends  # type: ignore[attr-defined]
        ]
        shift = BusinessCalendar(zone, parse_week(person.work_hours or {}))
        found.append(
            Candidate(person, loads.get(person.id, 0), shift.is_open(now), max(away, default=None))
        )
    return sorted(found, key=lambda c: (c.person.role != Role.TECHNICIAN, c.load, c.person.name))
