"""Corrections by managers, dispatchers and the operator: a ticket's building, flat or
category set right, and a duplicate merged into the ticket it repeats."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.directory.lookup import category_by_code
from core.errors import InvalidInput, Msgid
from core.i18n import N_, gettext
from core.operations.calendar import BusinessCalendar
from core.operations.deadlines import due_times
from core.storage.models import EventType, Status, Ticket, TicketEvent
from core.tickets.cards import requester_language
from core.tickets.guards import require_coordinator
from core.tickets.lookups import building_by_key, same_unit, unit_in
from core.tickets.queries import TicketQueries, TicketRef
from core.tickets.recorder import TicketRecorder
from core.tickets.timeline import Saying
from core.tickets.workflow import STATUS_NAMES

_CHANGED = {"building": "building_is", "unit": "flat_is", "category": "category_is"}
"""What a correction says of each field it changed."""


class TicketCorrections:
    """Edits and merges tickets, each a version-checked change with its timeline events."""

    def __init__(self, queries: TicketQueries, recorder: TicketRecorder) -> None:
        self.queries = queries
        self.recorder = recorder

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
        require_coordinator(actor)
        ticket = await self.queries.load(ref)
        changes: dict[str, object] = {}
        if building is not None:
            new = await building_by_key(building)
            if new.id != ticket.building_id:  # type: ignore[attr-defined]
                ticket.building = new
                changes["building"] = new.code
                if unit is None and ticket.unit is not None:
                    unit = await same_unit(new, ticket.unit.number)
                    if unit is None:
                        ticket.unit = None
                        changes["unit"] = None
        if unit is not None:
            flat = await unit_in(ticket.building, unit)
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
        corrected = Saying(
            "corrected",
            {"changes": [Saying(_CHANGED[n], {"value": v or "—"}) for n, v in changes.items()]},
        )
        async with in_transaction():
            await self.recorder.save(ticket, *fields)
            return await self.recorder.event(
                ticket,
                EventType.ROUTING,
                actor,
                public=False,
                text=str(corrected),
                data={"decision": "edit", **changes, **corrected.as_data()},
            )

    async def merge(
        self, duplicate_ref: TicketRef, survivor_ref: TicketRef, actor: Actor
    ) -> Ticket:
        """Close a duplicate with a link to the ticket it repeats, in one transaction: the
        duplicate's requester follows the survivor from now on and is told; both timelines
        record it. Both tickets are version-checked."""
        require_coordinator(actor)
        duplicate = await self.queries.load(duplicate_ref)
        survivor = await self.queries.load(survivor_ref)
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
        now = self.recorder.clock.now()
        async with in_transaction():
            previous = duplicate.status
            duplicate.status, duplicate.closed_at = Status.CLOSED, now
            duplicate.linked_to = survivor
            await self.recorder.save(duplicate, "status", "closed_at", "linked_to")
            into = Saying("merged_into", {"other": survivor.ref})
            closed = await self.recorder.event(
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
            await self.recorder.save(survivor)
            joined = Saying("merged_from", {"other": duplicate.ref})
            await self.recorder.event(
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
            await self.recorder.notifier.to_requester(duplicate, duplicate.requester, closed, told)
        return survivor
