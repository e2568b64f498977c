"""The ticket service: the one place that changes tickets.

Every change runs in one transaction that writes the ticket, its timeline event and the
outbox rows that tell people about it, so history, reports and notifications agree.

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
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_datetime
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import (
    building_by_code,
    category_by_code,
    normalize_contact,
    person_and_contacts,
)
from core.directory.residents import flats_in
from core.directory.verification import registration_verified
from core.errors import AccessDenied, InvalidInput, Msgid, NotFound, StaleTicket
from core.i18n import N_, gettext
from core.messaging.message import Action, Verb
from core.messaging.notifications import Notifier
from core.messaging.staff_messages import dispatchers_of, managers_of
from core.operations.calendar import BusinessCalendar
from core.operations.deadlines import CHECKED_FIELDS, due_times, recheck_at
from core.storage.fit import clipped
from core.storage.models import (
    Attachment,
    Building,
    Category,
    Channel,
    Contact,
    ContactKind,
    EventType,
    MessageRef,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
    Unit,
)
from core.storage.rawsql import fetch
from core.storage.rows import from_row, insert, insert_pair
from core.tickets.access import require_see, require_staff, visibility
from core.tickets.commands import InboundRef, NewAttachment, NewTicket, RequesterHint
from core.tickets.guards import (
    coordinates,
    require_assignee,
    require_not_declined,
    require_scope,
    require_unfinished,
)
from core.tickets.timeline import Saying, said
from core.tickets.versioned import save_changes
from core.tickets.workflow import STATUS_NAMES, check_transition, status_name

TITLE_MAX = 300
_TICKET_OF_MESSAGE = (
    'SELECT "ticket_id" FROM "message_ref" WHERE "channel" = :channel AND "external_id" = :id'
)
_CREATED_SINCE = (
    'SELECT COUNT(*) AS "n" FROM "ticket"'
    ' WHERE "requester_id" = :requester AND "channel" = :channel AND "created_at" >= :since'
)
_UNIT = 'SELECT * FROM "unit" WHERE "building_id" = :building AND "number" = :number'
_BUILDINGS_OF_RESIDENT = (
    'SELECT * FROM "building" WHERE "id" IN (SELECT "unit"."building_id" FROM "unit"'
    ' JOIN "residency" ON "residency"."unit_id" = "unit"."id"'
    ' WHERE "residency"."person_id" = :person)'
)
RELATED = ("building", "unit", "category", "requester", "assignee")
FLAT_FROM_DIRECTORY = frozenset({Channel.EMAIL, Channel.VOICEMAIL})
"""Channels whose requester names no flat: a known resident's only flat there is taken."""
T = TypeVar("T")
TicketRef = str | int | Ticket
"""A reference (``#42``, ``42``), or the ticket as the caller read it with :meth:`get`."""

_FINISHED = (Status.DONE, Status.CLOSED)


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
class CreateResult:
    """A ticket and whether this call created it (False: a repeated delivery)."""

    ticket: Ticket
    created: bool


@dataclass(frozen=True)
class TicketDetail:
    """A ticket with the timeline and attachments its viewer may see (``tickets show``)."""

    ticket: Ticket
    events: list[TicketEvent]
    attachments: list[Attachment]


@dataclass(frozen=True)
class Routed:
    """A creation hook's decision about a new ticket, which :meth:`TicketService.create`
    applies in its transaction on the objects it holds: a new category with its deadlines
    (None: kept) and who gets the ticket (None: nobody yet)."""

    actor: Actor
    category: Category | None = None
    response_due_at: datetime | None = None
    due_at: datetime | None = None
    assignee: Person | None = None
    reason: str | Saying = ""
    then: Callable[[], Awaitable[None]] | None = None
    """Runs once the decision is written (e.g. paging the person on duty)."""


CreationHook = Callable[[Ticket, TicketEvent, NewTicket], Awaitable[Routed | None]]
"""Runs inside the creating transaction (e.g. automatic routing); may return a decision."""


