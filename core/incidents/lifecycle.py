"""Opening, updating and resolving incidents, and the one ticket staff work each on.

An incident that starts now is active at once and gets its staff ticket, routed like any
other (cards, duty ladder, nudges); a planned one waits, ``scheduled``, for the scheduler to
start it and tell its buildings. Updating and resolving tell everyone linked once (the end
of a planned one: its buildings); resolving marks the ticket done.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code, category_by_code
from core.errors import InvalidInput
from core.i18n import N_
from core.incidents import texts
from core.incidents.commands import OpenIncident, UpdateIncident
from core.incidents.guards import require_coordinator
from core.incidents.news import IncidentNews
from core.incidents.places import buildings_of, category_of, flats_of
from core.incidents.queries import absorbed_by_channel
from core.incidents.recorder import IncidentEventType, IncidentRecorder
from core.operations.audience import Scope
from core.storage.fit import clipped
from core.storage.models import (
    Building,
    Channel,
    Incident,
    IncidentArea,
    IncidentKind,
    IncidentStatus,
    Status,
)
from core.tickets.commands import NewTicket
from core.tickets.guards import FINISHED
from core.tickets.service import TicketService

SCHEDULER = Actor.system("scheduler")


class IncidentLifecycle:
    """Opens, starts, updates and resolves incidents."""

    def __init__(
        self,
        clock: Clock,
        tickets: TicketService,
        recorder: IncidentRecorder,
        news: IncidentNews,
    ) -> None:
        self.clock = clock
        self.tickets = tickets
        self.recorder = recorder
        self.news = news

    async def open(self, cmd: OpenIncident) -> Incident:
        """Open an incident; one that starts now is active at once and gets its staff ticket.

        Managers, dispatchers, admins and the operator (no person) may open one.
        """
        require_coordinator(cmd.actor)
        title = cmd.title.strip()
        if not title or not cmd.buildings:
            raise InvalidInput(
                "an incident needs a title and at least one building",
                message=N_("An incident needs a building and a text for residents."),
            )
        buildings = [await building_by_code(code) for code in cmd.buildings]
        scope = Scope.of(cmd.entrances, cmd.floors, cmd.flats)
        category = await category_by_code(cmd.category) if cmd.category else None
        now = self.clock.now()
        starts = cmd.starts_at or now
        if cmd.expected_end_at is not None and cmd.expected_end_at <= starts:
            raise InvalidInput(
                "the expected end is before the start",
                message=N_("The expected end must come after the start."),
            )
        texts_by_language = {k: v.strip() for k, v in cmd.texts.items() if v.strip()}
        async with in_transaction():
            incident = await Incident.create(
                kind=cmd.kind,
                status=IncidentStatus.ACTIVE if starts <= now else IncidentStatus.SCHEDULED,
                category=category,
                title=clipped(Incident, "title", title),
                texts=texts_by_language or {"en": title},
                keywords=[w.strip().lower() for w in cmd.keywords if w.strip()],
                starts_at=starts,
                expected_end_at=cmd.expected_end_at,
                opened_by=cmd.actor.person,
                opened_by_label=clipped(Incident, "opened_by_label", cmd.actor.label),
                created_at=now,
                updated_at=now,
            )
            for building in buildings:
                await IncidentArea.create(
                    incident=incident, building=building, flats=await flats_of(building, scope)
                )
            await self.recorder.event(
                incident,
                IncidentEventType.OPENED,
                cmd.actor,
                text=title,
                data={
                    "kind": cmd.kind.value,
                    "buildings": [b.code for b in buildings],
                    "channel": cmd.channel.value,
                },
            )
            if incident.status == IncidentStatus.ACTIVE:
                await self._staff_ticket(incident, buildings[0], cmd.actor, cmd.channel)
        return incident

    async def start(self, incident_id: int) -> bool:
        """Mark a scheduled incident started (the scheduler, at its start) and tell everyone
        it affects; False if it was not scheduled any more."""
        async with in_transaction():
            incident = await self.recorder.current(incident_id)
            if incident.status != IncidentStatus.SCHEDULED:
                return False
            await self.recorder.save(incident, status=IncidentStatus.ACTIVE)
            event = await self.recorder.event(incident, IncidentEventType.STARTED, SCHEDULER)
            buildings = await buildings_of(incident.id)
            await self._staff_ticket(incident, buildings[0], SCHEDULER, Channel.CLI)
            await self.news.tell_area(
                incident,
                f"incident:{incident.id}:event:{event.id}",
                lambda b, lang: texts.started(incident, b, lang),
                SCHEDULER,
            )
        return True

    async def update(self, cmd: UpdateIncident) -> int:
        """Change the expected end and/or add a note; every linked resident is told once.
        Returns how many were told."""
        require_coordinator(cmd.actor)
        if cmd.expected_end_at is None and not cmd.note.strip():
            raise InvalidInput(
                "nothing to update",
                message=N_("Give a new expected end or a note for residents."),
            )
        async with in_transaction():
            incident = await self.recorder.changeable(cmd.incident_id, cmd.version)
            if cmd.expected_end_at is not None and cmd.expected_end_at <= incident.starts_at:
                raise InvalidInput(
                    "the expected end is before the start",
                    message=N_("The expected end must come after the start."),
                )
            changes: dict[str, Any] = {}
            if cmd.expected_end_at is not None:
                changes["expected_end_at"] = cmd.expected_end_at
            await self.recorder.save(incident, **changes)
            event = await self.recorder.event(
                incident,
                IncidentEventType.UPDATED,
                cmd.actor,
                text=cmd.note.strip(),
                data={"expected_end_at": _iso(incident.expected_end_at)},
            )
            note = cmd.note.strip()
            return await self.news.tell_linked(
                incident,
                f"incident:{incident.id}:event:{event.id}",
                lambda b, lang: texts.updated(incident, b, lang, note),
                cmd.actor,
            )

    async def resolve(self, incident_id: int, actor: Actor, *, version: int | None = None) -> int:
        """End an incident: everyone linked is told, with a "still not working" button (a
        planned one that started: everyone it affects, the linked ones with the button), and
        its staff ticket is done. Returns how many residents were told."""
        require_coordinator(actor)
        async with in_transaction():
            incident = await self.recorder.changeable(incident_id, version)
            started = incident.status == IncidentStatus.ACTIVE
            now = self.clock.now()
            await self.recorder.save(incident, status=IncidentStatus.RESOLVED, ended_at=now)
            counts = await absorbed_by_channel(incident.id)
            event = await self.recorder.event(
                incident,
                IncidentEventType.RESOLVED,
                actor,
                text=texts.absorbed(counts, "en"),
                data={"absorbed": counts},
            )
            key = f"incident:{incident.id}:event:{event.id}"
            if incident.kind == IncidentKind.PLANNED and started:  # the building waits for it
                told = await self.news.tell_area(
                    incident, key, partial(texts.planned_over, incident), actor, still=True
                )
            else:
                told = await self.news.tell_linked(
                    incident, key, partial(texts.resolved, incident), actor, still=True
                )
            await self._finish_ticket(incident, actor)
        return told

    async def _staff_ticket(
        self, incident: Incident, building: Building, actor: Actor, channel: Channel
    ) -> None:
        """The one ticket staff work the incident on, routed like any other."""
        category = await category_of(incident)
        result = await self.tickets.create(
            NewTicket(
                category=category.code,
                title=f"{texts.incident_ref(incident)}: {incident.title}",
                description=incident.text_in(building.language, building),
                channel=channel,
                actor=actor,
                building=building.code,
                acknowledge=False,
            )
        )
        await self.recorder.save(incident, ticket_id=result.ticket.id)

    async def _finish_ticket(self, incident: Incident, actor: Actor) -> None:
        if incident.ticket_id is None:  # type: ignore[attr-defined]
            return
        ticket = await self.tickets.get(incident.ticket_id)  # type: ignore[attr-defined]
        if ticket.status in FINISHED:
            return
        await self.tickets.change_status(
            ticket,
            Actor(label=actor.label),  # the incident's resolver; the ticket's checks are its own
            Status.DONE,
            note=f"incident {texts.incident_ref(incident)} resolved",
        )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
