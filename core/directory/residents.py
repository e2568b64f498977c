"""Residents who register themselves through the building bot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from core.directory.lookup import building_by_code, person_by_contact
from core.directory.verification import claim_flat
from core.errors import NotFound
from core.storage.models import Building, Contact, ContactKind, Person, Role, Unit


@dataclass(frozen=True)
class Residence:
    """One flat a resident is registered to."""

    building_code: str
    building_name: str
    unit: str


_FLAT_WORDS = re.compile(
    r"^(?:квартира|кв\.?|apartment|apt\.?|flat|mieszkanie|m\.|leilighet|leil\.|#|№)\s*",
    re.IGNORECASE,
)
_FLAT_SUFFIX = re.compile(r"\s*(?:号|室|号房)$")


def flat_number(text: str) -> str:
    """The flat number in what a resident wrote: "flat 31", "кв. 45", "mieszkanie 7",
    "leilighet 4", "4号", "#31" all give the bare number."""
    number = " ".join(text.split())
    number = _FLAT_SUFFIX.sub("", _FLAT_WORDS.sub("", number)).strip()
    return number.rstrip(".") or text.strip()


async def resident_by_chat(chat_id: int | str) -> Person | None:
    """The person behind a chat account, if registered."""
    return await person_by_contact(ContactKind.CHAT, str(chat_id))


async def register_resident(
    chat_id: int | str,
    name: str,
    building_code: str,
    unit_number: str,
    language: str | None = None,
    *,
    claimed_at: datetime | None = None,
) -> tuple[Person, Unit]:
    """Register a chat user to a flat; registering again to another flat adds it.

    ``claimed_at``: the person named the flat themselves (through the bot) at this moment,
    so a new residency waits to be verified (see ``core.directory.verification``).
    """
    building = await building_by_code(building_code)
    number = flat_number(unit_number)
    unit = await Unit.get_or_none(building=building, number=number)
    if unit is None:
        raise NotFound(f"{building.name} has no flat {number!r}")
    async with in_transaction():
        person = await resident_by_chat(chat_id)
        if person is None:
            person = await Person.create(
                name=name.strip() or f"Resident {chat_id}",
                role=Role.RESIDENT,
                language=language,
            )
            await Contact.create(person=person, kind=ContactKind.CHAT, value=str(chat_id))
        if not await person.units.filter(id=unit.id).exists():
            await person.units.add(unit)
            if claimed_at is not None:
                await claim_flat(person, unit, claimed_at)
    return person, unit


async def residences(person: Person) -> list[Residence]:
    """The flats a person is registered to, by building and number."""
    units = await person.units.all().select_related("building").order_by("building__code", "number")
    return [Residence(u.building.code, u.building.name, u.number) for u in units]


async def flats_in(person: Person, building: Building) -> list[Unit]:
    """The flats of ``building`` a person is registered to, by number."""
    return await person.units.filter(building_id=building.id).order_by("number")


async def set_language(person: Person, language: str) -> None:
    """Remember the language a person chose."""
    person.language = language
    await person.save(update_fields=["language"])


async def set_blocked(chat_id: int | str, blocked: bool) -> None:
    """Mark whether a chat blocked the bot (no more sends until unblocked)."""
    await Contact.filter(kind=ContactKind.CHAT, value=str(chat_id)).update(blocked=blocked)
