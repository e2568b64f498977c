"""The directory as an operator lists it: staff with their contacts and scope, buildings
with their flats and residents."""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.models import Building, Contact, ContactKind, Person, Role, Unit


@dataclass(frozen=True)
class StaffLine:
    """One member of staff."""

    name: str
    role: str
    active: bool
    email: list[str]
    phone: list[str]
    chat_linked: bool
    """A chat account is linked (by the directory or an invite)."""
    buildings: list[str]
    """The codes of the buildings they serve."""
    trades: list[str]


@dataclass(frozen=True)
class BuildingLine:
    """One building."""

    code: str
    name: str
    timezone: str
    language: str
    phone: str | None
    units: int
    residents: int


async def staff_lines() -> list[StaffLine]:
    """Every member of staff (not residents), by role and name."""
    people = (
        await Person.filter(role__not=Role.RESIDENT)
        .order_by("role", "name")
        .prefetch_related("buildings")
    )
    contacts_of: dict[int, list[Contact]] = {}
    for contact in await Contact.filter(person_id__in=[p.id for p in people]).order_by("id"):
        contacts_of.setdefault(contact.person_id, []).append(contact)  # type: ignore[attr-defined]
    lines = []
    for person in people:
        contacts = contacts_of.get(person.id, [])
        codes = sorted(b.code for b in person.buildings)
        lines.append(
            StaffLine(
                name=person.name,
                role=str(person.role),
                active=person.active,
                email=[c.value for c in contacts if c.kind == ContactKind.EMAIL],
                phone=[c.value for c in contacts if c.kind == ContactKind.PHONE],
                chat_linked=any(c.kind == ContactKind.CHAT for c in contacts),
                buildings=codes,
                trades=list(person.trades),
            )
        )
    return lines


async def building_lines() -> list[BuildingLine]:
    """Every building by code, with how many flats and registered residents it has."""
    lines = []
    for building in await Building.all().order_by("code"):
        residents = (
            await Person.filter(role=Role.RESIDENT, units__building_id=building.id)
            .distinct()
            .count()
        )
        lines.append(
            BuildingLine(
                code=building.code,
                name=building.name,
                timezone=building.timezone,
                language=building.language,
                phone=building.phone,
                units=await Unit.filter(building_id=building.id).count(),
                residents=residents,
            )
        )
    return lines
