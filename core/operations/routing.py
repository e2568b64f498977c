"""Automatic routing: category from keywords, deadlines, then an assignee, a wait or a duty list.

:meth:`Router.on_created` is a ticket-creation hook: it runs inside the transaction that
creates the ticket, so a ticket never exists without its routing. It writes its own records
(``routing`` events, waits and duty ladders) and returns the decision about the ticket
itself (category, deadlines, assignee), which the ticket service applies on the objects it
holds. A mail or voicemail arrives classified by its channel (``NewTicket.classification``):
routing records that outcome instead of classifying the text again. In business hours the
ticket goes to the member of staff who serves its building (or the building's zone), has
the category's trade, is on shift and not away, and has the fewest open tickets
(:mod:`core.operations.assignment_rules`); with nobody like that it stays in the
dispatchers' queue. Out of hours an emergency walks the duty roster (then the managers),
one person every ``escalate_after_minutes`` until someone accepts; anything else waits for
the opening, and the requester is told so.
Every decision is a ``routing`` timeline event with its reason and data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.directory.lookup import all_categories, contact_of
from core.errors import StaleTicket
from core.i18n import N_, gettext, normalize_language
from core.messaging.notifications import work_chat_of
from core.messaging.routes import Priority
from core.messaging.staff_messages import managers_of, message_staff
from core.operations.assignment_rules import choose
from core.operations.calendar import BusinessCalendar, absences_around, unavailable_reason
from core.operations.classify import KeywordClassifier
from core.operations.deadlines import due_times
from core.storage.models import (
    Absence,
    Category,
    Channel,
    ContactKind,
    DutyRoster,
    EventType,
    Person,
    PlanKind,
    RoutingPlan,
    Status,
    Ticket,
    TicketEvent,
)
from core.storage.rows import insert, insert_later
from core.tickets.cards import assignment_actions, local_moment
from core.tickets.commands import NewTicket
from core.tickets.creation import Routed
from core.tickets.service import TicketService
from core.tickets.timeline import Saying, passing_over, skipped_data

ROUTING = Actor.system("routing")
DEFAULT_ESCALATE_MINUTES = 15
CLASSIFIED_CHANNELS = frozenset({Channel.EMAIL, Channel.VOICEMAIL})


@dataclass(frozen=True)
class Pick:
    """Who a routing step gives the ticket to, and why (``page_step``: a duty list's step,
    whose person is paged once the ticket is theirs)."""

    person: Person
    reason: str | Saying
    page_step: int | None = None
    waited: int | None = None
    """An escalation: the minutes the previous person on the duty list had to accept."""


class Router:
    """Routes new tickets and walks what is left to route (waits, duty ladders)."""

    def __init__(
        self,
        tickets: TicketService,
        classifier: KeywordClassifier | None = None,
        *,
        classified_channels: frozenset[Channel] = CLASSIFIED_CHANNELS,
    ) -> None:
        self.tickets = tickets
        self.classifier = classifier
        self.classified_channels = classified_channels

    # -- the creation hook ---------------------------------------------------------

    async def on_created(self, ticket: Ticket, event: TicketEvent, cmd: NewTicket) -> Routed:
        """Classify, then assign, wait for opening hours or call the duty list: the decision
        (a new category with its deadlines, an assignee) for the creating service to apply."""
        now = self.tickets.clock.now()
        calendar = BusinessCalendar.of(ticket.building)
        category = await self._classify(ticket, cmd, now)
        if category is not None:
            ticket.category, ticket.priority = category, category.priority
        if calendar.is_open(now):
            pick = await self._by_rules(ticket, now)
        elif ticket.category.emergency:
            pick = await self._start_ladder(ticket, now)
        else:
            pick = await self._defer(ticket, calendar, now)
        response_due, due = (
            due_times(category, ticket.created_at, calendar) if category else (None, None)
        )
        return Routed(
            ROUTING,
            category=category,
            response_due_at=response_due,
            due_at=due,
            assignee=pick.person if pick else None,
            reason=pick.reason if pick else "",
            then=partial(self._page, ticket, pick, now) if pick else None,
        )

    async def _classify(self, ticket: Ticket, cmd: NewTicket, now: datetime) -> Category | None:
        """Record the keyword classification (the channel's, else made here); the new
        category when it differs from the ticket's."""
        if self.classifier is None or ticket.channel not in self.classified_channels:
            return None
        previous = ticket.category.code
        result = cmd.classification
        categories: list[Category] = []
        if result is None:
            categories = await all_categories()
            text = f"{ticket.title}\n{ticket.description}"
            result = self.classifier.classify(text, categories)
        data: dict[str, object] = {"decision": "category", "category": previous}
        if cmd.classification is None:
            data["previous"] = previous
        if result.category is None:
            says = Saying("no_keyword", {"category": previous})
        else:
            found = list(result.found)
            says = Saying("keyword_category", {"category": result.category, "keywords": found})
            data["category"] = result.category
        data |= {"matched": result.found, "keywords": [m.keyword for m in result.matches]}
        await self._note(ticket, str(says), now, data | says.as_data())
        if result.category is None or result.category == previous:
            return None
        return next(c for c in categories or await all_categories() if c.code == result.category)

    # -- assignment rules ------------------------------------------------------------

    async def _by_rules(self, ticket: Ticket, now: datetime) -> Pick | None:
        """Pick by building or zone, trade, shift and load; else leave it in the queue."""
        choice = await choose(ticket, now)
        trade = ticket.category.trade or "technician"
        skill = ticket.category.trade or Saying("technician")  # a code, else a word to translate
        if choice.person is None:
            why = (
                Saying("building_unknown")
                if ticket.building is None
                else Saying("nobody_on_shift", {"trade": skill, "scope": choice.scope})
            )
            queued = passing_over(Saying("queued", {"reason": why}), choice.skipped)
            await self._note(
                ticket,
                str(queued),
                now,
                {
                    "decision": "queue",
                    "reason": str(why),
                    "skipped": skipped_data(choice.skipped),
                    **queued.as_data(),
                },
            )
            return None
        person = choice.person
        reason = Saying(
            "fewest_open",
            {"trade": skill, "scope": choice.scope, "open": choice.load[person.name]},
        )
        assigned = passing_over(
            Saying("assigned_by_rules", {"name": person.name, "reason": reason}), choice.skipped
        )
        await self._note(
            ticket,
            str(assigned),
            now,
            {
                **assigned.as_data(),
                "decision": "assign",
                "assignee": person.name,
                "assignee_id": person.id,
                "trade": trade,
                "scope": str(choice.scope),
                "open_tickets": choice.load,
                "skipped": skipped_data(choice.skipped),
            },
        )
        return Pick(person, reason)

    # -- out of hours ------------------------------------------------------------------

    async def _defer(
        self, ticket: Ticket, calendar: BusinessCalendar, now: datetime
    ) -> Pick | None:
        opening = calendar.next_opening(now)
        if opening is None:
            return await self._by_rules(ticket, now)
        await RoutingPlan.create(
            ticket=ticket, kind=PlanKind.DEFERRED, started_at=now, next_at=opening
        )
        language = normalize_language(ticket.language)
        when = local_moment(opening, calendar.tz, language, full=True)
        text = gettext(
            language,
            N_(
                "We received your request {ref} outside office hours. "
                "We will deal with it from {when}."
            ),
            ref=ticket.ref,
            when=when,
        )
        event = await self._event(
            ticket,
            text,
            now,
            {"decision": "wait", "until": opening.isoformat(), "timezone": str(calendar.tz)},
            public=True,
        )
        # An automatic answer, like the acknowledgement: it goes in the same lane, after it.
        await self.tickets.notifier.to_requester(
            ticket, ticket.requester, event, text, auto_reply=True
        )
        return None

    async def _start_ladder(self, ticket: Ticket, now: datetime) -> Pick | None:
        """Start walking the duty roster, then the managers, for an after-hours emergency."""
        roster = (
            await DutyRoster.filter(building_id=ticket.building_id).order_by("id").first()  # type: ignore[attr-defined]
            or await DutyRoster.filter(building_id__isnull=True).order_by("id").first()
        )
        managers = await managers_of(ticket.building_id)  # type: ignore[attr-defined]
        members = list(
            dict.fromkeys([*(roster.member_ids if roster else []), *(m.id for m in managers)])
        )
        if not members:
            return await self._by_rules(ticket, now)
        plan = await RoutingPlan.create(
            ticket=ticket,
            kind=PlanKind.DUTY,
            member_ids=members,
            step=-1,
            escalate_after_minutes=roster.escalate_after_minutes
            if roster
            else DEFAULT_ESCALATE_MINUTES,
            started_at=now,
            next_at=now,
        )
        return await self._ladder_step(plan, ticket, now)

    async def _ladder_step(self, plan: RoutingPlan, ticket: Ticket, now: datetime) -> Pick | None:
        """Stop the ladder if someone accepted, else pick and page the next available person."""
        if plan.step >= 0 and await ladder_accepted(ticket.id, plan):
            await _finish(plan, now, "accepted")
            return None
        people = {p.id: p for p in await Person.filter(id__in=plan.member_ids)}
        absences = await absences_around(plan.member_ids, now)
        tz = BusinessCalendar.of(ticket.building).tz
        previous = people.get(plan.member_ids[plan.step]) if plan.step >= 0 else None
        why = (
            Saying("after_hours")
            if previous is None
            else Saying(
                "not_accepted", {"name": previous.name, "minutes": plan.escalate_after_minutes}
            )
        )
        skipped: list[Saying] = []
        for index in range(plan.step + 1, len(plan.member_ids)):
            person = people.get(plan.member_ids[index])
            if person is None:
                continue
            reason = await _duty_unavailable(person, absences, now, tz)
            if reason is not None:
                skipped.append(reason)
                continue
            step = passing_over(
                Saying(
                    "duty_step",
                    {
                        "step": index + 1,
                        "of": len(plan.member_ids),
                        "name": person.name,
                        "reason": why,
                    },
                ),
                skipped,
            )
            await self._note(
                ticket,
                str(step),
                now,
                {
                    "decision": "duty",
                    "step": index + 1,
                    "of": len(plan.member_ids),
                    "person": person.name,
                    "person_id": person.id,
                    "reason": str(why),
                    "skipped": skipped_data(skipped),
                    **step.as_data(),
                },
            )
            plan.step = index
            plan.next_at = now + timedelta(minutes=plan.escalate_after_minutes)
            await plan.save(update_fields=["step", "next_at"])
            waited = plan.escalate_after_minutes if previous is not None else None
            return Pick(person, why, page_step=index + 1, waited=waited)
        exhausted = passing_over(Saying("duty_exhausted", {"reason": why}), skipped)
        await self._note(
            ticket,
            str(exhausted),
            now,
            {
                "decision": "duty_exhausted",
                "reason": str(why),
                "skipped": skipped_data(skipped),
                **exhausted.as_data(),
            },
        )
        await _finish(plan, now, "exhausted")
        return None

    # -- what the scheduler runs -------------------------------------------------------------

    async def due_plans(self, now: datetime) -> list[RoutingPlan]:
        """Waits and duty ladders whose next step has come."""
        return await RoutingPlan.filter(next_at__lte=now).order_by("next_at", "id")

    async def run_plan(self, plan: RoutingPlan, now: datetime) -> None:
        """Take the next step of one plan (re-read inside the caller's transaction).

        A system step may be taken again: when someone changed the ticket between its
        reading and its assignment (``StaleTicket``), the step is undone (a savepoint) and
        taken once more on a fresh copy.
        """
        try:
            async with in_transaction():
                await self._run_plan(plan.id, now)
        except StaleTicket:
            async with in_transaction():
                await self._run_plan(plan.id, now)

    async def _run_plan(self, plan_id: int, now: datetime) -> None:
        plan = await RoutingPlan.get(id=plan_id)
        if plan.next_at is None or plan.next_at > now:
            return
        ticket = await self.tickets.get(plan.ticket_id)  # type: ignore[attr-defined]
        if plan.kind == PlanKind.DUTY:
            await self._give(ticket, await self._ladder_step(plan, ticket, now), now)
            return
        if ticket.status != Status.NEW or ticket.assignee_id is not None:  # type: ignore[attr-defined]
            await _finish(plan, now, "handled")
            return
        calendar = BusinessCalendar.of(ticket.building)
        if not calendar.is_open(now):
            plan.next_at = calendar.next_opening(now)
            await plan.save(update_fields=["next_at"])
            return
        await self._give(ticket, await self._by_rules(ticket, now), now)
        await _finish(plan, now, "routed")

    # -- helpers -------------------------------------------------------------------------

    async def _give(self, ticket: Ticket, pick: Pick | None, now: datetime) -> None:
        """Assign an existing ticket on the copy in hand (no re-read), then page."""
        if pick is not None:
            await self.tickets.assign(
                ticket, ROUTING, pick.person, reason=pick.reason, escalated_after=pick.waited
            )
            await self._page(ticket, pick, now)

    async def _page(self, ticket: Ticket, pick: Pick, now: datetime) -> None:
        if pick.page_step is not None:
            await _page(ticket, pick.person, pick.page_step, now)

    async def _event(
        self,
        ticket: Ticket,
        text: str,
        now: datetime,
        data: dict[str, object],
        *,
        public: bool = False,
    ) -> TicketEvent:
        return await insert(TicketEvent, **_routing_event(ticket, text, now, data, public))

    async def _note(
        self, ticket: Ticket, text: str, now: datetime, data: dict[str, object]
    ) -> None:
        """A routing decision on the timeline, written with the transaction's next statement
        (nobody needs its id)."""
        await insert_later(TicketEvent, **_routing_event(ticket, text, now, data, False))


def _routing_event(
    ticket: Ticket, text: str, now: datetime, data: dict[str, object], public: bool
) -> dict[str, object]:
    return {
        "ticket": ticket,
        "type": EventType.ROUTING,
        "public": public,
        "text": text,
        "actor_label": ROUTING.label,
        "data": data,
        "at": now,
    }


async def ladder_accepted(ticket_id: int, plan: RoutingPlan) -> bool:
    """True once anyone took the ticket on: a status change, a reply, or a manual assignment."""
    ticket = await Ticket.get(id=ticket_id)
    if ticket.status != Status.NEW or ticket.first_response_at is not None:
        return True
    return (
        await TicketEvent.filter(
            ticket_id=ticket_id, type=EventType.ASSIGNED, at__gte=plan.started_at
        )
        .exclude(actor_label=ROUTING.label)
        .exists()
    )


async def _duty_unavailable(
    person: Person, absences: Sequence[Absence], now: datetime, tz: ZoneInfo
) -> Saying | None:
    reason = unavailable_reason(person, absences, now, tz, check_hours=False)
    if reason is not None:
        return reason
    chat = await contact_of(person, ContactKind.CHAT)
    if chat is None or chat.blocked:
        return Saying("no_chat", {"name": person.name})
    return None


async def _page(ticket: Ticket, person: Person, step: int, now: datetime) -> None:
    """Reach the person on duty in their own chat when the card went to a staff group."""
    if await work_chat_of(ticket) is None:
        return  # the assignment card itself went to them
    await message_staff(
        person,
        gettext(
            person.language,
            N_("Emergency {ref} «{title}» out of hours: you are on duty. Please accept it."),
            ref=ticket.ref,
            title=ticket.title,
        ),
        key=f"duty:{ticket.id}:{step}",
        now=now,
        ticket=ticket,
        actions=assignment_actions(ticket.id, person.language),
        priority=Priority.URGENT,
    )


async def _finish(plan: RoutingPlan, now: datetime, outcome: str) -> None:
    plan.finished_at = now
    plan.next_at = None
    plan.outcome = outcome
    await plan.save(update_fields=["finished_at", "next_at", "outcome"])
