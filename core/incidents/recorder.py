"""An incident's own writes: its columns, version-checked, and the rows of its timeline."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from core.actors import Actor
from core.clock import Clock
from core.errors import ConflictError, NotFound
from core.i18n import N_
from core.incidents import texts
from core.storage.fit import clipped
from core.storage.models import Incident, IncidentEvent, IncidentStatus


class IncidentEventType(StrEnum):
    """Kinds of incident timeline rows."""

    OPENED = "opened"
    STARTED = "started"
    ANNOUNCED = "announced"
    UPDATED = "updated"
    RESOLVED = "resolved"
    LINKED = "linked"
    UNLINKED = "unlinked"
    REOPENED = "reopened"


class IncidentRecorder:
    """Reads an incident to change it, writes its changes and its timeline events."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def current(self, incident_id: int) -> Incident:
        """The incident as it is now, with its category."""
        incident = await Incident.get_or_none(id=incident_id).select_related("category")
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        return incident

    async def changeable(self, incident_id: int, version: int | None) -> Incident:
        """The incident, if it is not resolved and still at ``version`` (None: any)."""
        incident = await self.current(incident_id)
        if incident.status == IncidentStatus.RESOLVED:
            raise ConflictError(
                f"incident {incident.id} is resolved",
                message=N_("{ref} is already resolved."),
                ref=texts.incident_ref(incident),
            )
        if version is not None and version != incident.version:
            raise ConflictError(
                f"incident {incident.id} changed meanwhile",
                message=N_("{ref} was changed meanwhile by someone else; look again and retry."),
                ref=texts.incident_ref(incident),
            )
        return incident

    async def save(self, incident: Incident, **changes: Any) -> None:
        """Write ``changes`` if nobody changed the incident since it was read."""
        now = self.clock.now()
        written = await Incident.filter(id=incident.id, version=incident.version).update(
            **changes, updated_at=now, version=incident.version + 1
        )
        if not written:
            raise ConflictError(
                f"incident {incident.id} changed meanwhile",
                message=N_("{ref} was changed meanwhile by someone else; look again and retry."),
                ref=texts.incident_ref(incident),
            )
        for name, value in changes.items():
            setattr(incident, name, value)
        incident.updated_at = now
        incident.version += 1

    async def event(
        self,
        incident: Incident,
        kind: str,
        actor: Actor,
        *,
        text: str = "",
        data: dict[str, object] | None = None,
    ) -> IncidentEvent:
        """One row of the incident's timeline: who did what, now."""
        return await IncidentEvent.create(
            incident=incident,
            type=kind,
            text=text,
            actor=actor.person,
            actor_label=clipped(IncidentEvent, "actor_label", actor.label),
            data=data or {},
            at=self.clock.now(),
        )
