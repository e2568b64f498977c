"""Whether a resident who registered through the bot really lives in the flat they named.

Anyone who reads the building code from the poster can name any flat, so such a residency
starts unverified (``ResidencyClaim``). It is verified by the phone number the resident
shares from their chat app when the directory lists that number for the flat, or by a
dispatcher of the building, who approves or rejects it from the staff bot. Residencies the
directory made need no check. Unverified residents may still report; their tickets say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from core.directory.lookup import contact_of
from core.errors import AccessDenied, InvalidInput, NotFound
from core.i18n import N_, gettext
from core.messaging.message import Action, OutgoingMessage, Verb
from core.messaging.outbox import enqueue_once
from core.messaging.routes import Route
from core.messaging.staff_messages import dispatchers_of, message_staff
from core.storage.models import (
    ClaimStatus,
    Contact,
    ContactKind,
    Person,
    ResidencyClaim,
    Role,
    Unit,
)
from core.storage.rawsql import fetch

_NOT_DIGITS = re.compile(r"\D")
PHONE_DIGITS_COMPARED = 9
"""Numbers match on their last digits, so "+7 912 …" and "8 912 …" are the same phone."""


@dataclass(frozen=True)
class Decision:
    """A dispatcher's answer on a claim, as the staff bot tells it back."""

    claim: ResidencyClaim
    approved: bool


def phone_key(phone: str) -> str:
    """The digits a phone number is compared by."""
    return _NOT_DIGITS.sub("", phone)[-PHONE_DIGITS_COMPARED:]


async def claim_flat(person: Person, unit: Unit, now: datetime) -> ResidencyClaim:
    """Note that ``person`` registered themselves to ``unit`` (a rejected claim starts over)."""
    claim, created = await ResidencyClaim.get_or_create(
        person=person, unit=unit, defaults={"created_at": now}
    )
    if not created and claim.status == ClaimStatus.REJECTED:
        claim.status, claim.method, claim.decided_at = ClaimStatus.UNVERIFIED, "", None
        await claim.save(update_fields=["status", "method", "decided_at"])
    return claim


_OPEN_CLAIMS = 'FROM "residency_claim" WHERE "person_id" = :person AND "status" <> :verified'
_OPEN_CLAIM = f"SELECT 1 {_OPEN_CLAIMS}"


async def registration_verified(person: Person, unit: Unit | None) -> bool:
    """True unless ``person`` registered themselves to ``unit`` and nobody verified it yet
    (with no flat: unless one of their registrations is unverified)."""
    verified = ClaimStatus.VERIFIED.value
    if unit is None:
        rows = await fetch(f"{_OPEN_CLAIM} LIMIT 1", person=person.id, verified=verified)
    else:
        query = f'{_OPEN_CLAIM} AND "unit_id" = :unit LIMIT 1'
        rows = await fetch(query, person=person.id, verified=verified, unit=unit.id)
    return not rows


async def unverified_flats(person_id: int) -> set[int]:
    """The flats (ids) a person registered themselves to that nobody verified yet: what
    :func:`registration_verified` asks, for every flat at once. One plain query: every new
    ticket of a known resident asks it, together with its other reads."""
    verified = ClaimStatus.VERIFIED.value
    rows = await fetch(f'SELECT "unit_id" {_OPEN_CLAIMS}', person=person_id, verified=verified)
    return {row["unit_id"] for row in rows}


async def unverified_claims(person: Person) -> list[ResidencyClaim]:
    """The person's claims nobody verified yet, with their flats and buildings."""
    return (
        await ResidencyClaim.filter(
            person=person, status__in=[ClaimStatus.UNVERIFIED, ClaimStatus.PENDING]
        )
        .select_related("unit__building")
        .order_by("id")
    )


