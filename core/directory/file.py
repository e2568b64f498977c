"""The directory's schema (``housedesk import FILE.toml``), validated row by row.

Field names are channel-neutral (``chat_id``: an account on the chat platform); the file's
own key names, where they differ, are given by whoever reads the file (``file_keys``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from core.clock import known_timezone
from core.errors import InvalidInput
from core.storage.models import Role

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")
_HOURS = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Row(BaseModel):
    """A directory row: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


def expand_units(specs: list[str | int]) -> list[str]:
    """Expand ``["1-3", "12a"]`` to ``["1", "2", "3", "12a"]``, keeping order, no repeats."""
    units: list[str] = []
    for spec in specs:
        match = _RANGE.match(str(spec))
        if match:
            low, high = int(match[1]), int(match[2])
            if high < low or high - low > 10_000:
                raise ValueError(f"bad unit range {spec!r}")
            units.extend(str(n) for n in range(low, high + 1))
        elif str(spec).strip():
            units.append(str(spec).strip())
    return list(dict.fromkeys(units))


def _check_hours(value: dict[str, list[str]]) -> dict[str, list[str]]:
    for day, spans in value.items():
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
        for span in spans:
            if not _HOURS.match(span):
                raise ValueError(f"bad hours {span!r} on {day} (use HH:MM-HH:MM)")
    return value


