"""Load or update the directory (``housedesk import FILE.toml``), in batches.

Rows are matched by their natural keys (building and category code, staff email, chat
id or name, roster name, chat id), so importing the same file twice changes nothing.

Every building and flat the file refers to is checked before anything is written, so a
file with a wrong reference changes nothing. Then the rows are written :data:`BATCH` at a
time, each batch in a transaction of its own, so a directory of thousands of residents
never holds the database (and everything waiting on it) for long. A row that fails later
(a contact that belongs to someone else) stops the import there: the batches before it
stay, and importing the corrected file again completes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from core.directory.file import (
    BuildingRow,
    DirectoryFile,
    ResidentRow,
    StaffRow,
    expand_units,
)
from core.directory.lookup import CODE_CACHE, normalize_contact
from core.errors import InvalidInput
from core.storage.models import (
    Absence,
    Building,
    Category,
    Contact,
    ContactKind,
    DutyRoster,
    Person,
    Role,
    StaffChat,
    Ticket,
    Unit,
)

T = TypeVar("T")


class ImportReport(Counter[str]):
    """Counts of ``created``, ``updated`` and ``unchanged`` rows."""

    def summary(self) -> str:
        """One line for people."""
        return ", ".join(f"{self[k]} {k}" for k in ("created", "updated", "unchanged"))


BATCH = 200
"""Staff or residents written per transaction."""


async def import_directory(directory: DirectoryFile, source: str) -> ImportReport:
    """Apply a validated directory; ``source`` (the file's name) starts every error message."""
    report = ImportReport()
    CODE_CACHE.clear()
    try:
        await _check_references(directory, source)
        async with in_transaction():
            for row in directory.categories:
                values = row.model_dump(exclude={"code"})
                await _upsert(report, Category, {"code": row.code}, values)
            for building_row in directory.buildings:
                await _building(report, building_row)
        for staff_batch in _batches(directory.staff):
            async with in_transaction():
                for staff in staff_batch:
                    await _staff(report, staff, source)
        for resident_batch in _batches(directory.residents):
            async with in_transaction():
                for resident in resident_batch:
                    await _resident(report, resident, source)
        async with in_transaction():
            await _rosters_and_chats(report, directory, source)
    finally:
        CODE_CACHE.clear()
    return report


def _batches(rows: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


async def _check_references(directory: DirectoryFile, source: str) -> None:
    """Refuse the file before writing anything when it names a building or a flat that is
    neither in it nor in the database."""
    units = {row.code.lower(): set(expand_units(row.units)) for row in directory.buildings}
    named = {r.building for r in directory.residents}
    named |= {b for r in directory.staff if r.buildings != ["*"] for b in r.buildings}
    named |= {r.building for r in directory.duty_rosters if r.building}
    named |= {c.building for c in directory.staff_chats if c.building}
    stored = {b.id: b.code.lower() for b in await Building.all()}
    for code in stored.values():
        units.setdefault(code, set())
    for code in sorted(named):
        if code.lower() not in units:
            raise InvalidInput(f"{source}: unknown building {code!r}")
    wanted = {r.building.lower() for r in directory.residents}
    ids = [i for i, code in stored.items() if code in wanted]
    for building_id, number in await Unit.filter(building_id__in=ids).values_list(
        "building_id", "number"
    ):
        units[stored[int(building_id)]].add(str(number))
    for row in directory.residents:
        for number in expand_units(row.units):
            if number not in units[row.building.lower()]:
                raise InvalidInput(
                    f"{source}: resident {row.name!r}: no unit {number!r} in {row.building}"
                )


async def _rosters_and_chats(report: ImportReport, directory: DirectoryFile, source: str) -> None:
    for roster in directory.duty_rosters:
        members = [(await _staff_by_key(m, source)).id for m in roster.members]
        building = await _building_ref(roster.building, source) if roster.building else None
        await _upsert(
            report,
            DutyRoster,
            {"name": roster.name},
            {
                "building_id": building.id if building else None,
                "member_ids": members,
                "escalate_after_minutes": roster.escalate_after_minutes,
            },
        )
    for chat in directory.staff_chats:
        building = await _building_ref(chat.building, source) if chat.building else None
        await _upsert(
            report,
            StaffChat,
            {"chat_id": chat.chat_id},
            {
                "title": chat.title,
                "building_id": building.id if building else None,
                "trade": chat.trade,
            },
        )


async def _upsert(
    report: ImportReport, model: type[Model], keys: dict[str, Any], values: dict[str, Any]
) -> Any:
    obj = await model.get_or_none(**keys)
    if obj is None:
        report["created"] += 1
        return await model.create(**keys, **values)
    changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
    if changed:
        obj.update_from_dict(changed)
        await obj.save(update_fields=list(changed))
        report["updated"] += 1
    else:
        report["unchanged"] += 1
    return obj


async def _building(report: ImportReport, row: BuildingRow) -> None:
    values = row.model_dump(exclude={"code", "units", "entrances", "floors", "holidays"})
    values["holidays"] = [d.isoformat() for d in row.holidays]
    before = await Building.get_or_none(code=row.code)
    building: Building = await _upsert(report, Building, {"code": row.code}, values)
    if before is not None and _calendar(before) != _calendar(building):
        # reminders and nudges follow the new hours: the next round looks at each ticket
        await Ticket.filter(building=building, next_check_at__not_isnull=True).update(
            next_check_at=F("created_at")
        )
    placement = row.placement()
    existing = {u.number: u for u in await Unit.filter(building=building)}
    new = [n for n in expand_units(row.units) if n not in existing]
    await Unit.bulk_create(
        [
            Unit(building=building, number=n, entrance=placement[n][0], floor=placement[n][1])
            for n in new
        ]
    )
    for number, unit in existing.items():  # a flat's entrance and floor follow the file
        if number in placement and (unit.entrance, unit.floor) != placement[number]:
            unit.entrance, unit.floor = placement[number]
            await unit.save(update_fields=["entrance", "floor"])


def _calendar(building: Building) -> tuple[Any, ...]:
    return (building.timezone, building.hours, building.holidays)


async def _building_ref(code: str, source: str) -> Building:
    building = await Building.get_or_none(code__iexact=code)
    if building is None:
        raise InvalidInput(f"{source}: unknown building {code!r}")
    return building


async def _staff_by_key(key: str, source: str) -> Person:
    contact = await Contact.get_or_none(
        kind=ContactKind.EMAIL, value=key.strip().lower()
    ).select_related("person")
    if contact is not None:
        return contact.person
    people = await Person.filter(name=key.strip()).exclude(role=Role.RESIDENT)
    if len(people) != 1:
        raise InvalidInput(f"{source}: duty roster member {key!r} is not one known staff member")
    return people[0]


async def _find_person(
    chat_id: int | None, email: str | None, phone: str | None, name: str, role: Role | None
) -> Person | None:
    for kind, value in (
        (ContactKind.CHAT, str(chat_id) if chat_id else None),
        (ContactKind.EMAIL, email),
        (ContactKind.PHONE, phone),
    ):
        if value:
            contact = await Contact.get_or_none(
                kind=kind, value=normalize_contact(kind, value)
            ).select_related("person")
            if contact is not None:
                return contact.person
    if role is not None:
        return await Person.filter(name=name, role=role).first()
    return None


async def _contacts(
    person: Person, chat_id: int | None, email: str | None, phone: str | None
) -> None:
    for kind, value in (
        (ContactKind.CHAT, str(chat_id) if chat_id else None),
        (ContactKind.EMAIL, email),
        (ContactKind.PHONE, phone),
    ):
        if not value:
            continue
        normalized = normalize_contact(kind, value)
        owner = await Contact.get_or_none(kind=kind, value=normalized)
        if owner is None:
            await Contact.create(person=person, kind=kind, value=normalized)
        elif owner.person_id != person.id:  # type: ignore[attr-defined]
            raise InvalidInput(f"{kind.value} {value!r} already belongs to someone else")


async def _person(
    report: ImportReport,
    person: Person | None,
    values: dict[str, Any],
    row: StaffRow | ResidentRow,
    where: str,
    **new: Any,
) -> Person:
    """Create the row's person (with ``new`` too) or update the one found, and give them
    the row's contacts; ``where`` names the row in an error."""
    if person is None:
        person = await Person.create(**new, **values)
        report["created"] += 1
    else:
        person = await _upsert(report, Person, {"id": person.id}, values)
    try:
        await _contacts(person, row.chat_id, row.email, row.phone)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    return person


async def _staff(report: ImportReport, row: StaffRow, source: str) -> None:
    person = await _find_person(row.chat_id, row.email, row.phone, row.name, row.role)
    values: dict[str, Any] = {
        "name": row.name,
        "role": row.role,
        "language": row.language,
        "trades": row.trades,
        "work_hours": row.work_hours,
    }
    person = await _person(report, person, values, row, f"{source}: staff {row.name!r}")
    if row.buildings == ["*"]:
        wanted = await Building.all()
    else:
        wanted = [await _building_ref(code, source) for code in row.buildings]
    current = {b.id for b in await person.buildings.all()}
    if current != {b.id for b in wanted}:
        await person.buildings.clear()
        if wanted:
            await person.buildings.add(*wanted)
    existing = {(a.kind, a.starts, a.ends) for a in await Absence.filter(person=person)}
    for absence in row.absences:
        if (absence.kind, absence.starts, absence.ends) not in existing:
            await Absence.create(person=person, **absence.model_dump())


async def _resident(report: ImportReport, row: ResidentRow, source: str) -> None:
    person = await _find_person(row.chat_id, row.email, row.phone, row.name, None)
    values: dict[str, Any] = {"name": row.name, "language": row.language}
    where = f"{source}: resident {row.name!r}"
    person = await _person(report, person, values, row, where, role=Role.RESIDENT)
    building = await _building_ref(row.building, source)
    for number in expand_units(row.units):
        unit = await Unit.get_or_none(building=building, number=number)
        if unit is None:
            raise InvalidInput(
                f"{source}: resident {row.name!r}: no unit {number!r} in {row.building}"
            )
        if not await person.units.filter(id=unit.id).exists():
            await person.units.add(unit)