async def verify_by_phone(person: Person, phone: str, now: datetime) -> list[ResidencyClaim]:
    """Verify the person's claims whose flat the directory lists ``phone`` for; return them."""
    key = phone_key(phone)
    if not key:
        return []
    verified = []
    for claim in await unverified_claims(person):
        listed = await Contact.filter(
            kind=ContactKind.PHONE,
            person__role=Role.RESIDENT,
            person__units__id=claim.unit.id,
        ).exclude(person=person)
        if any(phone_key(c.value) == key for c in listed):
            await _decide(claim, ClaimStatus.VERIFIED, "phone", None, now)
            verified.append(claim)
    return verified


async def ask_dispatchers(person: Person, now: datetime) -> int:
    """Ask the dispatchers of each unverified flat's building to approve or reject it;
    return how many dispatchers were asked."""
    asked = 0
    for claim in await unverified_claims(person):
        if claim.status == ClaimStatus.UNVERIFIED:
            claim.status = ClaimStatus.PENDING
            await claim.save(update_fields=["status"])
        unit = claim.unit
        for dispatcher in await dispatchers_of(unit.building.id):
            language = dispatcher.language
            text = gettext(
                language,
                N_(
                    "{name} registered to {building}, flat {unit}, through the bot. "
                    "Do they live there?"
                ),
                name=person.name,
                building=unit.building.name,
                unit=unit.number,
            )
            actions = [
                (
                    Action(gettext(language, N_("✅ Approve")), Verb.APPROVE, claim.id),
                    Action(gettext(language, N_("❌ Reject")), Verb.REJECT, claim.id),
                )
            ]
            if await message_staff(
                dispatcher, text, key=f"claim:{claim.id}", now=now, actions=actions
            ):
                asked += 1
    return asked


async def decide(claim_id: int, dispatcher: Person, approve: bool, now: datetime) -> Decision:
    """A dispatcher of the flat's building approves or rejects a claim; the resident is
    told. A claim decided before is not decided again (``InvalidInput`` says how it was)."""
    async with in_transaction():
        claim = await ResidencyClaim.filter(id=claim_id).select_for_update().first()
        if claim is None:
            raise NotFound(f"no registration {claim_id}")
        await claim.fetch_related("unit__building", "person")
        serves = await dispatcher.buildings.filter(id=claim.unit.building.id).exists()
        if dispatcher.role not in (Role.DISPATCHER, Role.MANAGER) or not serves:
            raise AccessDenied(
                "only a dispatcher of the building decides a registration",
                message=N_("Only a dispatcher of the building can decide this."),
            )
        if claim.status in (ClaimStatus.VERIFIED, ClaimStatus.REJECTED):
            raise InvalidInput(
                f"registration {claim_id} is already {claim.status.value}",
                message=N_("This registration was already decided."),
            )
        status = ClaimStatus.VERIFIED if approve else ClaimStatus.REJECTED
        await _decide(claim, status, "dispatcher", dispatcher, now)
        if not approve:
            await claim.person.units.remove(claim.unit)
        await _tell_resident(claim, approve, now)
    return Decision(claim, approve)


async def _decide(
    claim: ResidencyClaim,
    status: ClaimStatus,
    method: str,
    by: Person | None,
    now: datetime,
) -> None:
    claim.status, claim.method, claim.decided_by, claim.decided_at = status, method, by, now
    await claim.save(update_fields=["status", "method", "decided_by_id", "decided_at"])


async def _tell_resident(claim: ResidencyClaim, approved: bool, now: datetime) -> None:
    person, unit = claim.person, claim.unit
    chat = await contact_of(person, ContactKind.CHAT)
    if chat is None or chat.blocked:
        return
    text = gettext(
        person.language,
        N_("Your registration to {building}, flat {unit}, is confirmed. Thank you!")
        if approved
        else N_(
            "We could not confirm that you live in {building}, flat {unit}, so the "
            "registration was removed. If this is a mistake, please call the building office."
        ),
        building=unit.building.name,
        unit=unit.number,
    )
    await enqueue_once(
        route=Route.RESIDENT_CHAT,
        recipient=chat.value,
        message=OutgoingMessage(text),
        key=f"claim:{claim.id}:{claim.status.value}",
        now=now,
    )
