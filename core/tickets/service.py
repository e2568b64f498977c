"""The ticket service: the one place that changes tickets.

Every change runs in one transaction that writes the ticket, its timeline event and the
outbox rows that tell people about it (:mod:`core.tickets.recorder`), so history, reports and
notifications agree. Reading is :mod:`core.tickets.queries`, opening a ticket
:mod:`core.tickets.creation`, and what people read :mod:`core.tickets.cards`.

Changes are optimistic (:mod:`core.tickets.versioned`): a ticket may be read before the
transaction, and its changed columns are written only if its version is still the one read.
When two people change one ticket at once, the first to commit wins and its event is in
the timeline; the other's transaction is rolled back whole, so it leaves no event, no outbox
row and no column behind, and the action raises :class:`~core.errors.StaleTicket`. An
action whose outcome does not depend on the copy read (a reply, a mail follow-up) re-reads
the ticket and tries once more; an action decided on what the person saw (accept, decline,
assign, a status change, postpone, rate) is refused, so they look again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.errors import AccessDenied, InvalidInput, StaleTicket
from core.i18n import N_, gettext
from core.messaging.notifications import Notifier
from core.storage.models import EventType, Person, Status, Ticket, TicketEvent
from core.tickets.access import require_see
from core.tickets.cards import (
    follower_reply,
    follower_status,
    local_time,
    rating_actions,
    reply_text,
    requester_language,
    status_text,
)
from core.tickets.commands import InboundRef, NewAttachment, NewTicket
from core.tickets.corrections import TicketCorrections
from core.tickets.creation import CreateResult, CreationHook, TicketCreation, clean_title
from core.tickets.guards import (
    check_staff_reply,
    check_status_change,
    from_requester,
    require_assignee,
    require_not_declined,
    require_scope,
    require_unfinished,
    staff_of,
)
from core.tickets.lookups import coordinators_of
from core.tickets.queries import TicketQueries, TicketRef
from core.tickets.recorder import TicketRecorder
from core.tickets.timeline import Saying
from core.tickets.workflow import check_transition

T = TypeVar("T")
_FINISHED = (Status.DONE, Status.CLOSED)


class TicketService(TicketQueries):
    """Reads, creates and changes tickets, writing timeline events and outbox rows together."""

    def __init__(
        self, clock: Clock, notifier: Notifier, on_created: Sequence[CreationHook] = ()
    ) -> None:
        self.clock = clock
        self.notifier = notifier
        self.on_created: list[CreationHook] = list(on_created)
        self.recorder = TicketRecorder(clock, notifier)
        self._creation = TicketCreation(self, self.recorder, self.on_created)
        self._corrections = TicketCorrections(self, self.recorder)

    async def create(
        self,
        cmd: NewTicket,
        *,
        also_seen: Sequence[InboundRef] = (),
        inbound_checked: bool = False,
    ) -> CreateResult:
        """Open a ticket; a delivery seen before returns the ticket it made.

        ``also_seen``: further channel ids to recognise as taken in with it (a chat report is
        known by its own id, and by the id of the message that opened it).
        ``inbound_checked``: the caller has just looked ``cmd.inbound`` up and found nothing
        (a concurrent duplicate is still caught by the unique constraint).
        """
        return await self._creation.create(
            cmd, also_seen=also_seen, inbound_checked=inbound_checked
        )

    # -- changing ----------------------------------------------------------------

    async def reply(
        self,
        ref: TicketRef,
        actor: Actor,
        text: str,
        *,
        public: bool = True,
        attachments: Sequence[NewAttachment] = (),
        inbound: InboundRef | None = None,
        inbound_checked: bool = False,
        reopen: bool = False,
    ) -> TicketEvent | None:
        """Add a public reply or an internal note; public staff replies reach the requester.

        A channel message taken in before (``inbound`` seen; ``inbound_checked``: the caller
        has just looked) changes nothing: None. ``reopen``: the requester's reply to finished
        work also reopens it, in the same transaction (a mail follow-up). A reply does not
        depend on the copy it was decided on: if the ticket changed meanwhile, it is read
        again and the reply tried once more.
        """
        text = text.strip()
        if not text and not attachments:
            raise InvalidInput("a reply needs text or an attachment")
        author = actor.person
        if author is not None and not author.is_staff and not public:
            raise InvalidInput("residents cannot write internal notes")

        async def add(ticket: Ticket) -> TicketEvent:
            if author is not None and not author.is_staff:
                await require_see(author, ticket)
            elif author is not None:
                await check_staff_reply(author, ticket, public)
            event = await self._reply(ticket, actor, text, public, attachments, inbound)
            if reopen and from_requester(actor, ticket) and ticket.status in _FINISHED:
                check_transition(ticket.status, Status.REOPENED)
                note = gettext(ticket.language, N_("reopened by the requester's reply"))
                await self._set_status(ticket, actor, Status.REOPENED, note=note)
            return event

        async def write() -> TicketEvent:
            return await self._retrying(await self.load(ref), add)

        return await self._once(inbound, write, checked=inbound_checked)

    async def _once(
        self,
        inbound: InboundRef | None,
        write: Callable[[], Awaitable[T]],
        *,
        checked: bool = False,
    ) -> T | None:
        """``write``, unless the channel message ``inbound`` was taken in before (``checked``:
        the caller has just looked) or is taken in meanwhile (its reference's unique row
        refuses the second): None then."""
        if inbound is not None and not checked and await self.seen(inbound):
            return None
        try:
            return await write()
        except IntegrityError:
            if inbound is not None and await self.seen(inbound):
                return None  # the same message, taken in concurrently
            raise

    async def _reply(
        self,
        ticket: Ticket,
        actor: Actor,
        text: str,
        public: bool,
        attachments: Sequence[NewAttachment],
        inbound: InboundRef | None,
    ) -> TicketEvent:
        if inbound is not None:
            await self.recorder.taken_in(ticket, inbound)
        kind = EventType.PUBLIC_REPLY if public else EventType.INTERNAL_NOTE
        event = await self.recorder.event(ticket, kind, actor, public=public, text=text)
        files = await self.recorder.attach(ticket, event, attachments)
        by_requester = from_requester(actor, ticket)
        changed: list[str] = []
        if public and not by_requester:
            changed += self.recorder.mark_first_response(ticket)
            await self.notifier.to_requester(
                ticket, ticket.requester, event, reply_text(ticket, text), files=files
            )
            await self.recorder.tell_followers(ticket, event, follower_reply(ticket, text), files)
        if public and by_requester:
            if text:
                wrote = N_("{ref}: the resident wrote: {text}")
            else:
                wrote = N_("{ref}: the resident sent a file.")
            await self.recorder.tell_assignee(ticket, event, wrote, files=files, text=text)
        await self.recorder.save(ticket, *changed)
        return event

    async def change_status(
        self,
        ref: TicketRef,
        actor: Actor,
        status: Status,
        *,
        note: str = "",
        attachments: Sequence[NewAttachment] = (),
        told: str = "",
    ) -> TicketEvent:
        """Move a ticket along the workflow; a forbidden move raises ``InvalidTransition``.
        ``told`` replaces the note in what the requester reads.

        A resident may only reopen their own finished request ("not fixed"); staff may change
        the tickets they can see. "Done" reaches the requester with rating actions. Refused
        with ``StaleTicket`` if the ticket changed since it was read.
        """
        ticket = await self.load(ref)
        await check_status_change(actor, ticket, status)
        check_transition(ticket.status, status)
        async with in_transaction():
            return await self._set_status(
                ticket, actor, status, note=note, attachments=attachments, told=told
            )

    async def _set_status(
        self,
        ticket: Ticket,
        actor: Actor,
        status: Status,
        *,
        note: str = "",
        attachments: Sequence[NewAttachment] = (),
        data: dict[str, object] | None = None,
        told: str = "",
        also: Sequence[str] = (),
    ) -> TicketEvent:
        """Change the status inside the caller's transaction; ``told`` replaces the note in
        what the requester reads; ``also``: further fields the caller changed."""
        previous = ticket.status
        now = self.clock.now()
        ticket.status = status
        changed = ["status", *also]
        if status == Status.DONE:
            ticket.resolved_at = now
            changed.append("resolved_at")
        elif status == Status.CLOSED:
            ticket.closed_at = now
            changed.append("closed_at")
        elif status == Status.REOPENED:
            ticket.resolved_at = None
            ticket.closed_at = None
            changed += ["resolved_at", "closed_at"]
        if status == Status.IN_PROGRESS:
            changed += self.recorder.mark_first_response(ticket)
        event = await self.recorder.event(
            ticket,
            EventType.STATUS_CHANGED,
            actor,
            public=True,
            text=note.strip(),
            data={"from": previous.value, "to": status.value, **(data or {})},
        )
        files = await self.recorder.attach(ticket, event, attachments)
        await self.recorder.save(ticket, *changed)
        await self.notifier.to_requester(
            ticket,
            ticket.requester,
            event,
            status_text(ticket, status, told or note),
            files=files,
            actions=rating_actions(ticket.id, requester_language(ticket))
            if status == Status.DONE
            else (),
        )
        await self.recorder.tell_followers(ticket, event, follower_status(ticket, status), files)
        by_requester = actor.person is not None and actor.person.id == ticket.requester_id  # type: ignore[attr-defined]
        if by_requester and status == Status.REOPENED:
            await self.recorder.tell_assignee(
                ticket,
                event,
                N_("{ref}: the resident says it is not fixed; the request is reopened."),
            )
        return event

    async def assign(
        self,
        ref: TicketRef,
        actor: Actor,
        assignee: Person,
        *,
        reason: str | Saying = "",
        escalated_after: int | None = None,
    ) -> TicketEvent:
        """Give the ticket to a member of staff and send them the assignment card
        (``escalated_after``: the minutes the previous assignee had to accept, for a duty
        list's escalation); the previous assignee is told it moved on.

        Refused with ``StaleTicket`` if the ticket changed since it was read; the scheduler's
        routing (a system actor) passes its own copy and tries again on a fresh one.
        """
        if not assignee.is_staff:
            raise InvalidInput(f"{assignee.name} is not staff")
        ticket = await self.load(ref)
        async with in_transaction():
            return await self.recorder.hand_to(
                ticket, actor, assignee, reason, waited=escalated_after
            )

    async def accept(self, ref: TicketRef, actor: Actor, *, take_over: bool = False) -> TicketEvent:
        """A member of staff takes the work on: it becomes theirs and in progress.

        ``take_over`` (a card in a staff group): whoever accepts takes the work, even from the
        colleague it was assigned to; otherwise only an unassigned ticket or one's own.
        Refused with ``StaleTicket`` if the ticket changed since it was read.
        """
        staff = staff_of(actor)
        ticket = await self.load(ref)
        require_unfinished(ticket)
        await require_scope(staff, ticket)
        assignee = ticket.assignee
        if assignee is not None and assignee.id != staff.id and not take_over:
            raise AccessDenied(
                f"{ticket.ref} is assigned to {assignee.name}",
                message=N_("{ref} is now assigned to someone else."),
                ref=ticket.ref,
            )
        if assignee is None and not take_over:
            await require_not_declined(staff, ticket)
        if assignee is not None and assignee.id == staff.id and ticket.status == Status.IN_PROGRESS:
            raise InvalidInput(
                f"{ticket.ref} is already yours and in progress",
                message=N_("{ref} is already yours and in progress."),
                ref=ticket.ref,
            )
        check_transition(ticket.status, Status.IN_PROGRESS)
        async with in_transaction():
            taken = assignee is None or assignee.id != staff.id
            if taken:
                ticket.assignee = staff
                await self.recorder.event(
                    ticket,
                    EventType.ASSIGNED,
                    actor,
                    public=False,
                    data={
                        "from": assignee.name if assignee else None,
                        "to": staff.name,
                        "to_id": staff.id,
                        "accepted": True,
                    },
                )
            also = ("assignee",) if taken else ()
            return await self._set_status(ticket, actor, Status.IN_PROGRESS, also=also)

    async def decline(self, ref: TicketRef, actor: Actor, reason: str) -> TicketEvent:
        """The assignee gives the work back, with a reason; managers and dispatchers are told.

        Refused with ``StaleTicket`` if the ticket changed since it was read."""
        reason = reason.strip()
        if not reason:
            raise InvalidInput("say why you decline", message=N_("Please say why you decline."))
        staff = staff_of(actor)
        ticket = await self.load(ref)
        require_unfinished(ticket)
        require_assignee(staff, ticket)
        async with in_transaction():
            ticket.assignee = None
            await self.recorder.save(ticket, "assignee")
            event = await self.recorder.event(
                ticket,
                EventType.ASSIGNED,
                actor,
                public=False,
                text=reason,
                data={"from": staff.name, "from_id": staff.id, "to": None, "declined": True},
            )
            for person in await coordinators_of(ticket):
                await self.notifier.to_staff(
                    person,
                    ticket,
                    event,
                    gettext(
                        person.language,
                        N_("{ref} was declined by {name}: {reason}. It needs a new assignee."),
                        ref=ticket.ref,
                        name=staff.name,
                        reason=reason,
                    ),
                )
        return event

    async def postpone(
        self, ref: TicketRef, actor: Actor, until: datetime, note: str = ""
    ) -> TicketEvent:
        """The assignee puts the work on hold until a moment; the requester is told when.

        Refused with ``StaleTicket`` if the ticket changed since it was read."""
        staff = staff_of(actor)
        ticket = await self.load(ref)
        require_unfinished(ticket)
        require_assignee(staff, ticket)
        if until <= self.clock.now():
            raise InvalidInput(
                "postpone to a moment in the future",
                message=N_("Please choose a moment in the future."),
            )
        if ticket.status != Status.ON_HOLD:  # on hold already: a new date
            check_transition(ticket.status, Status.ON_HOLD)
        language = requester_language(ticket)
        when = local_time(until, ticket.building, language)
        told = gettext(language, N_("The work is postponed until {when}."), when=when)
        async with in_transaction():
            return await self._set_status(
                ticket,
                actor,
                Status.ON_HOLD,
                note=note or told,
                data={"until": until.isoformat()},
                told=f"{told}\n{note.strip()}" if note.strip() else told,
            )

    async def rate(
        self,
        ref: TicketRef,
        actor: Actor,
        rating: int,
        comment: str = "",
        *,
        inbound: InboundRef | None = None,
    ) -> TicketEvent:
        """Record the requester's 1–5 rating of finished work (refused with ``StaleTicket``
        if the ticket changed since it was read: it may have been reopened); ``inbound``:
        the channel message that carried it, recorded as taken in with it."""
        if not 1 <= rating <= 5:
            raise InvalidInput("a rating is a whole number from 1 to 5")
        ticket = await self.load(ref)
        if actor.person is not None and actor.person.id != ticket.requester_id:  # type: ignore[attr-defined]
            raise AccessDenied(f"only the requester rates {ticket.ref}")
        if ticket.status not in (Status.DONE, Status.CLOSED):
            raise InvalidInput(f"ticket {ticket.ref} is not done yet")
        async with in_transaction():
            if inbound is not None:
                await self.recorder.taken_in(ticket, inbound)
            ticket.rating = rating
            ticket.rating_comment = comment.strip()
            await self.recorder.save(ticket, "rating", "rating_comment")
            event = await self.recorder.event(
                ticket,
                EventType.RATING,
                actor,
                public=True,
                text=comment.strip(),
                data={"rating": rating},
            )
            await self.recorder.tell_assignee(
                ticket,
                event,
                N_("{ref}: the resident rated the work {rating} of 5."),
                rating=rating,
            )
        return event

    async def comment_rating(
        self, ref: TicketRef, actor: Actor, comment: str, *, inbound: InboundRef | None = None
    ) -> None:
        """The requester's comment after their rating: kept with it, and the assignee hears
        it. A channel message taken in before (``inbound`` seen) changes nothing."""
        comment = comment.strip()
        ticket = await self.load(ref)
        if actor.person is not None and actor.person.id != ticket.requester_id:  # type: ignore[attr-defined]
            raise AccessDenied(f"only the requester rates {ticket.ref}")
        if ticket.rating is None or not comment:
            raise InvalidInput(f"ticket {ticket.ref} has no rating to comment on")
        await self._once(inbound, lambda: self._comment_rating(ticket, actor, comment, inbound))

    async def _comment_rating(
        self, ticket: Ticket, actor: Actor, comment: str, inbound: InboundRef | None
    ) -> None:
        async with in_transaction():
            if inbound is not None:
                await self.recorder.taken_in(ticket, inbound)
            ticket.rating_comment = comment
            await self.recorder.save(ticket, "rating_comment")
            event = await self.recorder.event(
                ticket,
                EventType.RATING,
                actor,
                public=True,
                text=comment,
                data={"rating": ticket.rating, "comment": True},
            )
            await self.recorder.tell_assignee(
                ticket,
                event,
                N_("{ref}: the resident commented on the rating: {text}"),
                text=comment,
            )

    async def amend_report(
        self,
        ref: TicketRef,
        actor: Actor,
        *,
        title: str | None = None,
        needs_attention: str | None = None,
    ) -> None:
        """What a chat report's later messages tell: a better title than the automatic one,
        or something a person must look at (a voice note nobody could transcribe)."""

        async def amend(ticket: Ticket) -> None:
            if actor.person is not None and not actor.person.is_staff:
                await require_see(actor.person, ticket)
            changed: list[str] = []
            if title is not None and title.strip():
                ticket.title = clean_title(title, "")
                changed.append("title")
            if needs_attention:
                ticket.needs_attention = needs_attention
                changed.append("needs_attention")
            if changed:
                await self.recorder.save(ticket, *changed)

        await self._retrying(await self.load(ref), amend)

    async def edit(
        self,
        ref: TicketRef,
        actor: Actor,
        *,
        building: str | int | None = None,
        unit: str | None = None,
        category: str | None = None,
    ) -> TicketEvent:
        """Set a ticket's building, flat or category (see :meth:`TicketCorrections.edit`)."""
        return await self._corrections.edit(
            ref, actor, building=building, unit=unit, category=category
        )

    async def merge(
        self, duplicate_ref: TicketRef, survivor_ref: TicketRef, actor: Actor
    ) -> Ticket:
        """Close a duplicate with a link to the ticket it repeats (see
        :meth:`TicketCorrections.merge`)."""
        return await self._corrections.merge(duplicate_ref, survivor_ref, actor)

    async def record(
        self,
        ref: TicketRef,
        actor: Actor,
        kind: EventType,
        text: str,
        *,
        data: dict[str, object] | None = None,
        inbound: InboundRef | None = None,
    ) -> TicketEvent:
        """Add an internal timeline event that tells nobody (a bounce, a routing decision);
        the ticket itself does not change."""
        ticket = await self.load(ref)
        async with in_transaction():
            if inbound is not None:
                await self.recorder.taken_in(ticket, inbound)
            return await self.recorder.event(
                ticket, kind, actor, public=False, text=text, data=data
            )

    async def _retrying(self, ticket: Ticket, change: Callable[[Ticket], Awaitable[T]]) -> T:
        """Run ``change`` on ``ticket`` in a transaction; if another change came first (the
        first attempt wrote nothing), read the ticket again and run it once more."""
        try:
            async with in_transaction():
                return await change(ticket)
        except StaleTicket:
            fresh = await self.get(ticket.id)
            async with in_transaction():
                return await change(fresh)
