"""Look-ups in the directory: people by contact, staff by any identifier."""

from __future__ import annotations

import re
import time

from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.storage.models import Building, Category, Contact, ContactKind, Person, Role
from core.storage.rawsql import fetch
from core.storage.rows import from_row

_NON_DIGITS = re.compile(r"[^\d+]")


def normalize_contact(kind: ContactKind, value: str) -> str:
    """Canonical form of a contact value, so look-ups match however it was typed."""
    value = value.strip()
    if kind == ContactKind.EMAIL:
        return value.lower()
    if kind == ContactKind.PHONE:
        digits = _NON_DIGITS.sub("", value)
        return digits[:1] + digits[1:].replace("+", "")
    return value


def guess_contact_kind(value: str) -> ContactKind:
    """Tell an email address from a phone number."""
    if "@" in value:
        return ContactKind.EMAIL
    if _NON_DIGITS.sub("", value).lstrip("+").isdigit():
        return ContactKind.PHONE
    raise InvalidInput(f"not an email address or phone number: {value!r}")


async def person_by_contact(kind: ContactKind, value: str) -> Person | None:
    """The person who owns this contact, if any (one plain query: every channel asks this)."""
    rows = await fetch(
        'SELECT "person".* FROM "person" JOIN "contact" ON "contact"."person_id" = "person"."id"'
        ' WHERE "contact"."kind" = :kind AND "contact"."value" = :value',
        kind=kind.value,
        value=normalize_contact(kind, value),
    )
    return from_row(Person, rows[0]) if rows else None


async def find_staff(identifier: str) -> Person:
    """Find a member of staff by name, email, phone or Telegram id."""
    ident = identifier.strip()
    if not ident:
        raise InvalidInput("no staff member given", message=N_("Please name a member of staff."))
    candidates: list[Person] = []
    for kind in (ContactKind.CHAT, ContactKind.EMAIL, ContactKind.PHONE):
        person = await person_by_contact(kind, ident)
        if person is not None:
            candidates.append(person)
    if not candidates:
        candidates = await Person.filter(name__iexact=ident).exclude(role=Role.RESIDENT)
    staff = [p for p in candidates if p.is_staff]
    if not staff:
        raise NotFound(
            f"no staff member matches {identifier!r}",
            message=N_('No member of staff matches "{who}".'),
            who=identifier,
        )
    if len({p.id for p in staff}) > 1:
        raise InvalidInput(
            f"{identifier!r} matches several staff members; use email or phone",
            message=N_('"{who}" matches several members of staff; use an email or a phone number.'),
            who=identifier,
        )
    return staff[0]


class _CodeCache:
    """Buildings and categories by code (and the list of categories, and the desk's lists
    of buildings, staff and categories to filter by), re-read at most every ``ttl`` seconds.

    They change only on a directory import, which clears the cache of its own process;
    other processes see the change within ``ttl`` seconds.
    """

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, str], tuple[float, object]] = {}

    def get(self, kind: str, code: str) -> object | None:
        entry = self._entries.get((kind, code))
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, kind: str, code: str, value: object) -> None:
        self._entries[(kind, code)] = (time.monotonic(), value)

    def clear(self) -> None:
        self._entries.clear()


CODE_CACHE = _CodeCache()


async def building_by_code(code: str) -> Building:
    """The building with this code (case-insensitive)."""
    key = code.strip().lower()
    cached = CODE_CACHE.get("building", key)
    if isinstance(cached, Building):
        return cached
    building = await Building.get_or_none(code__iexact=key)
    if building is None:
        raise NotFound(
            f"unknown building {code!r}", message=N_("There is no building {code}."), code=code
        )
    CODE_CACHE.put("building", key, building)
    return building


async def category_by_code(code: str) -> Category:
    """The category with this code (case-insensitive)."""
    key = code.strip().lower()
    cached = CODE_CACHE.get("category", key)
    if isinstance(cached, Category):
        return cached
    category = await Category.get_or_none(code__iexact=key)
    if category is None:
        codes = await Category.all().order_by("code").values_list("code", flat=True)
        known = ", ".join(str(c) for c in codes)
        raise NotFound(
            f"unknown category {code!r} (known: {known or 'none'})",
            message=N_("There is no category {code}; the categories are: {known}."),
            code=code,
            known=known or "—",
        )
    CODE_CACHE.put("category", key, category)
    return category


_CONTACT_COLUMNS = ("id", "person_id", "kind", "value", "blocked")
_PERSON_AND_CONTACTS = (
    'SELECT "person".*, '
    + ", ".join(f'"contact"."{c}" AS "contact__{c}"' for c in _CONTACT_COLUMNS)
    + ' FROM "person" LEFT JOIN "contact" ON "contact"."person_id" = "person"."id"'
    + ' WHERE "person"."id" = :person ORDER BY "contact"."id"'
)


async def all_categories() -> list[Category]:
    """Every category, by code (the classifier reads them for each new mail)."""
    cached = CODE_CACHE.get("categories", "*")
    if isinstance(cached, list):
        return list(cached)
    categories = await Category.all().order_by("code")
    CODE_CACHE.put("categories", "*", categories)
    return list(categories)


async def person_and_contacts(person_id: int) -> tuple[Person, list[Contact]] | None:
    """A person and their contacts in one plain query (the ticket-creation hot path)."""
    rows = await fetch(_PERSON_AND_CONTACTS, person=person_id)
    if not rows:
        return None
    person = {k: v for k, v in rows[0].items() if not k.startswith("contact__")}
    contacts = [
        from_row(Contact, {c: row[f"contact__{c}"] for c in _CONTACT_COLUMNS})
        for row in rows
        if row["contact__id"] is not None
    ]
    return from_row(Person, person), contacts


async def contact_of(person: Person, kind: ContactKind) -> Contact | None:
    """The person's first contact of a kind."""
    return await Contact.filter(person=person, kind=kind).order_by("id").first()


async def building_by_phone(number: str | None) -> Building | None:
    """The building whose residents' number this is (None: unknown, or one number for all)."""
    if not number:
        return None
    wanted = normalize_contact(ContactKind.PHONE, number)
    matches = [
        b
        for b in await Building.exclude(phone=None)
        if b.phone and normalize_contact(ContactKind.PHONE, b.phone) == wanted
    ]
    return matches[0] if len(matches) == 1 else None
