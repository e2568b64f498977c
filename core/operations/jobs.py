"""The periodic jobs of operations, each derived from the database at ``now``.

Nothing is kept in memory between runs: a job reads tickets, routing plans and the
``ops_mark`` table (what was done already) and does what is due, so a restart loses
nothing and running a job twice sends nothing twice. Items run in short transactions
(one per plan or manager, one per :data:`CHUNK` due tickets), so nothing else waits
behind a whole round: a broken ticket is logged and retried on the next run while the
others go on.

* ``routing``: waits that reached opening hours, duty ladders whose step timed out.
* ``deadlines``: for the tickets whose ``next_check_at`` is due, a reminder before each
  deadline; exactly one ``deadline_breach`` event per missed deadline, told to the
  assignee (or the dispatchers) and the managers; then a nudge every
  ``nudge_every_minutes`` until the deadline is met. Non-emergencies get
  reminders and nudges only while their building is open (nudge intervals count opening
  minutes), and breach messages wait in the outbox until it opens.
* ``digest``: once a day after the configured local time, a digest to every manager.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import partial
from typing import TypeVar, cast
from zoneinfo import ZoneInfo

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.i18n import N_, gettext
from core.messaging.routes import Priority
from core.messaging.staff_messages import dispatchers_of, managers_of, message_staff
from core.operations.calendar import BusinessCalendar
from core.operations.deadlines import Deadline, NudgePolicy, due_at, is_met, next_check
from core.operations.digest import digest_text
from core.operations.routing import Router
from core.storage.models import (
    Building,
    Category,
    Contact,
    EventType,
    OpsMark,
    Person,
    Role,
    RoutingPlan,
    Ticket,
    TicketEvent,
)
from core.storage.rawsql import fetch, write_later
from core.storage.rows import insert
from core.tickets.cards import day_and_time

log = logging.getLogger(__name__)

SCHEDULER = Actor.system("scheduler")
BATCH = 100
"""Tickets read per query by the deadline round."""
CHUNK = 20
"""Due tickets checked in one transaction: a transaction's begin and commit cost as much
as a ticket's own statements, and 20 keep SQLite's write lock for a few milliseconds. When
one of them fails, they are checked again one per transaction."""

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


_NEXT_CHECK = 'UPDATE "ticket" SET "next_check_at" = :at WHERE "id" = :id AND "version" = :version'
_NEXT_CHECK_AT = Ticket._meta.fields_map["next_check_at"]

_MARK = (
    'INSERT INTO "ops_mark" ("key", "ticket_id", "created_at") VALUES (:key, :ticket, :at)'
    ' ON CONFLICT ("key") DO NOTHING RETURNING "id"'
)


async def mark_once(
    key: str, now: datetime, ticket_id: int | None = None, known: set[str] | None = None
) -> bool:
    """Record that ``key`` was done; False when it had been done before (``known``: the
    keys read already, so those need no statement). One statement: a key written just now
    by a process without the scheduler lock is left as it is."""
    if known is not None and key in known:
        return False
    at = OpsMark._meta.fields_map["created_at"].to_db_value(now, OpsMark)
    return bool(await fetch(_MARK, key=key, ticket=ticket_id, at=at))


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
        """Reminders, breaches and nudges for the tickets whose next check is due.

        Due tickets are read in batches of :data:`BATCH`, with the marks of what was done
        already in one query per batch, and the buildings, categories and assignees not
        read yet this round in one query each; the actions and next checks of every
        :data:`CHUNK` tickets commit in a transaction of their own.
        """
        done = 0
        after: tuple[datetime, int] | None = None
        calendars: dict[int | None, BusinessCalendar] = {}
        related = _Related()
        while True:
            batch = await due_tickets(now, after)
            if not batch:
                return done
            await related.attach(batch)
            marks = await _marks(batch)
            staff = _Staff()
            for ticket in batch:
                building_id = ticket.building_id  # type: ignore[attr-defined]
                if building_id not in calendars:
                    calendars[building_id] = BusinessCalendar.of(ticket.building)
            for start in range(0, len(batch), CHUNK):
                chunk = [(t, calendars[t.building_id]) for t in batch[start : start + CHUNK]]  # type: ignore[attr-defined]
                done += await self._checks(chunk, marks, staff, now)
            if len(batch) < BATCH:
                return done
            last = batch[-1]
            after = (cast(datetime, last.next_check_at), last.id)

    async def _checks(
        self,
        tickets: Sequence[tuple[Ticket, BusinessCalendar]],
        marks: set[str],
        staff: _Staff,
        now: datetime,
    ) -> int:
        """Check ``tickets`` in one transaction; if that fails, each in one of its own."""

        async def all_of_them() -> int:
            done = 0
            for ticket, calendar in tickets:
                done += await self._check(ticket, calendar, marks, staff, now)
            return done

        if len(tickets) == 1:
            return await _isolated(f"deadlines of {tickets[0][0].ref}", all_of_them)
        try:
            async with in_transaction():
                return await all_of_them()
        except Exception:
            done = 0
            for one in tickets:
                done += await self._checks([one], marks, staff, now)
            return done

    async def _check(
        self,
        ticket: Ticket,
        calendar: BusinessCalendar,
        marks: set[str],
        staff: _Staff,
        now: datetime,
    ) -> int:
        """Do what is due for ``ticket`` and write when to look again (unless the ticket
        changed meanwhile: that change set its own next check)."""
        done = 0
        for deadline in Deadline:
            due = due_at(ticket, deadline)
            if due is not None and not is_met(ticket, deadline):
                done += await self._deadline(ticket, deadline, due, calendar, marks, staff, now)
        at = next_check(ticket, self.nudges, calendar, now)
        await write_later(
            _NEXT_CHECK,
            at=_NEXT_CHECK_AT.to_db_value(at, Ticket),
            id=ticket.id,
            version=ticket.version,
        )
        return done

    async def _deadline(
        self,
        ticket: Ticket,
        deadline: Deadline,
        due: datetime,
        calendar: BusinessCalendar,
        marks: set[str],
        staff: _Staff,
        now: datetime,
    ) -> int:
        emergency = ticket.category.emergency
        awake = emergency or calendar.is_open(now)
        key = f"{deadline.value}:{ticket.id}"
        if now <= due:
            if (
                awake
                and self.nudges.reminder_due(due, now, ticket.created_at)
                and await mark_once(f"remind:{key}", now, ticket.id, marks)
            ):
                await self._tell_worker(
                    ticket, f"remind:{key}", REMINDER_TEXT[deadline], due, calendar, staff, now
                )
                return 1
            return 0
        done = 0
        if await mark_once(f"breach:{key}", now, ticket.id, marks):
            await self._breach(ticket, deadline, due, calendar, staff, now)
            done += 1
        number = self.nudges.nudge_number(due, now, calendar, emergency)
        if number and awake and await mark_once(f"nudge:{key}:{number}", now, ticket.id, marks):
            await self._tell_worker(
                ticket, f"nudge:{key}:{number}", NUDGE_TEXT[deadline], due, calendar, staff, now
            )
            done += 1
        return done

    async def _breach(
        self,
        ticket: Ticket,
        deadline: Deadline,
        due: datetime,
        calendar: BusinessCalendar,
        staff: _Staff,
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
        building_id = ticket.building_id  # type: ignore[attr-defined]
        people = await staff.workers(ticket) + await staff.managers(building_id)
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
                priority=Priority.URGENT,
                chats=staff.chats,
            )

    async def _tell_worker(
        self,
        ticket: Ticket,
        key: str,
        message: str,
        due: datetime,
        calendar: BusinessCalendar,
        staff: _Staff,
        now: datetime,
    ) -> None:
        for person in await staff.workers(ticket):
            await message_staff(
                person,
                _text(message, ticket, due, calendar, person.language),
                key=key,
                now=now,
                ticket=ticket,
                max_attempts=self.max_attempts,
                chats=staff.chats,
            )

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


async def due_tickets(
    now: datetime, after: tuple[datetime, int] | None = None, limit: int | None = None
) -> list[Ticket]:
    """The next tickets whose deadline check is due at ``now``, in ``(next_check_at, id)``
    order after ``after``, read through the ``next_check_at`` index (only tickets that owe
    a deadline have one)."""
    return await due_query(now, after, limit)


def due_query(
    now: datetime, after: tuple[datetime, int] | None = None, limit: int | None = None
) -> QuerySet[Ticket]:
    """The query of :func:`due_tickets`."""
    query = Ticket.filter(next_check_at__lte=now)
    if after is not None:
        at, ticket_id = after
        query = query.filter(
            Q(next_check_at__gte=at) & (Q(next_check_at__gt=at) | Q(id__gt=ticket_id))
        )
    return query.order_by("next_check_at", "id").limit(limit or BATCH)


M = TypeVar("M", Building, Category, Person)


@dataclass
class _Related:
    """The buildings, categories and assignees of a round's tickets, each read once."""

    buildings: dict[int, Building] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)
    people: dict[int, Person] = field(default_factory=dict)

    async def attach(self, batch: Sequence[Ticket]) -> None:
        """Give each ticket of ``batch`` its building, category and assignee."""
        await _read(Building, self.buildings, {t.building_id for t in batch})  # type: ignore[attr-defined]
        await _read(Category, self.categories, {t.category_id for t in batch})  # type: ignore[attr-defined]
        await _read(Person, self.people, {t.assignee_id for t in batch})  # type: ignore[attr-defined]
        for ticket in batch:
            ticket.building = self.buildings.get(ticket.building_id)  # type: ignore[attr-defined]
            ticket.category = self.categories[ticket.category_id]  # type: ignore[attr-defined]
            ticket.assignee = self.people.get(ticket.assignee_id)  # type: ignore[attr-defined]