class BuildingRow(Row):
    """``[[buildings]]``"""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1)
    address: str = ""
    timezone: str = "UTC"
    language: str = "en"
    phone: str | None = None
    duty_phone: str | None = None
    emergency_instructions: dict[str, str] = {}
    """By language; a plain string is the instructions in the building's ``language``."""
    zone: str | None = None
    units: list[str | int] = []
    entrances: dict[str, list[str | int]] = {}
    """Flats by the entrance they are reached by: ``{"1" = ["1-20"], "2" = ["21-40"]}``."""
    floors: dict[str, list[str | int]] = {}
    """Flats by floor: ``{"1" = ["1-4", "21-24"]}``."""
    hours: dict[str, list[str]] = {}
    holidays: list[date] = []

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)

    @field_validator("emergency_instructions", mode="before")
    @classmethod
    def _instructions_by_language(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            return {str(info.data.get("language") or "en"): value} if value.strip() else {}
        return value

    @field_validator("units")
    @classmethod
    def _units(cls, value: list[str | int]) -> list[str | int]:
        expand_units(value)
        return value

    @field_validator("entrances", "floors")
    @classmethod
    def _flats_of(
        cls, value: dict[str, list[str | int]], info: ValidationInfo
    ) -> dict[str, list[str | int]]:
        known = set(expand_units(info.data.get("units") or []))
        for name, specs in value.items():
            unknown = [n for n in expand_units(specs) if n not in known]
            if unknown:
                raise ValueError(
                    f"{info.field_name} {name!r} names flats not in units: {unknown[:5]}"
                )
        return value

    def placement(self) -> dict[str, tuple[str | None, str | None]]:
        """Each flat's entrance and floor, where the row says."""
        entrance = {n: name for name, specs in self.entrances.items() for n in expand_units(specs)}
        floor = {n: name for name, specs in self.floors.items() for n in expand_units(specs)}
        return {n: (entrance.get(n), floor.get(n)) for n in expand_units(self.units)}

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_hours(value)


class CategoryRow(Row):
    """``[[categories]]``"""

    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")
    names: dict[str, str] = {}
    priority: int = Field(3, ge=1, le=5)
    emergency: bool = False
    response_minutes: int | None = Field(None, ge=1)
    resolution_minutes: int | None = Field(None, ge=1)
    business_hours: bool = False
    trade: str | None = None


class AbsenceRow(Row):
    """An absence inside a ``[[staff]]`` row."""

    kind: str = "vacation"
    starts: date
    ends: date


class StaffRow(Row):
    """``[[staff]]``"""

    name: str = Field(min_length=1)
    role: Role = Role.TECHNICIAN
    chat_id: int | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    buildings: list[str] = []
    trades: list[str] = []
    work_hours: dict[str, list[str]] = {}
    absences: list[AbsenceRow] = []

    @field_validator("role")
    @classmethod
    def _not_resident(cls, value: Role) -> Role:
        if value == Role.RESIDENT:
            raise ValueError("staff cannot have the role resident (use [[residents]])")
        return value

    @field_validator("work_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return _check_hours(value)


class ResidentRow(Row):
    """``[[residents]]``"""

    name: str = Field(min_length=1)
    building: str
    units: list[str | int] = []
    chat_id: int | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None


class RosterRow(Row):
    """``[[duty_rosters]]``: members by staff name or email, in the order they are called."""

    name: str = Field(min_length=1)
    building: str | None = None
    members: list[str] = Field(min_length=1)
    escalate_after_minutes: int = Field(15, ge=1)


class StaffChatRow(Row):
    """``[[staff_chats]]``: a staff group chat for a building and/or a trade."""

    chat_id: int
    title: str = ""
    building: str | None = None
    trade: str | None = None


class DirectoryFile(BaseModel):
    """The whole file, validated."""

    buildings: list[BuildingRow] = []
    categories: list[CategoryRow] = []
    staff: list[StaffRow] = []
    residents: list[ResidentRow] = []
    duty_rosters: list[RosterRow] = []
    staff_chats: list[StaffChatRow] = []


ROW_TYPES: dict[str, type[Row]] = {
    "buildings": BuildingRow,
    "categories": CategoryRow,
    "staff": StaffRow,
    "residents": ResidentRow,
    "duty_rosters": RosterRow,
    "staff_chats": StaffChatRow,
}


def _table_lines(text: str, table: str) -> list[int]:
    pattern = re.compile(rf"^\s*\[\[\s*{re.escape(table)}\s*\]\]")
    return [n for n, line in enumerate(text.splitlines(), start=1) if pattern.match(line)]


_UNKNOWN = "\x00"
"""Stands for a key the file may not use (a field's name where the file spells it otherwise)."""

FileKeys = Mapping[str, Mapping[str, str]]
"""Per table, a field's key as the file spells it (``{"staff": {"chat_id": "..."}}``)."""


def _from_file(raw: Any, keys: Mapping[str, str]) -> Any:
    """A row with the file's keys renamed to field names; a field's own name is unknown."""
    if not keys or not isinstance(raw, dict):
        return raw
    fields = {key: field for field, key in keys.items()}
    return {fields.get(k, _UNKNOWN if k in keys else k): v for k, v in raw.items()}


def parse_directory(
    data: dict[str, Any], text: str, source: str, file_keys: FileKeys | None = None
) -> DirectoryFile:
    """Validate every row; the first bad one raises :class:`InvalidInput` with its line.

    ``file_keys`` renames a table's keys from the file's spelling to the field names, and
    error messages name the key as the file spells it.
    """
    unknown = sorted(set(data) - set(ROW_TYPES))
    if unknown:
        raise InvalidInput(f"{source}: unknown table [[{unknown[0]}]]")
    rows: dict[str, list[Row]] = {}
    for table, row_type in ROW_TYPES.items():
        raw_rows = data.get(table, [])
        if not isinstance(raw_rows, list):
            raise InvalidInput(f"{source}: {table} must be written as [[{table}]] tables")
        keys = (file_keys or {}).get(table, {})
        lines = _table_lines(text, table)
        rows[table] = []
        for index, raw in enumerate(raw_rows):
            where = f"line {lines[index]}" if index < len(lines) else f"row {index + 1}"
            try:
                rows[table].append(row_type.model_validate(_from_file(raw, keys)))
            except ValidationError as exc:
                first = exc.errors()[0]
                key = ".".join(_file_key(first["loc"], keys, raw)) or "row"
                raise InvalidInput(
                    f"{source}: {where}: [[{table}]] {key}: {first['msg']}"
                ) from None
    return DirectoryFile.model_validate({k: [r.model_dump() for r in v] for k, v in rows.items()})


def _file_key(loc: tuple[int | str, ...], keys: Mapping[str, str], raw: Any) -> list[str]:
    """An error's location with its first part spelled as in the file."""
    path = [str(p) for p in loc]
    if path and path[0] == _UNKNOWN:
        path[0] = next(k for k in raw if k in keys)
    elif path:
        path[0] = keys.get(path[0], path[0])
    return path
