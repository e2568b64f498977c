"""Where an incident is and whom it affects: its buildings and flats, the building of a
resident it reaches, the category its ticket takes, and whether a report is about it."""

from __future__ import annotations

from datetime import datetime

from core.directory.defaults import fallback_category
from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.incidents import texts
from core.incidents.queries import active_where_living
from core.operations.audience import Scope
from core.storage.models import Building, Category, Incident, IncidentArea, Person, Unit


async def incident_by_ref(ref: str | int) -> Incident:
    """The incident ``I7`` (or ``7``), with its category."""
    number = texts.parse_incident_ref(ref)
    incident = (
        await Incident.get_or_none(id=number).select_related("category")
        if number is not None
        else None
    )
    if incident is None:
        raise NotFound(
            f"no incident {ref}",
            message=N_('There is no incident "{ref}".'),
            ref=str(ref),
        )
    return incident


async def where_living(person_id: int, at: datetime) -> list[tuple[Incident, Building]]:
    """The incidents active at ``at`` where ``person_id`` lives, with the building each
    affects."""
    active = await active_where_living(person_id, at)
    if not active:
        return []
    buildings = {b.id: b for b in await Building.filter(id__in=[b for _, b in active])}
    return [(incident, buildings[building]) for incident, building in active]


async def flats_of(building: Building, scope: Scope) -> list[str]:
    """The flat numbers of ``building`` in ``scope`` (empty: the whole building)."""
    if scope.whole:
        return []
    query = Unit.filter(building=building)
    if scope.entrances:
        query = query.filter(entrance__in=list(scope.entrances))
    if scope.floors:
        query = query.filter(floor__in=list(scope.floors))
    if scope.flats:
        query = query.filter(number__in=list(scope.flats))
    numbers = list(await query.order_by("id").values_list("number", flat=True))
    if not numbers:
        raise InvalidInput(
            f"no flat of {building.code} is in that part",
            message=N_("No flat of {building} is in that part of it."),
            building=building.name,
        )
    return [str(n) for n in numbers]


async def buildings_of(incident_id: int) -> list[Building]:
    """The buildings an incident affects, in the order they were made."""
    return await Building.filter(incident_areas__incident_id=incident_id).order_by("id")


async def building_for(
    person: Person,
    incident: Incident,
    at: datetime | None,
    buildings: dict[int, Building] | None = None,
) -> Building | None:
    """The building of ``person`` that ``incident`` affects (its flats, if it lists any);
    ``at`` given: only while the incident is active then."""
    areas = {a.building_id: a for a in await IncidentArea.filter(incident=incident)}  # type: ignore[attr-defined]
    for unit in await _units_of(person):
        area = areas.get(unit.building.id)
        if area is None or (area.flats and unit.number not in area.flats):
            continue
        if at is not None and (incident.starts_at > at):
            continue
        return (buildings or {}).get(unit.building.id, unit.building)
    return None


async def category_of(incident: Incident) -> Category:
    """The incident's category, else the directory's fallback."""
    if incident.category_id is None:  # type: ignore[attr-defined]
        return await fallback_category()
    return await Category.get(id=incident.category_id)  # type: ignore[attr-defined]


def matches(incident: Incident, category_id: int | None, words: str) -> bool:
    """A report is about an incident when it is in its category or uses one of its words."""
    if category_id is not None and incident.category_id == category_id:  # type: ignore[attr-defined]
        return True
    return any(word in words for word in incident.keywords or [])


async def _units_of(person: Person) -> list[Unit]:
    return await Unit.filter(residents__id=person.id).select_related("building").order_by("id")
