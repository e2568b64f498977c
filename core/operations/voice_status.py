"""What a PBX's voice menu says to a caller: the building's active incident and the caller's
own open requests, as structured fields and as a short text in the building's language.

The building is the one whose phone number was called; the caller is recognised by the
phone number in the directory. A caller ID can be forged, so the text names only each
request's number, category and status, never what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.queryset import QuerySet

from core.directory.lookup import building_by_phone, person_by_contact
from core.i18n import N_, gettext, ngettext
from core.incidents.queries import active_incidents
from core.storage.models import Building, ContactKind, Incident, Ticket
from core.tickets.cards import local_time
from core.tickets.workflow import OPEN_STATUSES, status_name

MAX_TICKETS = 5
"""Open requests named, newest first: a voice menu cannot read out more."""


@dataclass(frozen=True)
class CallerTicket:
    """One of the caller's open requests, as the voice menu names it."""

    id: int
    status: str
    status_text: str
    category: str
    created_at: datetime

    @property
    def ref(self) -> str:
        """``#42``."""
        return f"#{self.id}"


@dataclass(frozen=True)
class VoiceStatus:
    """The answer for one call."""

    building: Building | None
    language: str
    incident: Incident | None
    incident_text: str
    tickets: list[CallerTicket]
    """The newest :data:`MAX_TICKETS` of them."""
    open_tickets: int
    caller_known: bool
    text: str


async def voice_status(
    called: str | None, caller: str | None, at: datetime, default_language: str = "en"
) -> VoiceStatus:
    """The status to read to ``caller`` who dialled ``called`` at ``at``."""
    building = await building_by_phone(called)
    language = building.language if building else default_language
    incidents = await active_incidents(building.id, at) if building else []
    incident = incidents[0] if incidents else None
    person = await person_by_contact(ContactKind.PHONE, caller) if caller else None
    mine = Ticket.filter(requester_id=person.id, status__in=list(OPEN_STATUSES)) if person else None
    tickets = await _named(mine, language) if mine is not None else []
    count = await mine.count() if mine is not None else 0
    incident_text = _incident_text(incident, building, language) if incident else ""
    return VoiceStatus(
        building=building,
        language=language,
        incident=incident,
        incident_text=incident_text,
        tickets=tickets,
        open_tickets=count,
        caller_known=person is not None,
        text=" ".join(p for p in (incident_text, _tickets_text(tickets, count, language)) if p),
    )


async def _named(mine: QuerySet[Ticket], language: str) -> list[CallerTicket]:
    found = await mine.select_related("category").order_by("-created_at", "-id").limit(MAX_TICKETS)
    return [
        CallerTicket(
            id=t.id,
            status=t.status.value,
            status_text=status_name(t.status, language),
            category=t.category.name_in(language),
            created_at=t.created_at,
        )
        for t in found
    ]


def _incident_text(incident: Incident, building: Building | None, language: str) -> str:
    text = incident.text_in(language, building).strip()
    if text and text[-1] not in ".!?。":
        text += "."
    if incident.expected_end_at is None:
        return text
    expected = gettext(
        language,
        N_("Expected to be fixed by {time}."),
        time=local_time(incident.expected_end_at, building, language),
    )
    return f"{text} {expected}"


def _tickets_text(tickets: list[CallerTicket], count: int, language: str) -> str:
    if not count:
        return gettext(language, N_("There are no open requests from this number."))
    lines = [
        ngettext(
            language,
            "You have {n} open request.",
            "You have {n} open requests.",
            count,
        )
    ]
    lines += [
        gettext(
            language,
            N_("Request {number}: {category}, {status}."),
            number=t.id,
            category=t.category,
            status=t.status_text,
        )
        for t in tickets
    ]
    return " ".join(lines)
