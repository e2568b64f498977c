"""The directory rows a ticket change looks up: buildings, flats, the requester behind a
contact and their contacts, and who coordinates a building's tickets."""

from __future__ import annotations

from core.directory.lookup import building_by_code, normalize_contact, person_by_contact
from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.messaging.staff_messages import dispatchers_of, managers_of
from core.storage.fit import clipped
from core.storage.models import Building, Contact, Person, Role, Ticket, Unit
from core.storage.rawsql import fetch
from core.storage.rows import from_row
from core.tickets.commands import RequesterHint

_UNIT = 'SELECT * FROM "unit" WHERE "building_id" = :building AND "number" = :number'
_BUILDINGS_OF_RESIDENT = (
    'SELECT * FROM "building" WHERE "id" IN (SELECT "unit"."building_id" FROM "unit"'
    ' JOIN "residency" ON "residency"."unit_id" = "unit"."id"'
    ' WHERE "residency"."person_id" = :person)'
)


async def building_by_key(key: str | int) -> Building:
    """A building by its code, or by its id."""
    if isinstance(key, str):
        return await building_by_code(key)
    found = await Building.get_or_none(id=key)
    if found is None:
        raise NotFound(f"no building with id {key}")
    return found


async def unit_in(building: Building | None, number: str) -> Unit:
    """The flat ``number`` of ``building``; refused without a building or such a flat."""
    if building is None:
        raise InvalidInput(
            "a unit needs a building", message=N_("Please set the building before the flat.")
        )
    rows = await fetch(_UNIT, building=building.id, number=number.strip())
    if not rows:
        raise NotFound(
            f"building {building.code} has no unit {number!r}",
            message=N_("{building} has no flat {unit}."),
            building=building.name,
            unit=number.strip(),
        )
    return from_row(Unit, rows[0])


async def same_unit(building: Building, number: str) -> str | None:
    """``number`` if ``building`` has a flat of that number."""
    rows = await fetch(_UNIT, building=building.id, number=number)
    return number if rows else None


async def only_building_of(person_id: int) -> Building | None:
    """The building a resident lives in, if they live in exactly one."""
    rows = await fetch(_BUILDINGS_OF_RESIDENT, person=person_id)
    if len(rows) != 1:
        return None
    return from_row(Building, rows[0])


async def person_for_hint(hint: RequesterHint) -> tuple[Person, list[Contact] | None, bool]:
    """The person a contact belongs to (their contacts not read), else a new resident with
    just that contact; True when they were known."""
    value = normalize_contact(hint.kind, hint.value)
    known = await person_by_contact(hint.kind, value)
    if known is not None:
        return known, None, True
    name = clipped(Person, "name", hint.name.strip() or value)
    person = await Person.create(name=name, role=Role.RESIDENT)
    contact = await Contact.create(person=person, kind=hint.kind, value=value)
    return person, [contact], False


async def contacts_of(person: Person | None) -> list[Contact]:
    """A person's contacts, oldest first (none for no person)."""
    if person is None:
        return []
    return await Contact.filter(person=person).order_by("id")


async def coordinators_of(ticket: Ticket) -> list[Person]:
    """The managers and dispatchers of the ticket's building, each once."""
    building_id = ticket.building_id  # type: ignore[attr-defined]
    people = [*await managers_of(building_id), *await dispatchers_of(building_id)]
    return list({p.id: p for p in people}.values())
