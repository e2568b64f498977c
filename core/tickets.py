"""The ticket service: the one place that changes tickets.

Every change runs in one transaction that writes the ticket, its timeline event and the
outbox rows that tell people about it, so history, reports and notifications agree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.access import require_see, visibility
from core.actors import Actor
from core.clock import Clock
from core.commands import InboundRef, NewAttachment, NewTicket, RequesterHint
from core.deadlines import due_times
from core.directory import (
    building_by_code,
    category_by_code,
    normalize_contact,
    person_and_contacts,
)
from core.errors import InvalidInput, NotFound
from core.i18n import N_, gettext
from core.models import (
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
from core.notify import Notifier, ticket_button
from core.views import ticket_detail
from core.workflow import check_transition

TITLE_MAX = 300
RELATED = ("building", "unit", "category", "requester", "assignee")

STATUS_NAMES = {
    Status.NEW: N_("new"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.ON_HOLD: N_("on hold"),
    Status.DONE: N_("done"),
    Status.CLOSED: N_("closed"),
    Status.REJECTED: N_("rejected"),
    Status.REOPENED: N_("reopened"),
}


def parse_ref(ref: str | int) -> int:
    """Turn ``#42``, ``42`` or ``[#42]`` into the ticket number."""
    text = str(ref).strip().strip("[]").lstrip("#").strip()
    if not text.isdigit():
        raise InvalidInput(f"not a ticket reference: {ref!r} (expected something like #42)")
    return int(text)


def status_name(status: Status, language: str | None) -> str:
    """The status as residents read it, in their language."""
    return gettext(language, STATUS_NAMES[status])


@dataclass(frozen=True)
class CreateResult:
    """A ticket and whether this call created it (False: a repeated delivery)."""

    ticket: Ticket
    created: bool


