"""Whether a member of staff may still act on a ticket as it is now: its state, its assignee
and the person's scope. A refusal says why, in the reader's language (``DomainError.text``);
the service calls these before it changes anything, so a refused action writes nothing."""

from __future__ import annotations

from core.errors import AccessDenied, ConflictError, Msgid
from core.i18n import N_
from core.storage.models import EventType, Person, Status, Ticket, TicketEvent
from core.tickets.access import SEES_ALL, can_see
from core.tickets.workflow import STATUS_NAMES

FINISHED = frozenset({Status.DONE, Status.CLOSED, Status.REJECTED})
"""Statuses in which a card's buttons no longer apply."""


def require_unfinished(ticket: Ticket) -> None:
    """Refuse work on a ticket that is done, closed or rejected: "#12 is already done"."""
    if ticket.status in FINISHED:
        raise ConflictError(
            f"{ticket.ref} is already {ticket.status.value}",
            message=N_("{ref} is already {status}."),
            ref=ticket.ref,
            status=Msgid(STATUS_NAMES[ticket.status]),
        )


def require_assignee(staff: Person, ticket: Ticket) -> None:
    """Refuse unless ``staff`` is the ticket's assignee now."""
    if ticket.assignee is None:
        raise AccessDenied(
            f"{ticket.ref} is not assigned to you",
            message=N_("{ref} is not assigned to you any more; it waits for a new assignee."),
            ref=ticket.ref,
        )
    if ticket.assignee.id != staff.id:
        raise AccessDenied(
            f"{ticket.ref} is not assigned to you",
            message=N_("{ref} is now assigned to someone else."),
            ref=ticket.ref,
        )


def coordinates(staff: Person) -> bool:
    """True for managers, dispatchers and admins, who act on any ticket."""
    return staff.role in SEES_ALL


async def require_scope(staff: Person, ticket: Ticket) -> None:
    """Refuse unless the ticket is in ``staff``'s buildings or assigned to them."""
    if not await can_see(staff, ticket):
        raise AccessDenied(
            f"{staff.name} may not see ticket {ticket.ref}",
            message=N_("{ref} is not in your buildings."),
            ref=ticket.ref,
        )


async def require_not_declined(staff: Person, ticket: Ticket) -> None:
    """Refuse to accept work ``staff`` gave back, unless it was assigned again since."""
    last = (
        await TicketEvent.filter(ticket_id=ticket.id, type=EventType.ASSIGNED)
        .order_by("-id")
        .first()
    )
    if last is not None and last.data.get("declined") and last.data.get("from_id") == staff.id:
        raise ConflictError(
            f"{ticket.ref} was declined by {staff.name}",
            message=N_("You declined {ref}; it waits for a new assignee."),
            ref=ticket.ref,
        )
