"""Staff work an incident as one ticket: after hours an emergency incident walks the duty
ladder like any emergency, twenty residents joining it add no card, and nobody answering it
is nudged as for any ticket until the incident is resolved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.actors import Actor
from core.incidents.commands import OpenIncident
from core.incidents.service import IncidentService
from core.operations.deadlines import NudgePolicy
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


async def test_nobody_answering_an_incident_is_nudged_until_it_is_resolved(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets), nudges=NudgePolicy(15, 60))
    incidents = IncidentService(app.clock, app.tickets)
    incident = await incidents.open(  # Wednesday 09:00: the emergency needs a response by 09:30
        OpenIncident(
            kind=IncidentKind.EMERGENCY,
            buildings=("OAK",),
            title="Burst riser, no water",
            texts={"en": "There is no water in your building."},
            actor=Actor.of(world.dina),
            category="emergency",
        )
    )
    ref = (await app.tickets.get(incident.ticket_id)).ref  # type: ignore[arg-type]

    async def told_bob() -> list[str]:
        rows = await OutboxMessage.filter(channel="staff_chat", recipient="9001").order_by("id")
        return [r.payload["text"] for r in rows if r.idempotency_key.startswith("nudge:")]

    for _ in range(18):  # 90 minutes of scheduler rounds, nobody answering
        app.clock.advance(timedelta(minutes=5))
        await operations.tick(app.clock.now())
    assert await told_bob() == [
        f"Still no response on {ref} «I{incident.id}: Burst riser, no water»: "
        "it was due 25 Nov 09:30."
    ]

    await incidents.resolve(incident.id, Actor.of(world.dina))
    for _ in range(24):  # two more hours: the incident is over, so is its ticket's nudging
        app.clock.advance(timedelta(minutes=5))
        await operations.tick(app.clock.now())
    assert len(await told_bob()) == 1
