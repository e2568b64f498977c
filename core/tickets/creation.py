"""Opening a ticket: its requester, building, flat and deadlines, the acknowledgement, the
creation hooks' routing decisions, and the dispatchers' question when the building is not
known. A channel message taken in twice opens one ticket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.directory.lookup import (
    building_by_code,
    category_by_code,
    person_and_contacts,
    person_by_contact,
)
from core.directory.residents import flats_in
from core.directory.verification import unverified_flats
from core.errors import InvalidInput, NotFound
from core.i18n import N_, gettext
from core.messaging.message import Action, Verb
from core.messaging.staff_messages import dispatchers_of
from core.operations.calendar import BusinessCalendar
from core.operations.deadlines import due_times, recheck_at
from core.storage.models import (
    Attachment,
    Building,
    Category,
    Channel,
    Contact,
    EventType,
    Person,
    Ticket,
    TicketEvent,
    Unit,
)
from core.storage.rows import insert_pair
from core.storage.together import read_both
from core.tickets.commands import InboundRef, NewTicket
from core.tickets.lookups import only_building_of, person_for_hint, unit_in
from core.tickets.queries import TicketQueries
from core.tickets.recorder import TicketRecorder
from core.tickets.timeline import Saying
from core.tickets.versioned import save_changes

TITLE_MAX = 300
FLAT_FROM_DIRECTORY = frozenset({Channel.EMAIL, Channel.VOICEMAIL})
"""Channels whose requester names no flat: a known resident's only flat there is taken."""


@dataclass(frozen=True)
class CreateResult:
    """A ticket and whether this call created it (False: a repeated delivery)."""

    ticket: Ticket
    created: bool


_Requester = tuple[Person | None, list[Contact] | None, bool]
"""The requester, their contacts (None: not read) and whether they were known."""


@dataclass(frozen=True)
class _Placed:
    """Who asked for a new ticket and where (see :meth:`TicketCreation._placed`)."""

    requester: Person | None
    contacts: list[Contact] | None
    building: Building | None
    unit: Unit | None
    homes: list[Unit]
    verified: bool