class TicketService:
    """Creates and changes tickets, writing timeline events and outbox rows together."""

    def __init__(
        self, clock: Clock, notifier: Notifier, on_created: Sequence[CreationHook] = ()
    ) -> None:
        self.clock = clock
        self.notifier = notifier
        self.on_created: list[CreationHook] = list(on_created)

    # -- reading -----------------------------------------------------------------

    async def get(self, ref: str | int) -> Ticket:
        """The ticket with this reference, with its related rows fetched."""
        ticket = await Ticket.get_or_none(id=parse_ref(ref)).select_related(*RELATED)
        if ticket is None:
            raise NotFound(f"no ticket #{parse_ref(ref)}")
        return ticket

    async def _load(self, ref: TicketRef) -> Ticket:
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
        staff = _staff_of(actor)
        ticket = await self._load(ref)
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

    # -- creating ----------------------------------------------------------------

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
        title = _clean_title(cmd.title, cmd.description)
        category = await category_by_code(cmd.category)
        building = await building_by_code(cmd.building) if cmd.building else None
        if (
            cmd.inbound
            and not inbound_checked
            and (existing := await self._ticket_of_inbound(cmd.inbound))
        ):
            return CreateResult(existing, created=False)
        try:
            async with in_transaction():
                ticket = await self._create(cmd, title, category, building, also_seen)
                if ticket.building_id is None:  # type: ignore[attr-defined]
                    await self._ask_building(ticket)
        except IntegrityError:
            if cmd.inbound and (existing := await self._ticket_of_inbound(cmd.inbound)):
                return CreateResult(existing, created=False)
            raise
        return CreateResult(ticket, created=True)

    async def _create(
        self,
        cmd: NewTicket,
        title: str,
        category: Category,
        building: Building | None,
        also_seen: Sequence[InboundRef],
    ) -> Ticket:
        now = self.clock.now()
        requester, contacts, known = await self._requester(cmd)
        if building is None and requester is not None:
            building = await _only_building_of(requester)
        unit = await _unit(building, cmd.unit) if cmd.unit else None
        homes: list[Unit] = []
        if unit is None and known and requester and building and cmd.channel in FLAT_FROM_DIRECTORY:
            homes = await flats_in(requester, building)
            unit = homes[0] if len(homes) == 1 else None
        verified = known and (requester is None or await registration_verified(requester, unit))
        response_due, due = due_times(category, now, BusinessCalendar.of(building))
        language = (
            cmd.language
            or (requester.language if requester else None)
            or (building.language if building else "en")
        )
        ticket, event = await insert_pair(
            Ticket,
            {
                "building": building,
                "unit": unit,
                "requester": requester,
                "category": category,
                "priority": category.priority,
                "channel": cmd.channel,
                "title": title,
                "description": cmd.description.strip(),
                "language": language,
                "verified": verified or cmd.channel in (Channel.CLI, Channel.PHONE),
                "needs_attention": cmd.needs_attention,
                "linked_to_id": cmd.linked_to,
                "assignee": None,
                "created_at": now,
                "updated_at": now,
                "response_due_at": response_due,
                "due_at": due,
                "next_check_at": now if response_due or due else None,
            },
            TicketEvent,
            self._event_values(
                EventType.CREATED,
                cmd.actor,
                public=True,
                text=cmd.description.strip(),
                data={"channel": cmd.channel.value, "title": title},
            ),
        )
        if len(homes) > 1:
            flats = Saying("flat_not_chosen", {"flats": ", ".join(h.number for h in homes)})
            await self._event(
                ticket,
                EventType.ROUTING,
                cmd.actor,
                public=False,
                text=str(flats),
                data={"decision": "flat", **flats.as_data()},
            )
        taken_in = [cmd.inbound, *also_seen] if cmd.inbound else list(also_seen)
        refs = await self._taken_in(ticket, *taken_in)
        files = await self._attach(ticket, event, cmd.attachments)
        if cmd.acknowledge:  # before what routing tells the requester (out of hours)
            text = gettext(
                language,
                N_("Your request {ref} is registered: {title}. We will keep you informed here."),
                ref=ticket.ref,
                title=title.rstrip(".!?…。！？"),
            )
            await self.notifier.to_requester(
                ticket, requester, event, text, auto_reply=True, contacts=contacts, thread=refs
            )
        for hook in self.on_created:
            routed = await hook(ticket, event, cmd)
            if routed is not None:
                await self._apply(ticket, routed, files, contacts)
        return ticket

    async def _apply(
        self,
        ticket: Ticket,
        routed: Routed,
        files: Sequence[Attachment],
        contacts: Sequence[Contact] | None,
    ) -> None:
        """Apply a creation hook's decision to the ticket just written (one UPDATE), with
        the files and the requester's contacts in hand (None: not read yet)."""
        changed: list[str] = []
        if routed.category is not None:
            ticket.category = routed.category
            ticket.priority = routed.category.priority
            ticket.response_due_at, ticket.due_at = routed.response_due_at, routed.due_at
            ticket.next_check_at = recheck_at(ticket, self.clock.now())
            changed += ["category", "priority", "response_due_at", "due_at", "next_check_at"]
        if routed.assignee is not None:
            await self._assign(
                ticket,
                routed.actor,
                routed.assignee,
                routed.reason,
                *changed,
                files=files,
                contacts=contacts,
            )
        elif changed:
            await save_changes(ticket, *changed)
        if routed.then is not None:
            await routed.then()

    async def _ticket_of_inbound(self, inbound: InboundRef) -> Ticket | None:
        return await self.ticket_for_message(inbound.channel, inbound.external_id)

    async def _requester(self, cmd: NewTicket) -> tuple[Person | None, list[Contact] | None, bool]:
        if cmd.requester_id is not None:
            found = await person_and_contacts(cmd.requester_id)
            if found is None:
                raise NotFound(f"no person with id {cmd.requester_id}")
            return found[0], found[1], True
        if cmd.requester is None:
            return None, None, False
        return await _person_for_hint(cmd.requester)

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
        if inbound is not None and not inbound_checked and await self.seen(inbound):
            return None

        async def add(ticket: Ticket) -> TicketEvent:
            if author is not None and not author.is_staff:
                await require_see(author, ticket)
            elif author is not None:
                await _check_staff_reply(author, ticket, public)
            event = await self._reply(ticket, actor, text, public, attachments, inbound)
            if reopen and _from_requester(actor, ticket) and ticket.status in _FINISHED:
                check_transition(ticket.status, Status.REOPENED)
                note = gettext(ticket.language, N_("reopened by the requester's reply"))
                await self._set_status(ticket, actor, Status.REOPENED, note=note)
            return event

        try:
            return await self._retrying(await self._load(ref), add)
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
            await self._taken_in(ticket, inbound)
        kind = EventType.PUBLIC_REPLY if public else EventType.INTERNAL_NOTE
        event = await self._event(ticket, kind, actor, public=public, text=text)
        files = await self._attach(ticket, event, attachments)
        from_requester = _from_requester(actor, ticket)
        changed: list[str] = []
        if public and not from_requester:
            changed += self._mark_first_response(ticket)
            await self.notifier.to_requester(
                ticket, ticket.requester, event, _reply_text(ticket, actor, text), files=files
            )
            await self._tell_followers(ticket, event, _follower_reply(ticket, text), files)
        if public and from_requester:
            if text:
                wrote = N_("{ref}: the resident wrote: {text}")
            else:
                wrote = N_("{ref}: the resident sent a file.")
            await self._tell_assignee(ticket, event, wrote, files=files, text=text)
        await self._save(ticket, *changed)
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
        ticket = await self._load(ref)
        await _check_status_change(actor, ticket, status)
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
            changed += self._mark_first_response(ticket)
        event = await self._event(
            ticket,
            EventType.STATUS_CHANGED,
            actor,
            public=True,
            text=note.strip(),
            data={"from": previous.value, "to": status.value, **(data or {})},
        )
        files = await self._attach(ticket, event, attachments)
        await self._save(ticket, *changed)
        await self.notifier.to_requester(
            ticket,
            ticket.requester,
            event,
            _status_text(ticket, status, told or note),
            files=files,
            actions=rating_actions(ticket.id, requester_language(ticket))
            if status == Status.DONE
            else (),
        )
        await self._tell_followers(ticket, event, _follower_status(ticket, status), files)
        by_requester = actor.person is not None and actor.person.id == ticket.requester_id  # type: ignore[attr-defined]
        if by_requester and status == Status.REOPENED:
            await self._tell_assignee(
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
        ticket = await self._load(ref)
        async with in_transaction():
            return await self._assign(ticket, actor, assignee, reason, waited=escalated_after)

    async def _assign(
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
        """Assign inside the caller's transaction, on the caller's copy; ``also``: further
        fields it changed; ``files``, ``contacts``: the ticket's and the requester's, when
        the caller has them (else read); ``waited``: see :meth:`assign`."""
        before = ticket.assignee
        previous = before.name if before else None
        ticket.assignee = assignee
        await self._save(ticket, "assignee", *also)
        event = await self._event(
            ticket,
            EventType.ASSIGNED,
            actor,
            public=False,
            text=str(reason),
            data={"from": previous, "to": assignee.name, "to_id": assignee.id, **said(reason)},
        )
        if contacts is None:
            contacts = await _contacts_of(ticket.requester)
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

    async def accept(self, ref: TicketRef, actor: Actor, *, take_over: bool = False) -> TicketEvent:
        """A member of staff takes the work on: it becomes theirs and in progress.

        ``take_over`` (a card in a staff group): whoever accepts takes the work, even from the
        colleague it was assigned to; otherwise only an unassigned ticket or one's own.
        Refused with ``StaleTicket`` if the ticket changed since it was read.
        """
        staff = _staff_of(actor)
        ticket = await self._load(ref)
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
                await self._event(
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
        staff = _staff_of(actor)
        ticket = await self._load(ref)
        require_unfinished(ticket)
        require_assignee(staff, ticket)
        async with in_transaction():
            ticket.assignee = None
            await self._save(ticket, "assignee")
            event = await self._event(
                ticket,
                EventType.ASSIGNED,
                actor,
                public=False,
                text=reason,
                data={"from": staff.name, "from_id": staff.id, "to": None, "declined": True},
            )
            for person in await _coordinators(ticket):
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
        staff = _staff_of(actor)
        ticket = await self._load(ref)
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
        ticket = await self._load(ref)
        if actor.person is not None and actor.person.id != ticket.requester_id:  # type: ignore[attr-defined]
            raise AccessDenied(f"only the requester rates {ticket.ref}")
        if ticket.status not in (Status.DONE, Status.CLOSED):
            raise InvalidInput(f"ticket {ticket.ref} is not done yet")
        async with in_transaction():
            if inbound is not None:
                await self._taken_in(ticket, inbound)
            ticket.rating = rating
            ticket.rating_comment = comment.strip()
            await self._save(ticket, "rating", "rating_comment")
            event = await self._event(
                ticket,
                EventType.RATING,
                actor,
                public=True,
                text=comment.strip(),
                data={"rating": rating},
            )
            await self._tell_assignee(
                ticket,
                event,
                N_("{ref}: the resident rated the work {rating} of 5."),
                rating=rating,
            )
        return event

    async def comment_rating(self, ref: TicketRef, actor: Actor, comment: str) -> None:
        """The requester's comment after their rating: kept with it, and the assignee hears
        it."""
        comment = comment.strip()
        ticket = await self._load(ref)
        if actor.person is not None and actor.person.id != ticket.requester_id:  # type: ignore[attr-defined]
            raise AccessDenied(f"only the requester rates {ticket.ref}")
        if ticket.rating is None or not comment:
            raise InvalidInput(f"ticket {ticket.ref} has no rating to comment on")
        async with in_transaction():
            ticket.rating_comment = comment
            await self._save(ticket, "rating_comment")
            event = await self._event(
                ticket,
                EventType.RATING,
                actor,
                public=True,
                text=comment,
                data={"rating": ticket.rating, "comment": True},
            )
            await self._tell_assignee(
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
                ticket.title = _clean_title(title, "")
                changed.append("title")
            if needs_attention:
                ticket.needs_attention = needs_attention
                changed.append("needs_attention")
            if changed:
                await self._save(ticket, *changed)

        await self._retrying(await self._load(ref), amend)

    # -- corrections (managers, dispatchers, the operator) ---------------------------

    async def edit(
        self,
        ref: TicketRef,
        actor: Actor,
        *,
        building: str | int | None = None,
        unit: str | None = None,
        category: str | None = None,
    ) -> TicketEvent:
        """Set a ticket's building (its code, or its id from a button), flat or category:
        one version-checked change with one timeline event. A new building or category sets
        the deadlines anew (from the ticket's creation); a new building keeps the flat
        number if it has one."""
        _require_coordinator(actor)
        ticket = await self._load(ref)
        changes: dict[str, object] = {}
        if building is not None:
            new = await _building(building)
            if new.id != ticket.building_id:  # type: ignore[attr-defined]
                ticket.building = new
                changes["building"] = new.code
                if unit is None and ticket.unit is not None:
                    unit = await _same_unit(new, ticket.unit.number)
                    if unit is None:
                        ticket.unit = None
                        changes["unit"] = None
        if unit is not None:
            flat = await _unit(ticket.building, unit)
            if flat.id != ticket.unit_id:  # type: ignore[attr-defined]
                ticket.unit = flat
                changes["unit"] = flat.number
        if category is not None:
            kind = await category_by_code(category)
            if kind.id != ticket.category_id:  # type: ignore[attr-defined]
                ticket.category = kind
                ticket.priority = kind.priority
                changes["category"] = kind.code
        if not changes:
            raise InvalidInput(
                f"{ticket.ref} is like that already",
                message=N_("Nothing to change: {ref} is like that already."),
                ref=ticket.ref,
            )
        fields: list[str] = [name for name in ("building", "unit") if name in changes]
        if "building" in changes or "category" in changes:
            calendar = BusinessCalendar.of(ticket.building)
            ticket.response_due_at, ticket.due_at = due_times(
                ticket.category, ticket.created_at, calendar
            )
            fields += ["response_due_at", "due_at"]
        if "category" in changes:
            fields += ["category", "priority"]
        summary = ", ".join(f"{name}: {value or '—'}" for name, value in changes.items())
        async with in_transaction():
            await self._save(ticket, *fields)
            return await self._event(
                ticket,
                EventType.ROUTING,
                actor,
                public=False,
                text=summary,
                data={"decision": "edit", **changes},
            )

    async def merge(
        self, duplicate_ref: TicketRef, survivor_ref: TicketRef, actor: Actor
    ) -> Ticket:
        """Close a duplicate with a link to the ticket it repeats, in one transaction: the
        duplicate's requester follows the survivor from now on and is told; both timelines
        record it. Both tickets are version-checked."""
        _require_coordinator(actor)
        duplicate = await self._load(duplicate_ref)
        survivor = await self._load(survivor_ref)
        if duplicate.id == survivor.id:
            raise InvalidInput(
                "a ticket cannot be merged into itself",
                message=N_("A request cannot be merged into itself."),
            )
        for ticket in (duplicate, survivor):
            if ticket.status in (Status.CLOSED, Status.REJECTED):
                raise InvalidInput(
                    f"{ticket.ref} is {ticket.status.value}",
                    message=N_("{ref} is already {status}."),
                    ref=ticket.ref,
                    status=Msgid(STATUS_NAMES[ticket.status]),
                )
        now = self.clock.now()
        async with in_transaction():
            previous = duplicate.status
            duplicate.status, duplicate.closed_at = Status.CLOSED, now
            duplicate.linked_to = survivor
            await self._save(duplicate, "status", "closed_at", "linked_to")
            into = Saying("merged_into", {"other": survivor.ref})
            closed = await self._event(
                duplicate,
                EventType.STATUS_CHANGED,
                actor,
                public=True,
                text=str(into),
                data={
                    "from": previous.value,
                    "to": Status.CLOSED.value,
                    "merged_into": survivor.id,
                    **into.as_data(),
                },
            )
            await self._save(survivor)
            joined = Saying("merged_from", {"other": duplicate.ref})
            await self._event(
                survivor,
                EventType.MERGED,
                actor,
                public=False,
                text=str(joined),
                data={
                    "merged": duplicate.id,
                    "follower_id": duplicate.requester_id,  # type: ignore[attr-defined]
                    **joined.as_data(),
                },
            )
            language = requester_language(duplicate)
            told = gettext(
                language,
                N_(
                    "Your request {ref} is about the same problem as {other}, so we joined "
                    "them: you will hear about {other} from now on."
                ),
                ref=duplicate.ref,
                other=survivor.ref,
            )
            await self.notifier.to_requester(duplicate, duplicate.requester, closed, told)
        return survivor

    async def _ask_building(self, ticket: Ticket) -> None:
        """A new ticket whose building is not known: each dispatcher is asked to set it, with
        a button per building they serve (every building for those serving none)."""
        [event] = await TicketEvent.filter(ticket=ticket, type=EventType.CREATED).limit(1)
        everywhere: list[Building] | None = None
        for person in await dispatchers_of(None):
            served = await person.buildings.all().order_by("code")
            if not served:
                everywhere = everywhere or await Building.all().order_by("code")
                served = everywhere
            text = gettext(
                person.language,
                N_("{ref} «{title}»: the building is not known. Which building is it?"),
                ref=ticket.ref,
                title=ticket.title,
            )
            buttons = [Action(b.name, Verb.SET_BUILDING, ticket.id, b.id) for b in served]
            rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
            await self.notifier.to_staff(person, ticket, event, text, actions=rows)

    async def _tell_assignee(
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

    async def _tell_followers(
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
        ticket = await self._load(ref)
        async with in_transaction():
            if inbound is not None:
                await self._taken_in(ticket, inbound)
            return await self._event(ticket, kind, actor, public=False, text=text, data=data)

    # -- helpers -----------------------------------------------------------------

    async def _taken_in(self, ticket: Ticket, *inbound: InboundRef) -> list[MessageRef]:
        """Record channel messages as taken in for ``ticket`` (a second time fails: unique)."""
        now = self.clock.now()
        return [
            await insert(
                MessageRef,
                channel=ref.channel,
                external_id=ref.external_id,
                inbound=True,
                ticket=ticket,
                created_at=now,
            )
            for ref in inbound
        ]

    async def _event(
        self,
        ticket: Ticket,
        kind: EventType,
        actor: Actor,
        *,
        public: bool,
        text: str = "",
        data: dict[str, object] | None = None,
    ) -> TicketEvent:
        values = self._event_values(kind, actor, public=public, text=text, data=data)
        return await insert(TicketEvent, ticket=ticket, **values)

    def _event_values(
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

    async def _attach(
        self, ticket: Ticket, event: TicketEvent, files: Sequence[NewAttachment]
    ) -> list[Attachment]:
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

    def _mark_first_response(self, ticket: Ticket) -> list[str]:
        """Stamp the first response if there was none; the fields changed."""
        if ticket.first_response_at is not None:
            return []
        ticket.first_response_at = self.clock.now()
        return ["first_response_at"]

    async def _save(self, ticket: Ticket, *changed: str) -> None:
        """Stamp ``updated_at`` and write the changed fields if the version is still the one
        read (else ``StaleTicket``)."""
        ticket.updated_at = self.clock.now()
        if CHECKED_FIELDS.intersection(changed):  # the scheduler looks again soon
            ticket.next_check_at = recheck_at(ticket, ticket.updated_at)
            changed = (*changed, "next_check_at")
        await save_changes(ticket, "updated_at", *changed)

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


def assignment_card(ticket: Ticket, language: str | None, contacts: Sequence[Contact] = ()) -> str:
    """The text of a technician's assignment card (``contacts``: the resident's)."""
    place = ", ".join(
        part
        for part in (
            ticket.building.name if ticket.building else "",
            gettext(language, N_("flat {unit}"), unit=ticket.unit.number) if ticket.unit else "",
        )
        if part
    )
    lines = [
        f"{ticket.ref} · {ticket.category.name_in(language)} · {ticket.title}",
        place,
        ticket.description,
    ]
    if ticket.requester:
        lines.append(gettext(language, N_("Resident: {name}"), name=ticket.requester.name))
    if not ticket.verified:
        lines.append(gettext(language, N_("⚠️ Not verified: the resident's flat is not confirmed.")))
    if ticket.needs_attention:
        lines.append(f"⚠️ {gettext(language, ticket.needs_attention)}")
    reachable = [c.value for c in contacts if c.kind in (ContactKind.PHONE, ContactKind.EMAIL)]
    if reachable:
        lines.append(gettext(language, N_("Contact: {contacts}"), contacts=", ".join(reachable)))
    lines += deadline_lines(ticket, language)
    return "\n".join(line for line in lines if line)


def deadline_lines(ticket: Ticket, language: str | None) -> list[str]:
    """Both deadlines, in the building's time zone and the reader's language."""
    lines = []
    if ticket.response_due_at:
        when = local_time(ticket.response_due_at, ticket.building, language)
        lines.append(gettext(language, N_("Respond by: {when}"), when=when))
    if ticket.due_at:
        when = local_time(ticket.due_at, ticket.building, language)
        lines.append(gettext(language, N_("Resolve by: {when}"), when=when))
    return lines


def handover_line(previous: str, waited: int | None, language: str | None) -> str:
    """What a card says when the work comes from a colleague: an escalation when they did
    not accept in ``waited`` minutes, else a reassignment."""
    if waited is not None:
        return gettext(
            language,
            N_("Escalation: {name} had it and did not accept within {minutes} min."),
            name=previous,
            minutes=waited,
        )
    return gettext(language, N_("Reassigned: {name} had it before."), name=previous)


def assignment_actions(
    ticket_id: int, language: str | None, *, accepted: bool = False
) -> tuple[tuple[Action, ...], ...]:
    """Accept / decline / postpone / done on an assignment card, two a row (accepted work
    keeps decline, postpone and done)."""
    labels = {
        Verb.ACCEPT: N_("Accept"),
        Verb.DECLINE: N_("Decline"),
        Verb.POSTPONE: N_("Postpone"),
        Verb.DONE: N_("Done"),
    }
    actions = [
        Action(gettext(language, label), verb, ticket_id)
        for verb, label in labels.items()
        if not (accepted and verb is Verb.ACCEPT)
    ]
    return tuple(tuple(actions[start : start + 2]) for start in range(0, len(actions), 2))


def rating_actions(ticket_id: int, language: str | None) -> tuple[tuple[Action, ...], ...]:
    """1–5 rating and "not fixed" under the "done" message to the requester."""
    return (
        tuple(Action("★" * n, Verb.RATE, ticket_id, n) for n in range(1, 6)),
        (Action(gettext(language, N_("Not fixed")), Verb.REOPEN, ticket_id),),
    )


def local_time(moment: datetime, building: Building | None, language: str | None) -> str:
    """A moment as people in the building read it: their time zone and language."""
    zone = ZoneInfo(building.timezone if building else "UTC")
    return format_datetime(moment, "d MMM, HH:mm", tzinfo=zone, locale=_time_locale(language))


@cache
def _time_locale(language: str | None) -> Locale:
    """The locale times are written in (English for one babel does not know); parsed once,
    since parsing cost more than formatting a time (50 a journal page)."""
    try:
        return Locale.parse(language or "en")
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def _staff_of(actor: Actor) -> Person:
    if actor.person is None:
        raise AccessDenied("only a member of staff can do this")
    require_staff(actor.person)
    return actor.person


def _from_requester(actor: Actor, ticket: Ticket) -> bool:
    return actor.person is not None and actor.person.id == ticket.requester_id  # type: ignore[attr-defined]


def _require_coordinator(actor: Actor) -> None:
    """Corrections are for managers, dispatchers, admins and the operator (no person)."""
    person = actor.person
    if person is not None and not coordinates(person):
        raise AccessDenied(
            f"{person.role.value} may not change or merge tickets",
            message=N_("Only managers and dispatchers can change or merge requests."),
        )


def _follower_status(ticket: Ticket, status: Status) -> Callable[[str], str]:
    """A status change as a follower of ``ticket`` reads it."""
    return lambda language: gettext(
        language,
        N_("Your request {ref} is now: {status}."),
        ref=ticket.ref,
        status=status_name(status, language),
    )


def _follower_reply(ticket: Ticket, text: str) -> Callable[[str], str]:
    """A staff reply as a follower of ``ticket`` reads it."""
    return lambda language: "\n".join(
        [gettext(language, N_("Reply on your request {ref}:"), ref=ticket.ref), text]
    )


async def _building(key: str | int) -> Building:
    """A building by its code, or by its id."""
    if isinstance(key, str):
        return await building_by_code(key)
    found = await Building.get_or_none(id=key)
    if found is None:
        raise NotFound(f"no building with id {key}")
    return found


async def _same_unit(building: Building, number: str) -> str | None:
    """``number`` if ``building`` has a flat of that number."""
    rows = await fetch(_UNIT, building=building.id, number=number)
    return number if rows else None


async def _check_staff_reply(staff: Person, ticket: Ticket, public: bool) -> None:
    """A note needs the ticket in the writer's scope; a technician's word to the resident
    needs the work not to be a colleague's (a reply to an old card after reassignment is
    refused)."""
    await require_scope(staff, ticket)
    if public and not coordinates(staff) and ticket.assignee is not None:
        require_assignee(staff, ticket)


async def _check_status_change(actor: Actor, ticket: Ticket, status: Status) -> None:
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


async def _contacts_of(person: Person | None) -> list[Contact]:
    if person is None:
        return []
    return await Contact.filter(person=person).order_by("id")


async def _coordinators(ticket: Ticket) -> list[Person]:
    building_id = ticket.building_id  # type: ignore[attr-defined]
    people = [*await managers_of(building_id), *await dispatchers_of(building_id)]
    return list({p.id: p for p in people}.values())


def requester_language(ticket: Ticket) -> str:
    """The language the requester reads now (chosen with ``/lang`` after the ticket was
    opened, perhaps), else the ticket's."""
    requester = ticket.requester
    chosen = requester.language if isinstance(requester, Person) else None
    return chosen or ticket.language


def _reply_text(ticket: Ticket, actor: Actor, text: str) -> str:
    header = gettext(requester_language(ticket), N_("Reply on your request {ref}:"), ref=ticket.ref)
    return f"{header}\n{text}"


def _status_text(ticket: Ticket, status: Status, note: str) -> str:
    language = requester_language(ticket)
    line = gettext(
        language,
        N_("Your request {ref} is now: {status}."),
        ref=ticket.ref,
        status=status_name(status, language),
    )
    return f"{line}\n{note.strip()}" if note.strip() else line


def _clean_title(title: str, description: str) -> str:
    text = " ".join(title.split()) or " ".join(description.split())
    if not text:
        raise InvalidInput("a ticket needs a title or a description")
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


async def _person_for_hint(hint: RequesterHint) -> tuple[Person, list[Contact] | None, bool]:
    """The person a contact belongs to (their contacts not read), else a new resident with
    just that contact; True when they were known."""
    value = normalize_contact(hint.kind, hint.value)
    contact = await Contact.get_or_none(kind=hint.kind, value=value).select_related("person")
    if contact is not None:
        return contact.person, None, True
    name = clipped(Person, "name", hint.name.strip() or value)
    person = await Person.create(name=name, role=Role.RESIDENT)
    contact = await Contact.create(person=person, kind=hint.kind, value=value)
    return person, [contact], False


async def _only_building_of(person: Person) -> Building | None:
    rows = await fetch(_BUILDINGS_OF_RESIDENT, person=person.id)
    if len(rows) != 1:
        return None
    return from_row(Building, rows[0])


async def _unit(building: Building | None, number: str) -> Unit:
    if building is None:
        raise InvalidInput(
            "a unit needs a building", message=N_("Please set the building before the flat.")
        )
    rows = await fetch(_UNIT, building=building.id, number=number.strip())
    if not rows:
        raise NotFound(
            f"building {building.code} has no unit {number!r}",
            message=N_("{building} has no flat {unit}."),
            building=building.name,
            unit=number.strip(),
        )
    return from_row(Unit, rows[0])
