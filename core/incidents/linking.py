"""Residents' reports and the incident they are about: joined with one tap, absorbed from a
mail or voicemail that matches, linked from a ticket by a dispatcher; and taken off again,
by a dispatcher (a wrong match) or by the resident after the end ("still not working").

A linked report is no ticket: its resident is answered with the incident's text and hears
its news. Taken off, it becomes a ticket of its own, or the ticket it came from reopens.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.errors import AccessDenied, ConflictError, InvalidInput, NotFound, StaleTicket
from core.i18n import N_
from core.incidents import texts
from core.incidents.card import refresh_card
from core.incidents.commands import IncidentReport
from core.incidents.delivery import MailThread
from core.incidents.guards import require_active, require_coordinator
from core.incidents.news import IncidentNews
from core.incidents.places import (
    building_for,
    category_of,
    incident_by_ref,
    matches,
    where_living,
)
from core.incidents.queries import active_incidents
from core.incidents.recorder import IncidentEventType, IncidentRecorder
from core.storage.fit import clipped
from core.storage.models import (
    Building,
    Category,
    Channel,
    EventType,
    Incident,
    IncidentArea,
    IncidentLink,
    IncidentStatus,
    LinkStatus,
    Person,
    Status,
    Ticket,
    TicketEvent,
)
from core.storage.rows import insert
from core.tickets.commands import NewTicket
from core.tickets.guards import require_unfinished
from core.tickets.service import TicketService
from core.tickets.timeline import Saying
from core.tickets.versioned import save_changes

STILL_NOT_WORKING = N_("Still not working after the outage was over:")
"""What a request made from a report on a resolved incident tells staff (its reference follows,
on a line of its own)."""


@dataclass(frozen=True)
class Joined:
    """A resident's report and the incident it joined (``created`` False: joined before)."""

    incident: Incident
    link: IncidentLink
    building: Building | None
    created: bool