CreationHook = Callable[[Ticket, TicketEvent], Awaitable[None]]
"""Runs inside the creating transaction (e.g. automatic assignment)."""


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
    ) -> list[Ticket]:
        """Tickets newest first, filtered, limited to what ``viewer`` may see."""
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
        return await query

    async def detail(self, ref: str | int, viewer: Person | None = None) -> dict[str, object]:
        """The JSON view of a ticket with its timeline (``tickets show``)."""
        ticket = await self.get_for(ref, viewer)
        events = await TicketEvent.filter(ticket=ticket).order_by("at", "id")
        if viewer is not None and not viewer.is_staff:
            events = [e for e in events if e.public]
        attachments = await Attachment.filter(ticket=ticket).order_by("id")
        return ticket_detail(ticket, events, attachments)

    async def ticket_for_message(self, channel: str, external_id: str) -> Ticket | None:
        """The ticket a channel message id (ours or theirs) belongs to."""
        ref = await MessageRef.get_or_none(channel=channel, external_id=external_id)
        if ref is None or ref.ticket_id is None:  # type: ignore[attr-defined]
            return None
        return await self.get(ref.ticket_id)  # type: ignore[attr-defined]

    async def created_since(
        self, channel: Channel, kind: ContactKind, value: str, since: datetime
    ) -> int:
        """How many tickets the owner of a contact opened through ``channel`` since ``since``."""
        contact = await Contact.get_or_none(kind=kind, value=normalize_contact(kind, value))
        if contact is None:
            return 0
        return await Ticket.filter(
            requester_id=contact.person_id,  # type: ignore[attr-defined]
            channel=channel,
            created_at__gte=since,
        ).count()

    async def seen(self, inbound: InboundRef) -> bool:
        """True when this channel message was already taken in."""
        return await MessageRef.exists(channel=inbound.channel, external_id=inbound.external_id)

    # -- creating ----------------------------------------------------------------

    async def create(self, cmd: NewTicket) -> CreateResult:
        """Open a ticket; a delivery seen before returns the ticket it made."""
        title = _clean_title(cmd.title, cmd.description)
        category = await category_by_code(cmd.category)
        building = await building_by_code(cmd.building) if cmd.building else None
        if cmd.inbound and (existing := await self._ticket_of_inbound(cmd.inbound)):
            return CreateResult(existing, created=False)
        try:
            async with in_transaction():
                ticket = await self._create(cmd, title, category, building)
        except IntegrityError:
            if cmd.inbound and (existing := await self._ticket_of_inbound(cmd.inbound)):
                return CreateResult(existing, created=False)
            raise
        return CreateResult(ticket, created=True)

    async def _create(
        self, cmd: NewTicket, title: str, category: Category, building: Building | None
    ) -> Ticket:
        now = self.clock.now()
        requester, contacts, known = await self._requester(cmd)
        if building is None and requester is not None:
            building = await _only_building_of(requester)
        unit = await _unit(building, cmd.unit) if cmd.unit else None
        response_due, due = due_times(category, now)
        language = (
            cmd.language
            or (requester.language if requester else None)
            or (building.language if building else "en")
        )
        ticket = await Ticket.create(
            building=building,
            unit=unit,
            requester=requester,
            category=category,
            priority=category.priority,
            channel=cmd.channel,
            title=title,
            description=cmd.description.strip(),
            language=language,
            verified=known or cmd.channel in (Channel.CLI, Channel.PHONE),
            needs_attention=cmd.needs_attention,
            linked_to_id=cmd.linked_to,
            assignee=None,
            created_at=now,
            updated_at=now,
            response_due_at=response_due,
            due_at=due,
        )
        if cmd.inbound:
            await MessageRef.create(
                channel=cmd.inbound.channel,
                external_id=cmd.inbound.external_id,
                inbound=True,
                ticket=ticket,
                created_at=now,
            )
        event = await self._event(
            ticket,
            EventType.CREATED,
            cmd.actor,
            public=True,
            text=cmd.description.strip(),
            data={"channel": cmd.channel.value, "title": title},
        )
        await self._attach(ticket, event, cmd.attachments)
        for hook in self.on_created:
            await hook(ticket, event)
        if cmd.acknowledge:
            text = gettext(
                language,
                N_("Your request {ref} is registered: {title}. We will keep you informed here."),
                ref=ticket.ref,
                title=title,
            )
            await self.notifier.to_requester(
                ticket, requester, event, text, auto_reply=True, contacts=contacts
            )
        return ticket

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
        person, known = await _person_for_hint(cmd.requester)
        return person, None, known

    # -- changing ----------------------------------------------------------------

    async def reply(
        self,
        ref: str | int,
        actor: Actor,
        text: str,
        *,
        public: bool = True,
        attachments: Sequence[NewAttachment] = (),
        inbound: InboundRef | None = None,
    ) -> TicketEvent:
        """Add a public reply or an internal note; public staff replies reach the requester."""
        text = text.strip()
        if not text and not attachments:
            raise InvalidInput("a reply needs text or an attachment")
        ticket = await self.get(ref)
        author = actor.person
        if author is not None and not author.is_staff and not public:
            raise InvalidInput("residents cannot write internal notes")
        if author is not None and not author.is_staff:
            await require_see(author, ticket)
        async with in_transaction():
            if inbound is not None:
                await MessageRef.create(
                    channel=inbound.channel,
                    external_id=inbound.external_id,
                    inbound=True,
                    ticket=ticket,
                    created_at=self.clock.now(),
                )
            kind = EventType.PUBLIC_REPLY if public else EventType.INTERNAL_NOTE
            event = await self._event(ticket, kind, actor, public=public, text=text)
            files = await self._attach(ticket, event, attachments)
            from_requester = author is not None and author.id == ticket.requester_id  # type: ignore[attr-defined]
            if public and not from_requester:
                await self._mark_first_response(ticket)
                await self.notifier.to_requester(
                    ticket, ticket.requester, event, _reply_text(ticket, actor, text), files=files
                )
            if public and from_requester and ticket.assignee is not None:
                await self.notifier.to_staff(
                    ticket.assignee,
                    ticket,
                    event,
                    gettext(
                        ticket.assignee.language,
                        N_("{ref}: the resident wrote: {text}"),
                        ref=ticket.ref,
                        text=text,
                    ),
                    files=files,
                )
            await self._touch(ticket)
        return event

    async def change_status(
        self,
        ref: str | int,
        actor: Actor,
        status: Status,
        *,
        note: str = "",
        attachments: Sequence[NewAttachment] = (),
    ) -> TicketEvent:
        """Move a ticket along the workflow; a forbidden move raises ``InvalidTransition``."""
        ticket = await self.get(ref)
        previous = ticket.status
        check_transition(previous, status)
        now = self.clock.now()
        async with in_transaction():
            ticket.status = status
            if status == Status.DONE:
                ticket.resolved_at = now
            elif status == Status.CLOSED:
                ticket.closed_at = now
            elif status == Status.REOPENED:
                ticket.resolved_at = None
                ticket.closed_at = None
            if status == Status.IN_PROGRESS:
                await self._mark_first_response(ticket)
            event = await self._event(
                ticket,
                EventType.STATUS_CHANGED,
                actor,
                public=True,
                text=note.strip(),
                data={"from": previous.value, "to": status.value},
            )
            files = await self._attach(ticket, event, attachments)
            await self._touch(ticket)
            await self.notifier.to_requester(
                ticket, ticket.requester, event, _status_text(ticket, status, note), files=files
            )
        return event

    async def assign(
        self, ref: str | int, actor: Actor, assignee: Person, *, reason: str = ""
    ) -> TicketEvent:
        """Give the ticket to a member of staff and send them the assignment card."""
        if not assignee.is_staff:
            raise InvalidInput(f"{assignee.name} is not staff")
        ticket = await self.get(ref)
        async with in_transaction():
            previous = ticket.assignee.name if ticket.assignee else None
            ticket.assignee = assignee
            event = await self._event(
                ticket,
                EventType.ASSIGNED,
                actor,
                public=False,
                text=reason,
                data={"from": previous, "to": assignee.name, "to_id": assignee.id},
            )
            await self._touch(ticket)
            await self.notifier.to_staff(
                assignee,
                ticket,
                event,
                assignment_card(ticket, assignee.language),
                buttons=assignment_buttons(ticket, assignee.language),
            )
        return event

    async def rate(
        self, ref: str | int, actor: Actor, rating: int, comment: str = ""
    ) -> TicketEvent:
        """Record the requester's 1–5 rating of finished work."""
        if not 1 <= rating <= 5:
            raise InvalidInput("a rating is a whole number from 1 to 5")
        ticket = await self.get(ref)
        if ticket.status not in (Status.DONE, Status.CLOSED):
            raise InvalidInput(f"ticket {ticket.ref} is not done yet")
        async with in_transaction():
            ticket.rating = rating
            ticket.rating_comment = comment.strip()
            event = await self._event(
                ticket,
                EventType.RATING,
                actor,
                public=True,
                text=comment.strip(),
                data={"rating": rating},
            )
            await self._touch(ticket)
        return event

    async def record(
        self,
        ref: str | int,
        actor: Actor,
        kind: EventType,
        text: str,
        *,
        data: dict[str, object] | None = None,
        inbound: InboundRef | None = None,
    ) -> TicketEvent:
        """Add an internal timeline event that tells nobody (a bounce, a routing decision)."""
        ticket = await self.get(ref)
        async with in_transaction():
            if inbound is not None:
                await MessageRef.create(
                    channel=inbound.channel,
                    external_id=inbound.external_id,
                    inbound=True,
                    ticket=ticket,
                    created_at=self.clock.now(),
                )
            return await self._event(ticket, kind, actor, public=False, text=text, data=data)

    # -- helpers -----------------------------------------------------------------

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
        return await TicketEvent.create(
            ticket=ticket,
            type=kind,
            public=public,
            text=text,
            actor=actor.person,
            actor_label=actor.label,
            data=data or {},
            at=self.clock.now(),
        )

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

    async def _mark_first_response(self, ticket: Ticket) -> None:
        if ticket.first_response_at is None:
            ticket.first_response_at = self.clock.now()

    async def _touch(self, ticket: Ticket) -> None:
        ticket.updated_at = self.clock.now()
        await ticket.save()