async def _read(model: type[M], known: dict[int, M], ids: set[int | None]) -> None:
    """Read the rows of ``ids`` not in ``known`` yet (one query) into ``known``."""
    missing = [i for i in ids if i is not None and i not in known]
    if missing:
        for row in await model.filter(id__in=missing):
            known[row.id] = row


async def _marks(batch: Sequence[Ticket]) -> set[str]:
    """The keys of what was done already about the tickets of ``batch``."""
    ids = [t.id for t in batch]
    keys = await OpsMark.filter(ticket_id__in=ids).values_list("key", flat=True)
    return {str(k) for k in keys}


@dataclass
class _Staff:
    """Who to tell about the tickets of one batch, each building's staff read once."""

    _dispatchers: dict[int | None, list[Person]] = field(default_factory=dict)
    _managers: dict[int | None, list[Person]] = field(default_factory=dict)
    chats: dict[int, Contact | None] = field(default_factory=dict)
    """Their chat contacts, each read once (see :func:`message_staff`)."""

    async def workers(self, ticket: Ticket) -> list[Person]:
        """The assignee, else the building's dispatchers."""
        if ticket.assignee is not None:
            return [ticket.assignee]
        building_id = ticket.building_id  # type: ignore[attr-defined]
        if building_id not in self._dispatchers:
            self._dispatchers[building_id] = await dispatchers_of(building_id)
        return self._dispatchers[building_id]

    async def managers(self, building_id: int | None) -> list[Person]:
        """The building's managers."""
        if building_id not in self._managers:
            self._managers[building_id] = await managers_of(building_id)
        return self._managers[building_id]


def _text(
    message: str, ticket: Ticket, due: datetime, calendar: BusinessCalendar, language: str | None
) -> str:
    when = day_and_time(due, calendar.tz, language)
    return gettext(language, message, ref=ticket.ref, title=ticket.title, when=when)
