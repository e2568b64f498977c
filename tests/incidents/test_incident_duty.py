"""Staff work an incident as one ticket: after hours an emergency incident walks the duty
ladder like any emergency, and twenty residents joining it add no card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.actors import Actor
from core.incidents.commands import OpenIncident
from core.incidents.service import IncidentService
from core.operations.jobs import Operations
from core.storage.models import (
    Channel,
    IncidentKind,
    OutboxMessage,
    PlanKind,
    RoutingPlan,
    Ticket,
)
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.ops_world import build_world, routed

EVENING = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # Wednesday, the office closed at 17:00


async def test_an_incident_after_hours_walks_the_duty_ladder(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets))
    app.clock.set(EVENING)
    incidents = IncidentService(app.clock, app.tickets)
    incident = await incidents.open(
        OpenIncident(
            kind=IncidentKind.EMERGENCY,
            buildings=("OAK",),
            title="Burst riser, no water",
            texts={"en": "There is no water in your building."},
            actor=Actor.of(world.dina),
            category="emergency",
        )
    )
    for n, unit in enumerate(await world.oak.units.all().order_by("id")):
        resident = await factories.person(f"Resident {n}", telegram=f"60{n:02d}")
        await resident.units.add(unit)
        await incidents.join(incident.id, resident, Channel.CHAT)

    ticket = await app.tickets.get(incident.ticket_id)  # type: ignore[arg-type]
    assert ticket.assignee.name == "Bob Plumber"
    plan = await RoutingPlan.get(ticket=ticket)
    assert plan.kind == PlanKind.DUTY
    app.clock.advance(timedelta(minutes=15))
    await operations.tick(app.clock.now())
    assert (await app.tickets.get(ticket.id)).assignee.name == "Pat Plumber"

    cards = await OutboxMessage.filter(channel="staff_chat").order_by("id")
    assert [r.recipient for r in cards if "actions" in r.payload] == ["9001", "9002"]
    assert await Ticket.all().count() == 1  # twenty residents joined: no ticket, no card
