"""What a ticket change leaves behind, written inside the caller's transaction: the changed
columns (version-checked), the timeline event, files, the channel messages taken in, and the
outbox rows that tell the assignee and the followers of merged duplicates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.actors import Actor
from core.clock import Clock
from core.i18n import N_, gettext
from core.messaging.notifications import Notifier
from core.operations.deadlines import CHECKED_FIELDS, recheck_at
from core.storage.fit import clipped
from core.storage.models import (
    Attachment,
    Contact,
    EventType,
    MessageRef,
    Person,
    Ticket,
    TicketEvent,
)
from core.storage.rows import insert, insert_later
from core.tickets.cards import assignment_actions, assignment_card, handover_line
from core.tickets.commands import InboundRef, NewAttachment
from core.tickets.lookups import contacts_of
from core.tickets.timeline import Saying, said
from core.tickets.versioned import save_changes


class TicketRecorder:
    """Writes a change's rows and outbox messages; the caller holds the transaction."""

    def __init__(self, clock: Clock, notifier: Notifier) -> None:
        self.clock = clock
        self.notifier = notifier

    async def taken_in(self, ticket: Ticket, *inbound: InboundRef) -> list[MessageRef]:
        """Record channel messages as taken in for ``ticket`` (a second time fails: unique,
        when the transaction writes them); the references, without their ids."""
        now = self.clock.now()
        refs = []
        for ref in inbound:
            values = {"channel": ref.channel, "external_id": ref.external_id, "inbound": True}
            await insert_later(MessageRef, **values, ticket=ticket, created_at=now)
            refs.append(MessageRef(**values, ticket_id=ticket.id, created_at=now))
        return refs

    async def event(
        self,
        ticket: Ticket,
        kind: EventType,
        actor: Actor,
        *,
        public: bool,
        text: str = "",
        data: dict[str, object] | None = None,
    ) -> TicketEvent:
        """Add a timeline event to ``ticket``."""
        values = self.event_values(kind, actor, public=public, text=text, data=data)
        return await insert(TicketEvent, ticket=ticket, **values)

    def event_values(
        self,
        kind: EventType,
        actor: Actor,
        *,
        public: bool,
        text: str = "",
        data: dict[str, object] | None = None,
    ) -> dict[str, Any]:
        """The fields of a timeline event, all but its ticket."""
        return {
            "type": kind,
            "public": public,
            "text": text,
            "actor": actor.person,
            "actor_label": clipped(TicketEvent, "actor_label", actor.label),
            "data": data or {},
            "at": self.clock.now(),
        }

    async def attach(
        self, ticket: Ticket, event: TicketEvent, files: Sequence[NewAttachment]
    ) -> list[Attachment]:
        """Keep ``files`` with ``ticket``, sent with ``event``."""
        now = self.clock.now()
        return [
            await Attachment.create(
                ticket=ticket,
                event=event,
                sha256=f.sha256,
                size=f.size,
                content_type=f.content_type or "application/octet-stream",
                original_name=f.original_name[:255],
                created_at=now,
            )
            for f in files
        ]

    def mark_first_response(self, ticket: Ticket) -> list[str]:
        """Stamp the first response if there was none; the fields changed."""
        if ticket.first_response_at is not None:
            return []
        ticket.first_response_at = self.clock.now()
        return ["first_response_at"]

    async def save(self, ticket: Ticket, *changed: str) -> None:
        """Stamp ``updated_at`` and write the changed fields if the version is still the one
        read (else ``StaleTicket``)."""
        ticket.updated_at = self.clock.now()
        if CHECKED_FIELDS.intersection(changed):  # the scheduler looks again soon
            ticket.next_check_at = recheck_at(ticket, ticket.updated_at)
            changed = (*changed, "next_check_at")
        await save_changes(ticket, "updated_at", *changed)

    async def hand_to(
        self,
        ticket: Ticket,
        actor: Actor,
        assignee: Person,
        reason: str | Saying,
        *also: str,
        files: Sequence[Attachment] | None = None,
        contacts: Sequence[Contact] | None = None,
        waited: int | None = None,
    ) -> TicketEvent:
        """Assign on the caller's copy and send the assignment card; the previous assignee
        is told it moved on. ``also``: further fields the caller changed; ``files``,
        ``contacts``: the ticket's and the requester's, when the caller has them (else
        read); ``waited``: the minutes the previous assignee had to accept (an escalation)."""
        before = ticket.assignee
        previous = before.name if before else None
        ticket.assignee = assignee
        await self.save(ticket, "assignee", *also)
        event = await self.event(
            ticket,
            EventType.ASSIGNED,
            actor,
            public=False,
            text=str(reason),
            data={"from": previous, "to": assignee.name, "to_id": assignee.id, **said(reason)},
        )
        if contacts is None:
            contacts = await contacts_of(ticket.requester)
        if files is None:
            files = await Attachment.filter(ticket=ticket).order_by("id")
        card = assignment_card(ticket, assignee.language, contacts)
        if before is not None and before.id != assignee.id:
            card += "\n" + handover_line(before.name, waited, assignee.language)
            moved = N_("{ref} has moved on to {name}; you need not act on it.")
            await self.notifier.to_staff(
                before,
                ticket,
                event,
                gettext(before.language, moved, ref=ticket.ref, name=assignee.name),
            )
        await self.notifier.to_work_chat(
            assignee,
            ticket,
            event,
            card,
            actions=assignment_actions(ticket.id, assignee.language),
            files=files,
        )
        return event

    async def tell_assignee(
        self,
        ticket: Ticket,
        event: TicketEvent,
        message: str,
        *,
        files: Sequence[Attachment] = (),
        **params: object,
    ) -> None:
        """Tell the ticket's assignee, if any, ``message`` (an ``N_`` text with ``{ref}``)
        in their language."""
        if ticket.assignee is None:
            return
        text = gettext(ticket.assignee.language, message, ref=ticket.ref, **params)
        await self.notifier.to_staff(ticket.assignee, ticket, event, text, files=files)

    async def tell_followers(
        self,
        ticket: Ticket,
        event: TicketEvent,
        text_in: Callable[[str], str],
        files: Sequence[Attachment],
    ) -> None:
        """Tell the requesters of duplicates merged into ``ticket`` what its requester was
        told (``text_in``: the text in a language)."""
        merges = await TicketEvent.filter(ticket_id=ticket.id, type=EventType.MERGED)
        ids = {e.data.get("follower_id") for e in merges}
        ids.discard(None)
        ids.discard(ticket.requester_id)  # type: ignore[attr-defined]
        for person in await Person.filter(id__in=list(ids)).order_by("id"):
            text = text_in(person.language or ticket.language)
            await self.notifier.to_requester(ticket, person, event, text, files=files)
