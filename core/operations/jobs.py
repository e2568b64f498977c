"""The periodic jobs of operations, each derived from the database at ``now``.

Nothing is kept in memory between runs: a job reads tickets, routing plans and the
``ops_mark`` table (what was done already) and does what is due, so a restart loses
nothing and running a job twice sends nothing twice. Each item runs in its own
transaction (a savepoint inside the caller's): a broken ticket is logged and retried on
the next run while the others go on.

* ``routing``: waits that reached opening hours, duty ladders whose step timed out.
* ``deadlines``: a reminder before each deadline; exactly one ``deadline_breach`` event
  per missed deadline, told to the assignee (or the dispatchers) and the managers; then a
  nudge every ``nudge_every_minutes`` until the deadline is met. Non-emergencies get
  reminders and nudges only while their building is open (nudge intervals count opening
  minutes), and breach messages wait in the outbox until it opens.
* ``digest``: once a day after the configured local time, a digest to every manager.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.i18n import N_, gettext, normalize_language
from core.messaging.staff_messages import dispatchers_of, managers_of, message_staff
from core.operations.calendar import BusinessCalendar
from core.operations.deadlines import Deadline, NudgePolicy, due_at, is_met
from core.operations.digest import digest_text
from core.operations.routing import Router
from core.storage.models import EventType, OpsMark, Person, Role, RoutingPlan, Ticket, TicketEvent
from core.storage.rows import insert
from core.tickets.workflow import OPEN_STATUSES

log = logging.getLogger(__name__)

SCHEDULER = Actor.system("scheduler")

Job = Callable[[datetime], Awaitable[int]]
"""A job: does what is due at ``now`` and returns how many things it did."""

REMINDER_TEXT = {
    Deadline.RESPONSE: N_("Reminder: {ref} «{title}» needs a first response by {when}."),
    Deadline.RESOLUTION: N_("Reminder: {ref} «{title}» must be resolved by {when}."),
}
BREACH_TEXT = {
    Deadline.RESPONSE: N_("Deadline missed: {ref} «{title}» needed a first response by {when}."),
    Deadline.RESOLUTION: N_("Deadline missed: {ref} «{title}» had to be resolved by {when}."),
}
NUDGE_TEXT = {
    Deadline.RESPONSE: N_("Still no response on {ref} «{title}»: it was due {when}."),
    Deadline.RESOLUTION: N_("{ref} «{title}» is still not resolved: it was due {when}."),
}


@dataclass(frozen=True)
class DigestPolicy:
    """When the daily digest goes out (local time in ``timezone``)."""

    at: time = time(8, 0)
    timezone: str = "UTC"


async def mark_once(key: str, now: datetime, ticket_id: int | None = None) -> bool:
    """Record that ``key`` was done; False when it had been done before."""
    if await OpsMark.exists(key=key):
        return False
    try:
        async with in_transaction():
            await OpsMark.create(key=key, ticket_id=ticket_id, created_at=now)
    except IntegrityError:  # a process without the scheduler lock did it just now
        return False
    return True


async def _isolated(label: str, work: Callable[[], Awaitable[int]]) -> int:
    try:
        async with in_transaction():
            return await work()
    except Exception:
        log.exception("operations: %s failed; it is retried on the next run", label)
        return 0


@dataclass
class Operations:
    """The routing, deadline and digest jobs, run by the scheduler (see ``housedesk.scheduler``)."""

    router: Router
    nudges: NudgePolicy = field(default_factory=NudgePolicy)
    digest: DigestPolicy = field(default_factory=DigestPolicy)
    max_attempts: int = 8

    @property
    def jobs(self) -> dict[str, Job]:
        """Every job by name (the name keys the multi-process lock)."""
        return {
            "routing": self.run_routing,
            "deadlines": self.run_deadlines,
            "digest": self.run_digest,
        }

    async def tick(self, now: datetime) -> dict[str, int]:
        """Run every job once, in this process, without any lock."""
        return {name: await job(now) for name, job in self.jobs.items()}

    # -- routing -------------------------------------------------------------------------

    async def run_routing(self, now: datetime) -> int:
        """Take the next step of every wait and duty ladder that is due."""
        done = 0
        for plan in await self.router.due_plans(now):
            done += await _isolated(f"routing plan {plan.id}", partial(self._plan, plan, now))
        return done

    async def _plan(self, plan: RoutingPlan, now: datetime) -> int:
        await self.router.run_plan(plan, now)
        return 1

    # -- deadlines -----------------------------------------------------------------------

    async def run_deadlines(self, now: datetime) -> int:
        """Reminders, breaches and nudges for open tickets with a deadline near or past."""
        horizon = now + timedelta(minutes=self.nudges.remind_before_minutes)
        tickets = (
            await Ticket.filter(status__in=list(OPEN_STATUSES))
            .filter(
                Q(response_due_at__lte=horizon, first_response_at__isnull=True)
                | Q(due_at__lte=horizon)
            )
            .order_by("id")
            .select_related("building", "category", "assignee")
        )
        calendars: dict[int | None, BusinessCalendar] = {}
        done = 0
        for ticket in tickets:
            building_id = ticket.building_id  # type: ignore[attr-defined]
            if building_id not in calendars:
                calendars[building_id] = BusinessCalendar.of(ticket.building)
            done += await _isolated(
                f"deadlines of {ticket.ref}",
                partial(self._deadlines, ticket, calendars[building_id], now),
            )
        return done

    async def _deadlines(self, ticket: Ticket, calendar: BusinessCalendar, now: datetime) -> int:
        done = 0
        for deadline in Deadline:
            due = due_at(ticket, deadline)
            if due is not None and not is_met(ticket, deadline):
                done += await self._deadline(ticket, deadline, due, calendar, now)
        return done

    async def _deadline(
        self,
        ticket: Ticket,
        deadline: Deadline,
        due: datetime,
        calendar: BusinessCalendar,
        now: datetime,
    ) -> int:
        emergency = ticket.category.emergency
        awake = emergency or calendar.is_open(now)
        key = f"{deadline.value}:{ticket.id}"
        if now <= due:
            if (
                awake
                and self.nudges.reminder_due(due, now, ticket.created_at)
                and await mark_once(f"remind:{key}", now, ticket.id)
            ):
                await self._tell_worker(
                    ticket, f"remind:{key}", REMINDER_TEXT[deadline], due, calendar, now
                )
                return 1
            return 0
        done = 0
        if await mark_once(f"breach:{key}", now, ticket.id):
            await self._breach(ticket, deadline, due, calendar, now)
            done += 1
        number = self.nudges.nudge_number(due, now, calendar, emergency)
        if number and awake and await mark_once(f"nudge:{key}:{number}", now, ticket.id):
            await self._tell_worker(
                ticket, f"nudge:{key}:{number}", NUDGE_TEXT[deadline], due, calendar, now
            )
            done += 1
        return done

    async def _breach(
        self,
        ticket: Ticket,
        deadline: Deadline,
        due: datetime,
        calendar: BusinessCalendar,
        now: datetime,
    ) -> None:
        await insert(
            TicketEvent,
            ticket=ticket,
            type=EventType.DEADLINE_BREACH,
            public=False,
            text=f"The {deadline.value} deadline was missed (due {due:%Y-%m-%d %H:%M} UTC)",
            actor_label=SCHEDULER.label,
            data={"deadline": deadline.value, "due_at": due.isoformat()},
            at=now,
        )
        people = await self._workers(ticket) + await managers_of(ticket.building_id)  # type: ignore[attr-defined]
        held = None if ticket.category.emergency else calendar.next_opening(now)
        for person in {p.id: p for p in people}.values():
            await message_staff(
                person,
                _text(BREACH_TEXT[deadline], ticket, due, calendar, person.language),
                key=f"breach:{deadline.value}:{ticket.id}",
                now=now,
                ticket=ticket,
                not_before=held,
                max_attempts=self.max_attempts,
            )

    async def _tell_worker(
        self,
        ticket: Ticket,
        key: str,
        message: str,
        due: datetime,
        calendar: BusinessCalendar,
        now: datetime,
    ) -> None:
        for person in await self._workers(ticket):
            await message_staff(
                person,
                _text(message, ticket, due, calendar, person.language),
                key=key,
                now=now,
                ticket=ticket,
                max_attempts=self.max_attempts,
            )

    async def _workers(self, ticket: Ticket) -> list[Person]:
        if ticket.assignee is not None:
            return [ticket.assignee]
        return await dispatchers_of(ticket.building_id)  # type: ignore[attr-defined]

    # -- digest --------------------------------------------------------------------------

    async def run_digest(self, now: datetime) -> int:
        """After the digest time, send each manager today's digest if not sent yet."""
        tz = ZoneInfo(self.digest.timezone)
        local = now.astimezone(tz)
        if local.time() < self.digest.at:
            return 0
        sent = 0
        for manager in await Person.filter(role=Role.MANAGER, active=True).order_by("id"):
            sent += await _isolated(
                f"digest for {manager.name}", partial(self._digest, manager, local, tz, now)
            )
        return sent

    async def _digest(self, manager: Person, local: datetime, tz: ZoneInfo, now: datetime) -> int:
        key = f"digest:{local.date().isoformat()}"
        if not await mark_once(f"{key}:{manager.id}", now):
            return 0
        text = await digest_text(manager, local.date(), tz, now)
        sent = await message_staff(manager, text, key=key, now=now, max_attempts=self.max_attempts)
        return 1 if sent else 0


def _text(
    message: str, ticket: Ticket, due: datetime, calendar: BusinessCalendar, language: str | None
) -> str:
    when = format_datetime(
        due, "d MMM HH:mm", tzinfo=calendar.tz, locale=normalize_language(language)
    )
    return gettext(language, message, ref=ticket.ref, title=ticket.title, when=when)
