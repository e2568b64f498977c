"""Residents' registrations a dispatcher may decide: the flats people named through the bot
that nobody confirmed yet, in the buildings the dispatcher serves."""

from __future__ import annotations

from core.storage.models import ClaimStatus, Person, ResidencyClaim, Role

DECIDERS = frozenset({Role.DISPATCHER, Role.MANAGER})
"""Who decides registrations (see :func:`core.directory.verification.decide`)."""


async def waiting_claims(person: Person, limit: int = 200) -> list[ResidencyClaim]:
    """Undecided registrations in the buildings ``person`` serves, oldest first (none for
    someone who may not decide them)."""
    if person.role not in DECIDERS:
        return []
    buildings = await person.buildings.all().values_list("id", flat=True)
    return (
        await ResidencyClaim.filter(
            status__in=[ClaimStatus.UNVERIFIED, ClaimStatus.PENDING],
            unit__building_id__in=list(buildings),
        )
        .select_related("person", "unit__building")
        .order_by("created_at", "id")
        .limit(limit)
    )
