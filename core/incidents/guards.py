"""Who may change incidents, and which incidents may still take reports."""

from __future__ import annotations

from core.actors import Actor
from core.errors import AccessDenied, ConflictError
from core.i18n import N_
from core.storage.models import Incident, IncidentStatus
from core.tickets.access import SEES_ALL


def require_coordinator(actor: Actor) -> None:
    """Incidents are for managers, dispatchers, admins and the operator (no person)."""
    person = actor.person
    if person is not None and person.role not in SEES_ALL:
        raise AccessDenied(
            f"{person.role.value} may not manage incidents",
            message=N_("Only managers and dispatchers can open or change incidents."),
        )


def require_active(incident: Incident) -> None:
    """Refuse a report for an incident that is over."""
    if incident.status == IncidentStatus.RESOLVED:
        raise ConflictError(
            f"incident {incident.id} is resolved",
            message=N_("This outage is already over."),
        )