class IncidentLinking:
    """Links residents' reports to incidents and takes them off again."""

    def __init__(
        self,
        clock: Clock,
        tickets: TicketService,
        recorder: IncidentRecorder,
        news: IncidentNews,
        *,
        max_attempts: int,
    ) -> None:
        self.clock = clock
        self.tickets = tickets
        self.recorder = recorder
        self.news = news
        self.max_attempts = max_attempts

    async def join(
        self, incident_id: int, person: Person, channel: Channel, text: str = ""
    ) -> Joined:
        """A resident says "that's my problem too": their report is linked, no ticket.

        Joining twice keeps the one link (``created`` False); an incident that is over is
        refused (``ConflictError``), as is one that does not affect where they live.
        """
        incident = await incident_by_ref(incident_id)
        require_active(incident)
        building = await building_for(person, incident, self.clock.now())
        if building is None:
            raise AccessDenied(
                f"incident {incident.id} does not affect {person.name}",
                message=N_("This outage does not affect your building."),
            )
        return await self._link(incident, person, building, channel, text, Actor.of(person))

    async def absorb(
        self, report: IncidentReport, thread: MailThread | None = None
    ) -> Joined | None:
        """Link a mail or voicemail to an active incident it matches (same building, and its
        category or one of its words), answering with the incident's text; None when no
        incident matches, and the report becomes a ticket as usual."""
        now = self.clock.now()
        candidates = (
            [
                (i, await Building.get(id=report.building_id))
                for i in await active_incidents(report.building_id, now)
            ]
            if report.building_id is not None
            else await where_living(report.person_id, now)
        )
        if not candidates:  # most days: one query, and the report goes on
            return None
        person = await Person.get_or_none(id=report.person_id)
        if person is None:
            return None
        words = report.text.lower()
        category = await Category.get_or_none(code=report.category) if report.category else None
        for incident, building in candidates:
            if not matches(incident, category.id if category else None, words):
                continue
            joined = await self._link(
                incident,
                person,
                building,
                report.channel,
                report.text,
                Actor(label=f"{report.channel.value}:{person.name}", person=person),
                answer=True,
                thread=thread,
            )
            return joined
        return None

    async def link_ticket(
        self, ticket_id: int, incident_id: int, actor: Actor, *, version: int
    ) -> IncidentLink:
        """A dispatcher links a resident's ticket to the incident it is about: the ticket is
        closed, and its resident is linked (told the incident's text now, its news later).

        Refused, with nothing written, when the ticket changed since ``version`` was read,
        is finished or has no resident, when the incident is over or does not affect the
        ticket's building, or when the resident's report is linked to it already."""
        require_coordinator(actor)
        incident = await incident_by_ref(incident_id)
        require_active(incident)
        ticket = await self.tickets.get(ticket_id)
        if ticket.version != version:
            raise StaleTicket(ticket.id)
        require_unfinished(ticket)
        ref = texts.incident_ref(incident)
        person, building = ticket.requester, ticket.building
        if person is None:
            raise InvalidInput(
                f"{ticket.ref} has no resident",
                message=N_("{ref} has no resident to link."),
                ref=ticket.ref,
            )
        if building is None or not await IncidentArea.exists(
            incident=incident, building_id=building.id
        ):
            raise InvalidInput(
                f"{ref} does not affect the building of {ticket.ref}",
                message=N_("{incident} does not affect the building of {ref}."),
                incident=ref,
                ref=ticket.ref,
            )
        existing = await IncidentLink.get_or_none(incident=incident, person=person)
        if existing is not None and existing.status == LinkStatus.LINKED:
            raise ConflictError(
                f"{person.name} is linked to {ref} already",
                message=N_("{name} is linked to {incident} already."),
                name=person.name,
                incident=ref,
            )
        now = self.clock.now()
        async with in_transaction():
            previous = ticket.status
            ticket.status, ticket.closed_at, ticket.updated_at = Status.CLOSED, now, now
            await save_changes(ticket, "status", "closed_at", "updated_at")
            saying = Saying("linked_to_incident", {"incident": ref})
            await insert(
                TicketEvent,
                ticket=ticket,
                type=EventType.STATUS_CHANGED,
                public=True,
                text=str(saying),
                actor=actor.person,
                actor_label=clipped(TicketEvent, "actor_label", actor.label),
                data={
                    "from": previous.value,
                    "to": Status.CLOSED.value,
                    "incident": incident.id,
                    **saying.as_data(),
                },
                at=now,
            )
            said = ticket.description or ticket.title
            if existing is None:
                link = await IncidentLink.create(
                    incident=incident,
                    person=person,
                    channel=ticket.channel,
                    text=said,
                    ticket=ticket,
                    created_at=now,
                    updated_at=now,
                )
            else:  # a report that went back to a ticket once
                link = existing
                await IncidentLink.filter(id=link.id).update(
                    channel=ticket.channel,
                    text=said,
                    status=LinkStatus.LINKED,
                    ticket_id=ticket.id,
                    updated_at=now,
                )
            event = await self.recorder.event(
                incident,
                IncidentEventType.LINKED,
                actor,
                text=said,
                data={
                    "link": link.id,
                    "person": person.id,
                    "channel": ticket.channel.value,
                    "ticket": ticket.id,
                },
            )
            await self.news.answer(
                incident,
                person,
                building,
                ticket.channel,
                key=f"incident:{incident.id}:event:{event.id}",
            )
            await refresh_card(incident, now, self.max_attempts)
        return await IncidentLink.get(id=link.id)

    async def unlink(self, link_id: int, actor: Actor) -> Ticket:
        """A dispatcher takes a wrongly matched report off an incident: it becomes a ticket
        of its own (acknowledged to the resident as usual), or, when it was linked from a
        ticket, that ticket is reopened."""
        require_coordinator(actor)
        return await self._detach(link_id, actor, LinkStatus.UNLINKED, resolved=False)

    async def still_not_working(self, link_id: int, person: Person) -> Ticket:
        """A resident says it still does not work after the incident was resolved: their own
        link reopens as a ticket."""
        return await self._detach(link_id, Actor.of(person), LinkStatus.REOPENED, resolved=True)

    async def _link(
        self,
        incident: Incident,
        person: Person,
        building: Building,
        channel: Channel,
        text: str,
        actor: Actor,
        *,
        answer: bool = False,
        thread: MailThread | None = None,
    ) -> Joined:
        existing = await IncidentLink.get_or_none(incident=incident, person=person)
        if existing is not None:
            return Joined(incident, existing, building, created=False)
        try:
            async with in_transaction():
                now = self.clock.now()
                link = await IncidentLink.create(
                    incident=incident,
                    person=person,
                    channel=channel,
                    text=text.strip(),
                    created_at=now,
                    updated_at=now,
                )
                event = await self.recorder.event(
                    incident,
                    IncidentEventType.LINKED,
                    actor,
                    text=text.strip(),
                    data={"link": link.id, "person": person.id, "channel": channel.value},
                )
                if answer:
                    await self.news.answer(
                        incident,
                        person,
                        building,
                        channel,
                        key=f"incident:{incident.id}:event:{event.id}",
                        thread=thread,
                    )
                await refresh_card(incident, now, self.max_attempts)
        except IntegrityError:  # joined at the same moment through another channel
            existing = await IncidentLink.get(incident=incident, person=person)
            return Joined(incident, existing, building, created=False)
        return Joined(incident, link, building, created=True)

    async def _detach(
        self, link_id: int, actor: Actor, status: LinkStatus, *, resolved: bool
    ) -> Ticket:
        link = await IncidentLink.get_or_none(id=link_id).select_related("incident", "person")
        if link is None:
            raise NotFound(f"no incident link {link_id}")
        incident = link.incident
        if status == LinkStatus.REOPENED and (
            actor.person is None or actor.person.id != link.person.id
        ):
            raise AccessDenied(
                f"link {link_id} is not {actor.label}'s",
                message=N_("This button is not yours."),
            )
        if link.status != LinkStatus.LINKED:
            raise ConflictError(
                f"link {link_id} is {link.status.value} already",
                message=N_("This report is already a request of its own."),
            )
        if resolved and incident.status != IncidentStatus.RESOLVED:
            raise ConflictError(
                f"incident {incident.id} is not resolved",
                message=N_("The outage is not over yet; we will tell you when it is fixed."),
            )
        if not resolved and incident.status == IncidentStatus.RESOLVED:
            raise ConflictError(
                f"incident {incident.id} is resolved",
                message=N_("This outage is already over."),
            )
        building = await building_for(link.person, incident, None)
        category = await category_of(incident)
        async with in_transaction():
            changed = await IncidentLink.filter(id=link.id, status=LinkStatus.LINKED).update(
                status=status, updated_at=self.clock.now()
            )
            if not changed:
                raise ConflictError(
                    f"link {link_id} changed meanwhile",
                    message=N_("This report is already a request of its own."),
                )
            came_from = link.ticket_id  # type: ignore[attr-defined]
            if not resolved and came_from is not None:  # linked from a ticket: reopen it
                ticket = await self.tickets.get(came_from)
                await self.tickets.change_status(ticket, actor, Status.REOPENED)
                await self.recorder.event(
                    incident,
                    IncidentEventType.UNLINKED,
                    actor,
                    data={"link": link.id, "person": link.person.id, "ticket": ticket.id},
                )
                await refresh_card(incident, self.clock.now(), self.max_attempts)
                return ticket
            title = link.text.splitlines()[0][:120] if link.text else incident.title
            result = await self.tickets.create(
                NewTicket(
                    category=category.code,
                    title=title,
                    description=link.text,
                    channel=link.channel,
                    actor=actor,
                    building=building.code if building else None,
                    requester_id=link.person.id,
                    needs_attention=(
                        f"{STILL_NOT_WORKING}\n{texts.incident_ref(incident)}" if resolved else ""
                    ),
                )
            )
            await IncidentLink.filter(id=link.id).update(ticket_id=result.ticket.id)
            await self.recorder.event(
                incident,
                IncidentEventType.REOPENED if resolved else IncidentEventType.UNLINKED,
                actor,
                data={"link": link.id, "person": link.person.id, "ticket": result.ticket.id},
            )
            if not resolved:
                await refresh_card(incident, self.clock.now(), self.max_attempts)
        return result.ticket