def assignment_card(ticket: Ticket, language: str | None) -> str:
    """The text of a technician's assignment card."""
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
    if ticket.due_at:
        lines.append(
            gettext(language, N_("Due: {due}"), due=ticket.due_at.strftime("%Y-%m-%d %H:%M UTC"))
        )
    return "\n".join(line for line in lines if line)


def assignment_buttons(ticket: Ticket, language: str | None) -> list[list[dict[str, str]]]:
    """Accept / decline / postpone / done buttons for an assignment card."""
    return [
        [
            ticket_button(gettext(language, N_("Accept")), "accept", ticket.id),
            ticket_button(gettext(language, N_("Decline")), "decline", ticket.id),
        ],
        [
            ticket_button(gettext(language, N_("Postpone")), "postpone", ticket.id),
            ticket_button(gettext(language, N_("Done")), "done", ticket.id),
        ],
    ]


def _reply_text(ticket: Ticket, actor: Actor, text: str) -> str:
    header = gettext(ticket.language, N_("Reply on your request {ref}:"), ref=ticket.ref)
    return f"{header}\n{text}"


def _status_text(ticket: Ticket, status: Status, note: str) -> str:
    line = gettext(
        ticket.language,
        N_("Your request {ref} is now: {status}."),
        ref=ticket.ref,
        status=status_name(status, ticket.language),
    )
    return f"{line}\n{note.strip()}" if note.strip() else line


def _clean_title(title: str, description: str) -> str:
    text = " ".join(title.split()) or " ".join(description.split())
    if not text:
        raise InvalidInput("a ticket needs a title or a description")
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


async def _person_for_hint(hint: RequesterHint) -> tuple[Person, bool]:
    value = normalize_contact(hint.kind, hint.value)
    contact = await Contact.get_or_none(kind=hint.kind, value=value).select_related("person")
    if contact is not None:
        return contact.person, True
    person = await Person.create(name=hint.name.strip() or value, role=Role.RESIDENT)
    await Contact.create(person=person, kind=hint.kind, value=value)
    return person, False


async def _only_building_of(person: Person) -> Building | None:
    buildings = {u.building_id for u in await person.units.all()}  # type: ignore[attr-defined]
    if len(buildings) != 1:
        return None
    return await Building.get(id=buildings.pop())


async def _unit(building: Building | None, number: str) -> Unit:
    if building is None:
        raise InvalidInput("a unit needs a building")
    unit = await Unit.get_or_none(building=building, number=number.strip())
    if unit is None:
        raise NotFound(f"building {building.code} has no unit {number!r}")
    return unit
