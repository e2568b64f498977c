"""What incidents are active where: the look-ups every channel asks before filing a report."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from core.storage.models import (
    Incident,
    IncidentEvent,
    IncidentLink,
    IncidentStatus,
    LinkStatus,
)
from core.storage.rawsql import fetch
from core.storage.rows import from_row

_ACTIVE_IN_BUILDING = (
    'SELECT "incident".*, "incident_area"."flats" AS "area_flats" FROM "incident"'
    ' JOIN "incident_area" ON "incident_area"."incident_id" = "incident"."id"'
    ' WHERE "incident_area"."building_id" = :building AND "incident"."status" <> :resolved'
    ' AND "incident"."starts_at" <= :at ORDER BY "incident"."starts_at", "incident"."id"'
)


async def active_incidents(
    building_id: int, at: datetime, flat: str | None = None
) -> list[Incident]:
    """The incidents affecting ``building_id`` at ``at``, oldest first.

    Active means started (``starts_at`` has come, even if the scheduler has not yet marked a
    planned one started) and not resolved. An incident limited to some flats counts only
    for those flats; ``flat`` None (the flat is not known) counts it too.
    """
    rows = await fetch(
        _ACTIVE_IN_BUILDING,
        building=building_id,
        resolved=IncidentStatus.RESOLVED.value,
        at=at.astimezone(UTC),
    )
    found: list[Incident] = []
    for row in rows:
        flats = row.pop("area_flats")
        limited = _flats(flats)
        if flat is None or not limited or flat in limited:
            found.append(from_row(Incident, row))
    return found


_ACTIVE_WHERE_LIVING = (
    'SELECT "incident".*, "incident_area"."flats" AS "area_flats",'
    ' "unit"."number" AS "unit_number", "unit"."building_id" AS "unit_building"'
    ' FROM "residency" JOIN "unit" ON "unit"."id" = "residency"."unit_id"'
    ' JOIN "incident_area" ON "incident_area"."building_id" = "unit"."building_id"'
    ' JOIN "incident" ON "incident"."id" = "incident_area"."incident_id"'
    ' WHERE "residency"."person_id" = :person AND "incident"."status" <> :resolved'
    ' AND "incident"."starts_at" <= :at'
    ' ORDER BY "unit"."id", "incident"."starts_at", "incident"."id"'
)


async def active_where_living(person_id: int, at: datetime) -> list[tuple[Incident, int]]:
    """The incidents affecting a flat ``person_id`` lives in at ``at``, each once with the id
    of its building, in the order of their flats: one query, none found on most days."""
    found: dict[int, tuple[Incident, int]] = {}
    for row in await fetch(
        _ACTIVE_WHERE_LIVING,
        person=person_id,
        resolved=IncidentStatus.RESOLVED.value,
        at=at.astimezone(UTC),
    ):
        limited = _flats(row.pop("area_flats"))
        number, building = str(row.pop("unit_number")), int(row.pop("unit_building"))
        if not limited or number in limited:
            found.setdefault(int(row["id"]), (from_row(Incident, row), building))
    return list(found.values())


def _flats(stored: object) -> list[str]:
    """The flat list as stored (PostgreSQL gives JSON as a list, SQLite as text)."""
    if isinstance(stored, str):
        return [str(f) for f in json.loads(stored or "[]")]
    return [str(f) for f in stored] if isinstance(stored, list) else []


_HOMES = (
    'SELECT "residency"."person_id", "unit"."building_id" FROM "residency"'
    ' JOIN "unit" ON "unit"."id" = "residency"."unit_id"'
    ' JOIN "incident_area" ON "incident_area"."building_id" = "unit"."building_id"'
    ' WHERE "incident_area"."incident_id" = :incident ORDER BY "unit"."id"'
)


async def homes_in_incident(incident_id: int) -> dict[int, int]:
    """Person id -> the building (of those an incident affects) they live in: one query for
    everyone an incident's news goes to (the building gives its zone and language)."""
    homes: dict[int, int] = {}
    for row in await fetch(_HOMES, incident=incident_id):
        homes.setdefault(int(row["person_id"]), int(row["building_id"]))
    return homes


async def open_incidents(building_ids: list[int] | None = None) -> list[Incident]:
    """Incidents not resolved (scheduled or active), soonest first; of some buildings only
    when ``building_ids`` is given."""
    query = Incident.exclude(status=IncidentStatus.RESOLVED)
    if building_ids is not None:
        query = query.filter(areas__building_id__in=building_ids).distinct()
    return await query.order_by("starts_at", "id")


async def linked_people(incident_id: int) -> list[IncidentLink]:
    """The links still absorbed by an incident (not unlinked or reopened), with the person."""
    return (
        await IncidentLink.filter(incident_id=incident_id, status=LinkStatus.LINKED)
        .select_related("person")
        .order_by("id")
    )


async def absorbed_by_channel(incident_id: int) -> dict[str, int]:
    """How many reports an incident absorbed, by channel (every link ever made counts)."""
    links = await IncidentLink.filter(incident_id=incident_id).values_list("channel", flat=True)
    return dict(Counter(str(getattr(c, "value", c)) for c in links))


async def timeline(incident_id: int) -> list[IncidentEvent]:
    """An incident's events, oldest first."""
    return await IncidentEvent.filter(incident_id=incident_id).order_by("at", "id")


async def incident_links(incident_id: int) -> list[IncidentLink]:
    """Every report an incident absorbed, linked or not any more, with the person."""
    return (
        await IncidentLink.filter(incident_id=incident_id).select_related("person").order_by("id")
    )


async def incidents_between(
    start: datetime, end: datetime, building_id: int | None = None
) -> list[dict[str, object]]:
    """The incidents active at some time in ``[start, end)`` (of one building, or all), oldest
    first, each with the reports it absorbed by channel: JSON-ready, for reports."""
    query = Incident.filter(starts_at__lt=end.astimezone(UTC)).exclude(
        ended_at__lt=start.astimezone(UTC)
    )
    if building_id is not None:
        query = query.filter(areas__building_id=building_id).distinct()
    return [
        {
            "ref": f"I{incident.id}",
            "title": incident.title,
            "kind": incident.kind.value,
            "status": incident.status.value,
            "starts_at": incident.starts_at.isoformat(),
            "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
            "absorbed": await absorbed_by_channel(incident.id),
        }
        for incident in await query.order_by("starts_at", "id")
    ]
