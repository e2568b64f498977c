"""Who an announcement reaches: the registered residents of a building, or of part of it.

A scope narrows a building down to entrances, floors and flats (each a list; several lists
all apply: "entrance 2, floors 3 and 4"). Residents are read a batch at a time, by id, with
the building each of them is reached in (for the header of their message) and their contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from core.directory.file import expand_units
from core.errors import InvalidInput
from core.i18n import N_
from core.storage.models import Building, Contact, ContactKind, Person, Role, Unit

SCOPE_KEYS = ("entrances", "floors", "flats")
"""The keys of a stored scope, in the order people read them."""


@dataclass(frozen=True)
class Scope:
    """Part of a building: flats reached by these entrances, on these floors, these flats."""

    entrances: tuple[str, ...] = ()
    floors: tuple[str, ...] = ()
    flats: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        entrances: Sequence[str] = (),
        floors: Sequence[str] = (),
        flats: Sequence[str] = (),
    ) -> Scope:
        """A scope from lists as people type them; flats may be ranges (``"20-25"``)."""
        try:
            numbers = expand_units(list(flats))
        except ValueError as exc:
            raise InvalidInput(
                str(exc), message=N_("Not a list of flats: {flats}"), flats=", ".join(flats)
            ) from None
        return cls(
            tuple(_clean(entrances)),
            tuple(_clean(floors)),
            tuple(numbers),
        )

    @classmethod
    def stored(cls, value: dict[str, list[str]] | None) -> Scope:
        """The scope an announcement row keeps."""
        value = value or {}
        return cls(*(tuple(value.get(key, ())) for key in SCOPE_KEYS))

    def to_stored(self) -> dict[str, list[str]]:
        """The JSON an announcement row keeps (only the lists that narrow anything)."""
        return {key: list(getattr(self, key)) for key in SCOPE_KEYS if getattr(self, key)}

    @property
    def whole(self) -> bool:
        """True when nothing narrows the building."""
        return not (self.entrances or self.floors or self.flats)


@dataclass
class Recipient:
    """A resident to reach: the building they are reached in and their usable contacts."""

    person: Person
    building: Building | None
    contacts: dict[ContactKind, Contact] = field(default_factory=dict)

    @property
    def language(self) -> str | None:
        """The resident's language, else their building's."""
        return self.person.language or (self.building.language if self.building else None)


async def residents(
    building: Building | None, scope: Scope, after: int, limit: int
) -> list[Recipient]:
    """The next ``limit`` residents in ``building`` (None: any) and ``scope``, by id after
    ``after``, each with the first unblocked contact of every kind."""
    query = Person.filter(role=Role.RESIDENT, id__gt=after)
    conditions: dict[str, object] = (
        {"units__building_id": building.id} if building else {"units__id__isnull": False}
    )
    if scope.entrances:
        conditions["units__entrance__in"] = list(scope.entrances)
    if scope.floors:
        conditions["units__floor__in"] = list(scope.floors)
    if scope.flats:
        conditions["units__number__in"] = list(scope.flats)
    people = await query.filter(**conditions).distinct().order_by("id").limit(limit)
    if not people:
        return []
    ids = [p.id for p in people]
    homes = await _homes(ids, building)
    found = {p.id: Recipient(p, homes.get(p.id)) for p in people}
    for contact in await Contact.filter(person_id__in=ids, blocked=False).order_by("id"):
        found[contact.person_id].contacts.setdefault(contact.kind, contact)  # type: ignore[attr-defined]
    return list(found.values())


async def _homes(ids: list[int], building: Building | None) -> dict[int, Building]:
    """The building each resident is reached in: ``building``, else their first one."""
    if building is not None:
        return dict.fromkeys(ids, building)
    rows = (
        await Unit.filter(residents__id__in=ids)
        .order_by("id")
        .values("building_id", person="residents__id")
    )
    buildings = {b.id: b for b in await Building.filter(id__in={r["building_id"] for r in rows})}
    homes: dict[int, Building] = {}
    for row in rows:
        homes.setdefault(row["person"], buildings[row["building_id"]])
    return homes


def _clean(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))
