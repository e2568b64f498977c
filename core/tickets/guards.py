"""Whether a member of staff may still act on a ticket as it is now: its state, its assignee
and the person's scope. A refusal says why, in the reader's language (``DomainError.text``);
the service calls these before it changes anything, so a refused action writes nothing."""

from __future__ import annotations

from core.actors import Actor
from core.errors import AccessDenied, ConflictError, Msgid
from core.i18n import N_
from core.storage.models import EventType, Person, Status, Ticket, TicketEvent
from core.tickets.access import SEES_ALL, can_see, require_staff
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


def staff_of(actor: Actor) -> Person:
    """The member of staff acting; refused for anyone else."""
    if actor.person is None:
        raise AccessDenied("only a member of staff can do this")
    require_staff(actor.person)
    return actor.person


def from_requester(actor: Actor, ticket: Ticket) -> bool:
    """True when the ticket's own requester acts."""
    return actor.person is not None and actor.person.id == ticket.requester_id  # type: ignore[attr-defined]


def require_coordinator(actor: Actor) -> None:
    """Corrections are for managers, dispatchers, admins and the operator (no person)."""
    person = actor.person
    if person is not None and not coordinates(person):
        raise AccessDenied(
            f"{person.role.value} may not change or merge tickets",
            message=N_("Only managers and dispatchers can change or merge requests."),
        )


async def check_staff_reply(staff: Person, ticket: Ticket, public: bool) -> None:
    """A note needs the ticket in the writer's scope; a technician's word to the resident
    needs the work not to be a colleague's (a reply to an old card after reassignment is
    refused)."""
    await require_scope(staff, ticket)
    if public and not coordinates(staff) and ticket.assignee is not None:
        require_assignee(staff, ticket)


async def check_status_change(actor: Actor, ticket: Ticket, status: Status) -> None:
    """Staff change the status of tickets in their scope (unfinished ones, except to close or
    reopen; technicians their own work); a resident only reopens their own request."""
    person = actor.person
    if person is None:
        return
    if person.is_staff:
        await require_scope(person, ticket)
        if status not in (Status.CLOSED, Status.REOPENED):
            require_unfinished(ticket)
        if not coordinates(person):
            require_assignee(person, ticket)
    elif person.id != ticket.requester_id or status != Status.REOPENED:  # type: ignore[attr-defined]
        raise AccessDenied("a resident may only reopen their own request")
