"""The incident's card says how many residents it affects and stays current: the count rides on
the card while it waits in the outbox, then the sent card is edited through the outbox, at
most once every 30 seconds, a waiting edit taking the newest count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.actors import Actor
from core.incidents.card import EDIT_EVERY
from core.incidents.commands import OpenIncident
from core.incidents.service import IncidentService
from core.messaging.delivery import Delivery, DeliveryReceipt
from core.messaging.message import OutgoingMessage, Verb
from core.messaging.outbox import OutboxWorker
from core.messaging.routes import Priority, Route
from core.storage.models import Channel, IncidentKind, OutboxMessage, OutboxStatus, Person
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.ops_world import build_world, routed

MORNING = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday, the office open


async def _deliver(app: App, sent: list[Delivery]) -> None:
    """Send what is due; each chat message gets the id ``500 + row id``."""

    async def to_chat(delivery: Delivery) -> DeliveryReceipt:
        sent.append(delivery)
        return DeliveryReceipt(external_id=f"{delivery.recipient}:{500 + delivery.id}")

    worker = OutboxWorker(app.clock)
    worker.register(Route.STAFF_CHAT, to_chat)
    worker.register(Route.RESIDENT_CHAT, to_chat)
    while await worker.run_once():
        pass


async def _texts(rows: list[OutboxMessage]) -> list[str]:
    return [OutgoingMessage.from_payload(r.payload).text.rsplit("\n", 1)[-1] for r in rows]


async def test_the_card_counts_residents_and_is_edited_sparingly(app: App) -> None:
    sent: list[Delivery] = []
    world = await build_world()
    routed(app.tickets)
    app.clock.set(MORNING)
    incidents = IncidentService(app.clock, app.tickets)
    incident = await incidents.open(
        OpenIncident(
            kind=IncidentKind.EMERGENCY,
            buildings=("OAK",),
            title="No water",
            texts={"en": "There is no water in your building."},
            actor=Actor.of(world.dina),
            category="technical",
        )
    )
    residents: list[Person] = []
    for n, unit in enumerate(await world.oak.units.all().order_by("id")):
        resident = await factories.person(f"Resident {n}", telegram=f"60{n:02d}", language="ru")
        await resident.units.add(unit)
        residents.append(resident)

    # Not sent yet: the count rides on the card itself.
    await incidents.join(incident.id, residents[0], Channel.CHAT)
    [card] = await OutboxMessage.filter(channel="staff_chat", recipient="9001")
    assert await _texts([card]) == ["👥 1 resident affected"]

    await _deliver(app, sent)
    assert [d.message.text.rsplit("\n", 1)[-1] for d in sent if d.recipient == "9001"] == [
        "👥 1 resident affected"
    ]

    # Sent: one edit, which later joins within the next 30 seconds update while it waits.
    for resident in residents[1:4]:
        await incidents.join(incident.id, resident, Channel.CHAT)
    edits = await OutboxMessage.filter(channel="staff_chat", recipient="9001", id__gt=card.id)
    assert await _texts(edits) == ["👥 4 residents affected"]
    [edit] = edits
    shown = OutgoingMessage.from_payload(edit.payload)
    assert shown.edits == card.id and edit.priority == Priority.BULK
    assert next(a.verb for row in shown.actions for a in row) == Verb.ACCEPT
    await _deliver(app, sent)
    [sent_edit] = [d for d in sent if d.message.edits == card.id]
    assert sent_edit.replaces == f"9001:{500 + card.id}"  # the card's message, to edit

    await incidents.join(incident.id, residents[4], Channel.CHAT)
    await incidents.join(incident.id, residents[5], Channel.CHAT)
    later = await OutboxMessage.filter(
        channel="staff_chat", recipient="9001", status=OutboxStatus.PENDING
    )
    assert await _texts(later) == ["👥 6 residents affected"]
    assert later[0].next_attempt_at == edit.next_attempt_at + EDIT_EVERY  # not sooner

    # Bob accepts: the next edit keeps the buttons of accepted work.
    await app.tickets.accept(incident.ticket_id, Actor.of(world.bob))  # type: ignore[arg-type]
    await incidents.join(incident.id, residents[6], Channel.CHAT)
    [waiting] = await OutboxMessage.filter(
        channel="staff_chat", recipient="9001", status=OutboxStatus.PENDING
    )
    verbs = [a.verb for row in OutgoingMessage.from_payload(waiting.payload).actions for a in row]
    assert Verb.ACCEPT not in verbs and Verb.DONE in verbs
    app.clock.advance(timedelta(minutes=1))
    await _deliver(app, sent)
    assert len([d for d in sent if d.message.edits == card.id]) == 2  # seven joins, two edits
