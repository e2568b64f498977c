"""Small builders for directory rows used across core tests."""

from __future__ import annotations

import itertools

from core.storage.models import Building, Category, Contact, ContactKind, Person, Role, Unit

_seq = itertools.count(1)


async def building(code: str = "OAK", language: str = "en", units: int = 5) -> Building:
    """A building with ``units`` flats numbered from 1."""
    b = await Building.create(code=code, name=f"{code} House", language=language)
    for n in range(1, units + 1):
        await Unit.create(building=b, number=str(n))
    return b


async def category(code: str = "technical", **values: object) -> Category:
    """A category with sensible deadlines."""
    defaults: dict[str, object] = {
        "names": {"en": code.title(), "ru": code},
        "priority": 3,
        "response_minutes": 60,
        "resolution_minutes": 24 * 60,
    }
    defaults.update(values)
    return await Category.create(code=code, **defaults)


async def person(
    name: str | None = None,
    role: Role = Role.RESIDENT,
    *,
    telegram: str | None = None,
    email: str | None = None,
    buildings: list[Building] | None = None,
    language: str | None = None,
) -> Person:
    """A person with optional contacts and served buildings."""
    p = await Person.create(name=name or f"Person {next(_seq)}", role=role, language=language)
    if telegram:
        await Contact.create(person=p, kind=ContactKind.CHAT, value=telegram)
    if email:
        await Contact.create(person=p, kind=ContactKind.EMAIL, value=email.lower())
    if buildings:
        await p.buildings.add(*buildings)
    return p
