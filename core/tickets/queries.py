"""Reading tickets: by reference, filtered lists, a ticket's timeline and files, and the
channel messages already taken in. :class:`~core.tickets.service.TicketService` is this
reading half plus the changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.actors import Actor
from core.directory.lookup import building_by_code
from core.errors import InvalidInput, NotFound
from core.i18n import N_
from core.messaging.message import Verb
from core.storage.models import Attachment, Channel, Person, Status, Ticket, TicketEvent
from core.storage.rawsql import fetch
from core.tickets.access import require_see, visibility
from core.tickets.commands import InboundRef
from core.tickets.guards import (
    coordinates,
    require_assignee,
    require_scope,
    require_unfinished,
    staff_of,
)

_TICKET_OF_MESSAGE = (
    'SELECT "ticket_id" FROM "message_ref" WHERE "channel" = :channel AND "external_id" = :id'
)
_CREATED_SINCE = (
    'SELECT COUNT(*) AS "n" FROM "ticket"'
    ' WHERE "requester_id" = :requester AND "channel" = :channel AND "created_at" >= :since'
)
RELATED = ("building", "unit", "category", "requester", "assignee")
TicketRef = str | int | Ticket
"""A reference (``#42``, ``42``), or the ticket as the caller read it with :meth:`get`."""


def parse_ref(ref: str | int) -> int:
    """Turn ``#42``, ``42`` or ``[#42]`` into the ticket number."""
    text = str(ref).strip().strip("[]").lstrip("#").strip()
    if not text.isdigit():
        raise InvalidInput(
            f"not a ticket reference: {ref!r} (expected something like #42)",
            message=N_('"{text}" is not a request number; write it like #42.'),
            text=str(ref),
        )
    return int(text)


@dataclass(frozen=True)
class TicketDetail:
    """A ticket with the timeline and attachments its viewer may see (``tickets show``)."""

    ticket: Ticket
    events: list[TicketEvent]
    attachments: list[Attachment]


class TicketQueries:
    """Reads tickets as their viewers may see them; changes nothing."""

    async def get(self, ref: str | int) -> Ticket:
        """The ticket with this reference, with its related rows fetched."""
        ticket = await Ticket.get_or_none(id=parse_ref(ref)).select_related(*RELATED)
        if ticket is None:
            raise NotFound(f"no ticket #{parse_ref(ref)}")
        return ticket

    async def load(self, ref: TicketRef) -> Ticket:
        """The copy a change is decided on: the caller's (read by :meth:`get`), else read."""
        return ref if isinstance(ref, Ticket) else await self.get(ref)

    async def get_for(self, ref: str | int, viewer: Person | None) -> Ticket:
        """Like :meth:`get`, but only if ``viewer`` (None: the operator) may see it."""
        ticket = await self.get(ref)
        if viewer is not None:
            await require_see(viewer, ticket)
        return ticket

    async def find(
        self,
        viewer: Person | None = None,
        *,
        statuses: Sequence[Status] = (),
        building: str | None = None,
        assignee: Person | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Ticket]:
        """Tickets newest first, filtered, limited to what ``viewer`` may see (``limit``
        of them after the first ``offset``)."""
        query = Ticket.filter(await visibility(viewer)) if viewer else Ticket.all()
        if statuses:
            query = query.filter(status__in=list(statuses))
        if building:
            query = query.filter(building=await building_by_code(building))
        if assignee:
            query = query.filter(assignee=assignee)
        query = query.order_by("-created_at", "-id").select_related(*RELATED)
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        return await query

    async def detail(self, ref: str | int, viewer: Person | None = None) -> TicketDetail:
        """A ticket with its timeline and attachments, as ``viewer`` may see them."""
        ticket = await self.get_for(ref, viewer)
        events = await TicketEvent.filter(ticket=ticket).order_by("at", "id")
        if viewer is not None and not viewer.is_staff:
            events = [e for e in events if e.public]
        attachments = await Attachment.filter(ticket=ticket).order_by("id")
        return TicketDetail(ticket, events, attachments)

    async def check_action(self, ref: TicketRef, actor: Actor, verb: Verb) -> Ticket:
        """Refuse a card's decline, postpone or done before it asks its question, for the
        reason the change itself would give (which checks again); the ticket otherwise."""
        staff = staff_of(actor)
        ticket = await self.load(ref)
        require_unfinished(ticket)
        await require_scope(staff, ticket)
        if verb is not Verb.DONE or not coordinates(staff):
            require_assignee(staff, ticket)
        return ticket

    async def ticket_for_message(self, channel: str, external_id: str) -> Ticket | None:
        """The ticket a channel message id (ours or theirs) belongs to."""
        rows = await fetch(_TICKET_OF_MESSAGE, channel=channel, id=external_id)
        if not rows or rows[0]["ticket_id"] is None:
            return None
        return await self.get(rows[0]["ticket_id"])

    async def created_since(self, requester: Person, channel: Channel, since: datetime) -> int:
        """How many tickets ``requester`` opened through ``channel`` since ``since``."""
        rows = await fetch(
            _CREATED_SINCE,
            requester=requester.id,
            channel=channel.value,
            since=since.astimezone(UTC),
        )
        return int(rows[0]["n"])

    async def seen(self, inbound: InboundRef) -> bool:
        """True when this channel message was already taken in."""
        return bool(
            await fetch(_TICKET_OF_MESSAGE, channel=inbound.channel, id=inbound.external_id)
        )
