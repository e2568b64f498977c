"""Who may see and change which tickets. Channels ask here; they never decide themselves."""

from __future__ import annotations

from tortoise.expressions import Q

from core.errors import AccessDenied
from core.storage.models import Person, Role, Ticket

SEES_ALL = frozenset({Role.MANAGER, Role.ADMIN, Role.DISPATCHER})
"""Roles that see every building's tickets."""


async def visibility(person: Person) -> Q:
    """A filter selecting the tickets ``person`` may see."""
    if person.role in SEES_ALL:
        return Q()
    if person.role == Role.RESIDENT:
        return Q(requester_id=person.id)
    building_ids = await person.buildings.all().values_list("id", flat=True)
    return Q(building_id__in=list(building_ids)) | Q(assignee_id=person.id)


def visibility_sql(person: Person) -> tuple[str, dict[str, object]]:
    """:func:`visibility` as a condition on ``ticket``'s columns, for plain SQL (``:viewer``
    marks the person's id; "1 = 1" for those who see every ticket)."""
    if person.role in SEES_ALL:
        return "1 = 1", {}
    if person.role == Role.RESIDENT:
        return "requester_id = :viewer", {"viewer": person.id}
    return (
        "(building_id IN (SELECT building_id FROM staff_building WHERE person_id = :viewer)"
        " OR assignee_id = :viewer)",
        {"viewer": person.id},
    )


async def can_see(person: Person, ticket: Ticket) -> bool:
    """True when ``person`` may see ``ticket``."""
    return await Ticket.filter(await visibility(person), id=ticket.id).exists()


async def require_see(person: Person, ticket: Ticket) -> None:
    """Raise :class:`AccessDenied` unless ``person`` may see ``ticket``."""
    if not await can_see(person, ticket):
        raise AccessDenied(f"{person.name} may not see ticket {ticket.ref}")


def require_staff(person: Person) -> None:
    """Raise :class:`AccessDenied` for residents."""
    if not person.is_staff:
        raise AccessDenied("only staff may do this")


def require_role(person: Person, roles: frozenset[Role]) -> None:
    """Raise :class:`AccessDenied` unless the person has one of ``roles``."""
    if person.role not in roles:
        raise AccessDenied(f"{person.role.value} may not do this")
