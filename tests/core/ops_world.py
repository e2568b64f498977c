"""A small directory for the operations tests: one London building, its staff and categories.

Oak Court is open Mon–Thu 08:00–17:00 and Fri 08:00–16:00 London time (GMT in November,
so local time equals UTC on the test clock's dates), closed on 2026-12-25.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.actors import CLI
from core.operations.classify import KeywordClassifier
from core.operations.routing import Router
from core.storage.models import Building, Category, Channel, DutyRoster, Person, Role, Ticket
from core.tickets.commands import NewTicket
from core.tickets.service import TicketService
from housedesk.settings.operations import DEFAULT_KEYWORDS
from tests.core import factories

OFFICE = {
    "mon": ["08:00-17:00"],
    "tue": ["08:00-17:00"],
    "wed": ["08:00-17:00"],
    "thu": ["08:00-17:00"],
    "fri": ["08:00-16:00"],
}


@dataclass
class World:
    """The rows the operations tests talk about."""

    oak: Building
    emergency: Category
    technical: Category
    billing: Category
    tom: Person
    bob: Person
    pat: Person
    olga: Person
    carol: Person
    dina: Person
    alice: Person
    roster: DutyRoster


async def build_world() -> World:
    """Create the directory rows (no tickets)."""
    oak = await factories.building("OAK", units=20)
    oak.timezone = "Europe/London"
    oak.hours = OFFICE
    oak.holidays = ["2026-12-25"]
    await oak.save()
    emergency = await factories.category(
        "emergency",
        emergency=True,
        priority=1,
        response_minutes=30,
        resolution_minutes=3 * 24 * 60,
        trade="plumbing",
    )
    technical = await factories.category(
        "technical",
        response_minutes=240,
        resolution_minutes=3 * 540,
        business_hours=True,
        trade="general",
    )
    billing = await factories.category(
        "billing",
        priority=4,
        response_minutes=540,
        resolution_minutes=10 * 540,
        business_hours=True,
        trade="accounts",
    )
    tom = await factories.person("Tom", telegram="5001", email="tom@tenant.example")
    await tom.units.add(*(await oak.units.filter(number="3")))

    async def staff(name: str, role: Role, telegram: str, trades: list[str]) -> Person:
        person = await factories.person(name, role, telegram=telegram, buildings=[oak])
        person.trades = trades
        await person.save()
        return person

    bob = await staff("Bob Plumber", Role.TECHNICIAN, "9001", ["plumbing", "general"])
    bob.work_hours = OFFICE
    await bob.save()
    pat = await staff("Pat Plumber", Role.TECHNICIAN, "9002", ["plumbing", "general"])
    olga = await staff("Olga Electric", Role.TECHNICIAN, "9003", ["electrical", "general"])
    carol = await staff("Carol Accounts", Role.DISPATCHER, "9004", ["accounts"])
    dina = await staff("Dina Dispatcher", Role.DISPATCHER, "9005", [])
    alice = await staff("Alice Manager", Role.MANAGER, "9006", [])
    roster = await DutyRoster.create(
        name="oak-after-hours",
        building=oak,
        member_ids=[bob.id, pat.id, olga.id],
        escalate_after_minutes=15,
    )
    return World(
        oak, emergency, technical, billing, tom, bob, pat, olga, carol, dina, alice, roster
    )


def routed(tickets: TicketService) -> Router:
    """Register automatic routing (with the default keywords) on a ticket service."""
    router = Router(tickets, KeywordClassifier(DEFAULT_KEYWORDS))
    tickets.on_created.append(router.on_created)
    return router


async def new_ticket(
    tickets: TicketService,
    world: World,
    category: str = "technical",
    *,
    title: str = "Radiator cold",
    description: str = "The radiator in the bedroom is cold.",
    channel: Channel = Channel.CHAT,
) -> Ticket:
    """A ticket from Tom in flat 3, re-read with its related rows."""
    result = await tickets.create(
        NewTicket(
            category=category,
            title=title,
            description=description,
            channel=channel,
            actor=CLI,
            building="OAK",
            unit="3",
            requester_id=world.tom.id,
        )
    )
    return await tickets.get(result.ticket.id)


def on(day: str) -> date:
    """``date.fromisoformat`` for short test lines."""
    return date.fromisoformat(day)
