"""The residents an incident reaches: everyone registered to a flat of a building (or only
to the flats listed)."""

from __future__ import annotations

from collections.abc import Sequence

from core.storage.models import Building, Person, Role


async def residents_of(building: Building, flats: Sequence[str] = ()) -> list[Person]:
    """Active residents of ``building`` (of ``flats`` only, when given), each once."""
    query = Person.filter(role=Role.RESIDENT, active=True, units__building_id=building.id)
    if flats:
        query = query.filter(units__number__in=list(flats))
    return await query.distinct().order_by("id")