@dataclass(frozen=True)
class Routed:
    """A creation hook's decision about a new ticket, which :meth:`TicketCreation.create`
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


async def building_askees() -> list[tuple[Person, list[Building]]]:
    """The dispatchers asked for a new ticket's building, each with the buttons' buildings:
    those they serve, every building for those serving none."""
    everywhere: list[Building] | None = None
    askees = []
    for person in await dispatchers_of(None):
        served = await person.buildings.all().order_by("code")
        if not served:
            everywhere = everywhere or await Building.all().order_by("code")
            served = everywhere
        askees.append((person, served))
    return askees


def clean_title(title: str, description: str) -> str:
    """A title on one line (else the description's start), at most ``TITLE_MAX`` long."""
    text = " ".join(title.split()) or " ".join(description.split())
    if not text:
        raise InvalidInput("a ticket needs a title or a description")
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


class TicketCreation:
    """Opens tickets: one transaction writes the ticket, its first event, what it was taken
    in from, its files, the acknowledgement and the hooks' decisions."""

    def __init__(
        self, queries: TicketQueries, recorder: TicketRecorder, hooks: list[CreationHook]
    ) -> None:
        self.queries = queries
        self.recorder = recorder
        self.hooks = hooks
        """The service's list: hooks added to it later run too."""

    async def create(
        self,
        cmd: NewTicket,
        *,
        also_seen: Sequence[InboundRef] = (),
        inbound_checked: bool = False,
    ) -> CreateResult:
        """Open a ticket; a delivery seen before returns the ticket it made (see
        :meth:`core.tickets.service.TicketService.create`)."""
        title = clean_title(cmd.title, cmd.description)
        category = await category_by_code(cmd.category)
        building = await building_by_code(cmd.building) if cmd.building else None
        if (
            cmd.inbound
            and not inbound_checked
            and (existing := await self._ticket_of_inbound(cmd.inbound))
        ):
            return CreateResult(existing, created=False)
        # read first, so that the transaction holds the write lock for its writes alone
        placed = await self._placed_before(cmd, building)
        unplaced = (placed.building if placed else building) is None
        askees = await building_askees() if unplaced else None
        taken_in = [cmd.inbound, *also_seen] if cmd.inbound else list(also_seen)
        try:
            async with in_transaction():
                placed = placed or await self._placed(cmd, building, await self._requester(cmd))
                ticket, event = await self._create(cmd, title, category, placed, taken_in)
                if ticket.building_id is None:  # type: ignore[attr-defined]
                    await self._ask_building(ticket, event, askees)
        except IntegrityError:  # taken in meanwhile, by its own reference or another's
            for ref in taken_in:
                if existing := await self._ticket_of_inbound(ref):
                    return CreateResult(existing, created=False)
            raise
        return CreateResult(ticket, created=True)

    async def _placed_before(self, cmd: NewTicket, building: Building | None) -> _Placed | None:
        """Who asked and where, read before the transaction; None when the requester may be
        new (a contact nobody has yet), created in the transaction. The requester, their
        building and their claims are asked for together (:func:`read_both`)."""
        requester_id = cmd.requester_id
        if requester_id is None and cmd.requester is not None:
            person = await person_by_contact(cmd.requester.kind, cmd.requester.value)
            if person is None:
                return None
            requester_id = person.id
        if requester_id is None:
            return await self._placed(cmd, building, (None, None, False))
        found, (home, unverified) = await read_both(
            person_and_contacts(requester_id), _home(building, requester_id)
        )
        if found is None:
            if cmd.requester_id is None:
                return None  # the contact's person went meanwhile: a new one, then
            raise NotFound(f"no person with id {requester_id}")
        return await self._placed_at(cmd, found[0], found[1], home, unverified)

    async def _placed(self, cmd: NewTicket, building: Building | None, who: _Requester) -> _Placed:
        """Where the ticket belongs: the building (the requester's if they live in one), the
        flat, and whether the requester is verified."""
        requester, contacts, known = who
        if requester is None or not known:
            unit = await unit_in(building, cmd.unit) if cmd.unit else None
            return _Placed(requester, contacts, building, unit, [], known)
        home, unverified = await _home(building, requester.id)
        return await self._placed_at(cmd, requester, contacts, home, unverified)

    async def _placed_at(
        self,
        cmd: NewTicket,
        requester: Person,
        contacts: list[Contact] | None,
        building: Building | None,
        unverified: set[int],
    ) -> _Placed:
        """A known requester's ticket placed in ``building``: the flat (named, else their
        only one there for mail and voicemail) and whether their claim to it is verified."""
        unit = await unit_in(building, cmd.unit) if cmd.unit else None
        homes: list[Unit] = []
        if unit is None and building and cmd.channel in FLAT_FROM_DIRECTORY:
            homes = await flats_in(requester, building)
            unit = homes[0] if len(homes) == 1 else None
        verified = unit.id not in unverified if unit else not unverified
        return _Placed(requester, contacts, building, unit, homes, verified)

    async def _create(
        self,
        cmd: NewTicket,
        title: str,
        category: Category,
        placed: _Placed,
        taken_in: Sequence[InboundRef],
    ) -> tuple[Ticket, TicketEvent]:
        now = self.recorder.clock.now()
        requester, contacts, building = placed.requester, placed.contacts, placed.building
        unit, homes, verified = placed.unit, placed.homes, placed.verified
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
            self.recorder.event_values(
                EventType.CREATED,
                cmd.actor,
                public=True,
                text=cmd.description.strip(),
                data={"channel": cmd.channel.value, "title": title},
            ),
        )
        if len(homes) > 1:
            flats = Saying("flat_not_chosen", {"flats": ", ".join(h.number for h in homes)})
            await self.recorder.event(
                ticket,
                EventType.ROUTING,
                cmd.actor,
                public=False,
                text=str(flats),
                data={"decision": "flat", **flats.as_data()},
            )
        refs = await self.recorder.taken_in(ticket, *taken_in)
        files = await self.recorder.attach(ticket, event, cmd.attachments)
        if cmd.acknowledge:  # before what routing tells the requester (out of hours)
            text = gettext(
                language,
                N_("Your request {ref} is registered: {title}. We will keep you informed here."),
                ref=ticket.ref,
                title=title.rstrip(".!?…。！？"),
            )
            await self.recorder.notifier.to_requester(
                ticket, requester, event, text, auto_reply=True, contacts=contacts, thread=refs
            )
        for hook in self.hooks:
            routed = await hook(ticket, event, cmd)
            if routed is not None:
                await self._apply(ticket, routed, files, contacts)
        return ticket, event

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
            ticket.next_check_at = recheck_at(ticket, self.recorder.clock.now())
            changed += ["category", "priority", "response_due_at", "due_at", "next_check_at"]
        if routed.assignee is not None:
            await self.recorder.hand_to(
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
        return await self.queries.ticket_for_message(inbound.channel, inbound.external_id)

    async def _requester(self, cmd: NewTicket) -> _Requester:
        """The requester and their contacts (None: not read), and whether they were known."""
        if cmd.requester_id is not None:
            found = await person_and_contacts(cmd.requester_id)
            if found is None:
                raise NotFound(f"no person with id {cmd.requester_id}")
            return found[0], found[1], True
        if cmd.requester is None:
            return None, None, False
        return await person_for_hint(cmd.requester)

    async def _ask_building(
        self,
        ticket: Ticket,
        event: TicketEvent,
        askees: list[tuple[Person, list[Building]]] | None,
    ) -> None:
        """A new ticket whose building is not known: each dispatcher is asked to set it, with
        a button per building they serve (``askees``, read now if not read before)."""
        for person, served in askees if askees is not None else await building_askees():
            text = gettext(
                person.language,
                N_("{ref} «{title}»: the building is not known. Which building is it?"),
                ref=ticket.ref,
                title=ticket.title,
            )
            buttons = [Action(b.name, Verb.SET_BUILDING, ticket.id, b.id) for b in served]
            rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
            await self.recorder.notifier.to_staff(person, ticket, event, text, actions=rows)


async def _home(building: Building | None, person_id: int) -> tuple[Building | None, set[int]]:
    """The building (``building`` when given, else the person's only one) and the flats
    of the person's claims nobody verified yet, asked for together (:func:`read_both`)."""
    if building is not None:
        return building, await unverified_flats(person_id)
    return await read_both(only_building_of(person_id), unverified_flats(person_id))
