"""Who is calling: the person behind a phone number, their flats, their open tickets and
what is going on in their building, for the desk's call page (and a PBX's screen pop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.directory.lookup import person_by_contact
from core.incidents.queries import active_incidents
from core.storage.models import ContactKind, Incident, Person, Ticket, Unit
from core.tickets.queries import RELATED
from core.tickets.workflow import OPEN_STATUSES


@dataclass(frozen=True)
class Caller:
    """What the directory knows about a phone number (``person`` None: nobody)."""

    phone: str
    person: Person | None = None
    flats: list[Unit] = field(default_factory=list)
    open_tickets: list[Ticket] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)


async def caller(phone: str, now: datetime) -> Caller:
    """Look a caller up by their number, however it was typed."""
    phone = phone.strip()
    person = await person_by_contact(ContactKind.PHONE, phone) if phone else None
    if person is None:
        return Caller(phone)
    flats = await Unit.filter(residents=person).select_related("building").order_by("id")
    tickets = (
        await Ticket.filter(requester_id=person.id, status__in=list(OPEN_STATUSES))
        .select_related(*RELATED)
        .order_by("-created_at", "-id")
        .limit(20)
    )
    incidents: dict[int, Incident] = {}
    for flat in flats:
        for incident in await active_incidents(flat.building.id, now, flat.number):
            incidents.setdefault(incident.id, incident)
    return Caller(phone, person, flats, tickets, list(incidents.values()))
