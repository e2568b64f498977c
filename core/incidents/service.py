"""The incident service: the one place that opens, changes and resolves incidents and links
residents' reports to them.

Every change is one transaction that writes the incident (or link), one timeline event
(:class:`~core.storage.models.IncidentEvent`: who, when, what) and the outbox rows that
tell people about it. Staff work an incident as one ticket, created when it becomes active
and routed like any other (cards, duty ladder, nudges); residents who report the same thing
are linked to it instead of opening tickets of their own. Changes are optimistic: an
incident carries a ``version``, and a change decided on an older copy, or on one that is
already resolved, writes nothing and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.directory.defaults import fallback_category
from core.directory.lookup import building_by_code, category_by_code
from core.errors import AccessDenied, ConflictError, InvalidInput, NotFound, StaleTicket
from core.i18n import N_, available_languages, gettext
from core.incidents import texts
from core.incidents.card import refresh_card
from core.incidents.commands import IncidentReport, OpenIncident, UpdateIncident
from core.incidents.delivery import MailThread, tell
from core.incidents.queries import (
    absorbed_by_channel,
    active_incidents,
    active_where_living,
    homes_in_incident,
    linked_people,
)
from core.messaging.message import Action, Verb
from core.messaging.routes import Route
from core.operations.announcements import Announcer, Draft
from core.operations.audience import Scope
from core.storage.fit import clipped
from core.storage.models import (
    Announcement,
    AnnouncementKind,
    AnnouncementStatus,
    Building,
    Category,
    Channel,
    Contact,
    EventType,
    Incident,
    IncidentArea,
    IncidentEvent,
    IncidentKind,
    IncidentLink,
    IncidentStatus,
    LinkStatus,
    Person,
    Status,
    Ticket,
    TicketEvent,
    Unit,
)
from core.storage.rows import insert
from core.tickets.access import SEES_ALL
from core.tickets.commands import NewTicket
from core.tickets.guards import FINISHED, require_unfinished
from core.tickets.service import TicketService
from core.tickets.timeline import Saying
from core.tickets.versioned import save_changes

STILL_NOT_WORKING = N_("Still not working after the outage was over:")
"""What a request made from a report on a resolved incident tells staff (its reference follows,
on a line of its own)."""


class IncidentEventType(StrEnum):
    """Kinds of incident timeline rows."""

    OPENED = "opened"
    STARTED = "started"
    ANNOUNCED = "announced"
    UPDATED = "updated"
    RESOLVED = "resolved"
    LINKED = "linked"
    UNLINKED = "unlinked"
    REOPENED = "reopened"


@dataclass(frozen=True)
class Joined:
    """A resident's report and the incident it joined (``created`` False: joined before)."""

    incident: Incident
    link: IncidentLink
    building: Building | None
    created: bool


class IncidentService:
    """Opens, updates and resolves incidents; links and unlinks residents' reports."""

    def __init__(
        self,
        clock: Clock,
        tickets: TicketService,
        *,
        max_attempts: int = 8,
        announcer: Announcer | None = None,
    ) -> None:
        self.clock = clock
        self.tickets = tickets
        self.max_attempts = max_attempts
        self.mail_domain = tickets.notifier.settings.mail_domain
        self.announcer = announcer or Announcer(
            clock, mail_domain=self.mail_domain, max_attempts=max_attempts
        )

    # -- reading -----------------------------------------------------------------------

    async def get(self, ref: str | int) -> Incident:
        """The incident ``I7`` (or ``7``), with its category."""
        number = texts.parse_incident_ref(ref)
        incident = (
            await Incident.get_or_none(id=number).select_related("category")
            if number is not None
            else None
        )
        if incident is None:
            raise NotFound(
                f"no incident {ref}",
                message=N_('There is no incident "{ref}".'),
                ref=str(ref),
            )
        return incident

    async def for_person(self, person: Person) -> list[tuple[Incident, Building]]:
        """The active incidents where ``person`` lives, with the building each affects."""
        return await self._where_living(person.id)

    async def _where_living(self, person_id: int) -> list[tuple[Incident, Building]]:
        active = await active_where_living(person_id, self.clock.now())
        if not active:
            return []
        buildings = {b.id: b for b in await Building.filter(id__in=[b for _, b in active])}
        return [(incident, buildings[building]) for incident, building in active]

    # -- staff changes -----------------------------------------------------------------

    async def open(self, cmd: OpenIncident) -> Incident:
        """Open an incident; one that starts now is active at once and gets its staff ticket.

        Managers, dispatchers, admins and the operator (no person) may open one.
        """
        _require_coordinator(cmd.actor)
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
                    incident=incident, building=building, flats=await _flats_of(building, scope)
                )
            await self._event(
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
        """Mark a scheduled incident started (the scheduler, at its start); False if it was
        not scheduled any more."""
        async with in_transaction():
            incident = await self._locked(incident_id)
            if incident.status != IncidentStatus.SCHEDULED:
                return False
            await self._save(incident, status=IncidentStatus.ACTIVE)
            await self._event(incident, IncidentEventType.STARTED, Actor.system("scheduler"))
            buildings = await _buildings(incident.id)
            await self._staff_ticket(incident, buildings[0], Actor.system("scheduler"), Channel.CLI)
        return True

    async def update(self, cmd: UpdateIncident) -> int:
        """Change the expected end and/or add a note; every linked resident is told once.
        Returns how many were told."""
        _require_coordinator(cmd.actor)
        if cmd.expected_end_at is None and not cmd.note.strip():
            raise InvalidInput(
                "nothing to update",
                message=N_("Give a new expected end or a note for residents."),
            )
        async with in_transaction():
            incident = await self._changeable(cmd.incident_id, cmd.version)
            if cmd.expected_end_at is not None and cmd.expected_end_at <= incident.starts_at:
                raise InvalidInput(
                    "the expected end is before the start",
                    message=N_("The expected end must come after the start."),
                )
            changes: dict[str, Any] = {}
            if cmd.expected_end_at is not None:
                changes["expected_end_at"] = cmd.expected_end_at
            await self._save(incident, **changes)
            event = await self._event(
                incident,
                IncidentEventType.UPDATED,
                cmd.actor,
                text=cmd.note.strip(),
                data={"expected_end_at": _iso(incident.expected_end_at)},
            )
            note = cmd.note.strip()
            return await self._tell_linked(
                incident,
                f"incident:{incident.id}:event:{event.id}",
                lambda b, lang: texts.updated(incident, b, lang, note),
                cmd.actor,
            )

    async def resolve(self, incident_id: int, actor: Actor, *, version: int | None = None) -> int:
        """End an incident: everyone linked is told, with a "still not working" button, and
        its staff ticket is done. Returns how many residents were told."""
        _require_coordinator(actor)
        async with in_transaction():
            incident = await self._changeable(incident_id, version)
            now = self.clock.now()
            await self._save(incident, status=IncidentStatus.RESOLVED, ended_at=now)
            counts = await absorbed_by_channel(incident.id)
            event = await self._event(
                incident,
                IncidentEventType.RESOLVED,
                actor,
                text=texts.absorbed(counts, "en"),
                data={"absorbed": counts},
            )
            told = await self._tell_linked(
                incident,
                f"incident:{incident.id}:event:{event.id}",
                lambda b, lang: texts.resolved(incident, b, lang),
                actor,
                still=True,
            )
            await self._finish_ticket(incident, actor)
        return told

    async def announce_planned(self, incident_id: int) -> int:
        """Tell every resident of the affected buildings about a planned shut-off (the day
        before), once per incident, as an ordinary announcement from whoever opened it: the
        hourly limit applies and its sender is told how many got it. Returns how many
        messages were queued."""
        incident = await Incident.get(id=incident_id).select_related("opened_by")
        if incident.status != IncidentStatus.SCHEDULED or await IncidentEvent.exists(
            incident=incident, type=IncidentEventType.ANNOUNCED
        ):
            return 0
        opener = incident.opened_by
        actor = Actor.of(opener) if opener else Actor.system("scheduler")
        async with in_transaction():  # the timeline row and every message, or nothing
            event = await self._event(incident, IncidentEventType.ANNOUNCED, actor)
            sent = [
                await self.announcer.announce(_planned_notice(incident, area), actor)
                for area in await IncidentArea.filter(incident=incident).select_related("building")
            ]
            told = sum(result.queued for result in sent)
            event.data = {"told": told, "announcements": [r.announcement_id for r in sent]}
            await event.save(update_fields=["data"])
        return told

    # -- residents ---------------------------------------------------------------------

    async def join(
        self, incident_id: int, person: Person, channel: Channel, text: str = ""
    ) -> Joined:
        """A resident says "that's my problem too": their report is linked, no ticket.

        Joining twice keeps the one link (``created`` False); an incident that is over is
        refused (``ConflictError``), as is one that does not affect where they live.
        """
        incident = await self.get(incident_id)
        _require_active(incident)
        building = await _building_for(person, incident, self.clock.now())
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
            else await self._where_living(report.person_id)
        )
        if not candidates:  # most days: one query, and the report goes on
            return None
        person = await Person.get_or_none(id=report.person_id)
        if person is None:
            return None
        words = report.text.lower()
        category = await Category.get_or_none(code=report.category) if report.category else None
        for incident, building in candidates:
            if not _matches(incident, category.id if category else None, words):
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
        _require_coordinator(actor)
        incident = await self.get(incident_id)
        _require_active(incident)
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
            event = await self._event(
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
            lang = person.language or building.language
            await tell(
                person,
                "\n".join(
                    (texts.notice(incident, building, lang), texts.joined(incident, building, lang))
                ),
                key=f"incident:{incident.id}:event:{event.id}",
                now=now,
                prefer_email=ticket.channel == Channel.EMAIL,
                max_attempts=self.max_attempts,
                mail_domain=self.mail_domain,
            )
            await refresh_card(incident, now, self.max_attempts)
        return await IncidentLink.get(id=link.id)

    async def unlink(self, link_id: int, actor: Actor) -> Ticket:
        """A dispatcher takes a wrongly matched report off an incident: it becomes a ticket
        of its own (acknowledged to the resident as usual), or, when it was linked from a
        ticket, that ticket is reopened."""
        _require_coordinator(actor)
        return await self._detach(link_id, actor, LinkStatus.UNLINKED, resolved=False)

    async def still_not_working(self, link_id: int, person: Person) -> Ticket:
        """A resident says it still does not work after the incident was resolved: their own
        link reopens as a ticket."""
        return await self._detach(link_id, Actor.of(person), LinkStatus.REOPENED, resolved=True)

    # -- helpers -----------------------------------------------------------------------

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
                event = await self._event(
                    incident,
                    IncidentEventType.LINKED,
                    actor,
                    text=text.strip(),
                    data={"link": link.id, "person": person.id, "channel": channel.value},
                )
                if answer:
                    lang = person.language or building.language
                    await tell(
                        person,
                        "\n".join(
                            (
                                texts.notice(incident, building, lang),
                                texts.joined(incident, building, lang),
                            )
                        ),
                        key=f"incident:{incident.id}:event:{event.id}",
                        now=now,
                        prefer_email=channel == Channel.EMAIL,
                        thread=thread,
                        max_attempts=self.max_attempts,
                        mail_domain=self.mail_domain,
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
        building = await _building_for(link.person, incident, None)
        category = await _category_of(incident)
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
                await self._event(
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
            await self._event(
                incident,
                IncidentEventType.REOPENED if resolved else IncidentEventType.UNLINKED,
                actor,
                data={"link": link.id, "person": link.person.id, "ticket": result.ticket.id},
            )
            if not resolved:
                await refresh_card(incident, self.clock.now(), self.max_attempts)
        return result.ticket

    async def _staff_ticket(
        self, incident: Incident, building: Building, actor: Actor, channel: Channel
    ) -> None:
        """The one ticket staff work the incident on, routed like any other."""
        category = await _category_of(incident)
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
        await self._save(incident, ticket_id=result.ticket.id)

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

    async def _tell_linked(
        self,
        incident: Incident,
        key: str,
        text: Callable[[Building | None, str], str],
        actor: Actor,
        *,
        still: bool = False,
    ) -> int:
        """Queue news for every resident still linked; ``text(building, lang)`` writes it.

        The news is counted as an announcement of ``actor``'s, as sent: they are told how
        many were delivered once the outbox is done with it. Linked residents reported the
        outage, so the hourly limit on announcements does not hold their news back."""
        buildings = {b.id: b for b in await _buildings(incident.id)}
        links = await linked_people(incident.id)
        homes = await homes_in_incident(incident.id)
        contacts = await _contacts_by_person([link.person.id for link in links])
        fallback = next(iter(buildings.values()), None)
        if not links:
            return 0
        now = self.clock.now()
        news = await _news(incident, fallback, actor, now, text)
        counts = {"chat": 0, "email": 0, "unreachable": 0, "held": 0}
        for link in links:
            person = link.person
            building = buildings.get(homes.get(person.id, 0), fallback)
            lang = person.language or (building.language if building else "en")
            actions = (
                [Action(gettext(lang, texts.STILL_NOT_WORKING), Verb.STILL_NOT_WORKING, link.id)]
                if still
                else []
            )
            route = await tell(
                person,
                text(building, lang),
                key=f"{key}:{person.id}",
                now=now,
                actions=actions,
                prefer_email=link.channel == Channel.EMAIL,
                max_attempts=self.max_attempts,
                mail_domain=self.mail_domain,
                contacts=contacts.get(person.id, []),
                announcement_id=news.id,
            )
            counts[_COUNTED[route] if route else "unreachable"] += 1
        await Announcement.filter(id=news.id).update(counts=counts)
        return counts["chat"] + counts["email"]

    async def _changeable(self, incident_id: int, version: int | None) -> Incident:
        incident = await self._locked(incident_id)
        if incident.status == IncidentStatus.RESOLVED:
            raise ConflictError(
                f"incident {incident.id} is resolved",
                message=N_("{ref} is already resolved."),
                ref=texts.incident_ref(incident),
            )
        if version is not None and version != incident.version:
            raise ConflictError(
                f"incident {incident.id} changed meanwhile",
                message=N_("{ref} was changed meanwhile by someone else; look again and retry."),
                ref=texts.incident_ref(incident),
            )
        return incident

    async def _locked(self, incident_id: int) -> Incident:
        incident = await Incident.get_or_none(id=incident_id).select_related("category")
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        return incident

    async def _save(self, incident: Incident, **changes: Any) -> None:
        """Write ``changes`` if nobody changed the incident since it was read."""
        now = self.clock.now()
        written = await Incident.filter(id=incident.id, version=incident.version).update(
            **changes, updated_at=now, version=incident.version + 1
        )
        if not written:
            raise ConflictError(
                f"incident {incident.id} changed meanwhile",
                message=N_("{ref} was changed meanwhile by someone else; look again and retry."),
                ref=texts.incident_ref(incident),
            )
        for name, value in changes.items():
            setattr(incident, name, value)
        incident.updated_at = now
        incident.version += 1

    async def _event(
        self,
        incident: Incident,
        kind: str,
        actor: Actor,
        *,
        text: str = "",
        data: dict[str, object] | None = None,
    ) -> IncidentEvent:
        return await IncidentEvent.create(
            incident=incident,
            type=kind,
            text=text,
            actor=actor.person,
            actor_label=clipped(IncidentEvent, "actor_label", actor.label),
            data=data or {},
            at=self.clock.now(),
        )


def _require_coordinator(actor: Actor) -> None:
    """Incidents are for managers, dispatchers, admins and the operator (no person)."""
    person = actor.person
    if person is not None and person.role not in SEES_ALL:
        raise AccessDenied(
            f"{person.role.value} may not manage incidents",
            message=N_("Only managers and dispatchers can open or change incidents."),
        )


def _require_active(incident: Incident) -> None:
    if incident.status == IncidentStatus.RESOLVED:
        raise ConflictError(
            f"incident {incident.id} is resolved",
            message=N_("This outage is already over."),
        )


def _matches(incident: Incident, category_id: int | None, words: str) -> bool:
    """A report is about an incident when it is in its category or uses one of its words."""
    if category_id is not None and incident.category_id == category_id:  # type: ignore[attr-defined]
        return True
    return any(word in words for word in incident.keywords or [])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


_COUNTED = {Route.RESIDENT_CHAT: "chat", Route.EMAIL: "email"}
"""The announcement count a route's message adds to."""


def _planned_notice(incident: Incident, area: IncidentArea) -> Draft:
    """The day-before announcement of a planned incident to one building (or its flats),
    in every language, headed like any announcement."""
    building = area.building
    return Draft(
        text=texts.planned_notice(incident, building, building.language),
        building=building.code,
        scope=Scope(flats=tuple(area.flats)),
        incident_id=incident.id,
        texts={
            lang: texts.planned_notice(incident, building, lang) for lang in available_languages()
        },
    )


async def _news(
    incident: Incident,
    building: Building | None,
    actor: Actor,
    now: datetime,
    text: Callable[[Building | None, str], str],
) -> Announcement:
    """The announcement that counts an incident's news to its linked residents: sent, so
    its sender hears how it went once nothing of it is left in the outbox."""
    lang = (actor.person.language if actor.person else None) or (
        building.language if building else "en"
    )
    emergency = incident.kind == IncidentKind.EMERGENCY
    return await Announcement.create(
        building=building,
        text=text(building, lang),
        actor=actor.person,
        actor_label=clipped(Announcement, "actor_label", actor.label),
        created_at=now,
        kind=AnnouncementKind.EMERGENCY if emergency else AnnouncementKind.ORDINARY,
        status=AnnouncementStatus.SENT,
        send_at=now,
        sent_at=now,
        history=[{"type": "sent", "actor": actor.label, "at": now.isoformat()}],
        incident=incident,
    )


async def _category_of(incident: Incident) -> Category:
    """The incident's category, else the directory's fallback."""
    if incident.category_id is None:  # type: ignore[attr-defined]
        return await fallback_category()
    return await Category.get(id=incident.category_id)  # type: ignore[attr-defined]


async def _flats_of(building: Building, scope: Scope) -> list[str]:
    """The flat numbers of ``building`` in ``scope`` (empty: the whole building)."""
    if scope.whole:
        return []
    query = Unit.filter(building=building)
    if scope.entrances:
        query = query.filter(entrance__in=list(scope.entrances))
    if scope.floors:
        query = query.filter(floor__in=list(scope.floors))
    if scope.flats:
        query = query.filter(number__in=list(scope.flats))
    numbers = list(await query.order_by("id").values_list("number", flat=True))
    if not numbers:
        raise InvalidInput(
            f"no flat of {building.code} is in that part",
            message=N_("No flat of {building} is in that part of it."),
            building=building.name,
        )
    return [str(n) for n in numbers]


async def _contacts_by_person(person_ids: list[int]) -> dict[int, list[Contact]]:
    """Everyone's usable contacts in one query, in the order they were added."""
    found: dict[int, list[Contact]] = {}
    for contact in await Contact.filter(person_id__in=person_ids, blocked=False).order_by("id"):
        found.setdefault(contact.person_id, []).append(contact)  # type: ignore[attr-defined]
    return found


async def _units_of(person: Person) -> list[Unit]:
    return await Unit.filter(residents__id=person.id).select_related("building").order_by("id")


async def _buildings(incident_id: int) -> list[Building]:
    return await Building.filter(incident_areas__incident_id=incident_id).order_by("id")


async def _building_for(
    person: Person,
    incident: Incident,
    at: datetime | None,
    buildings: dict[int, Building] | None = None,
) -> Building | None:
    """The building of ``person`` that ``incident`` affects (its flats, if it lists any);
    ``at`` given: only while the incident is active then."""
    areas = {a.building_id: a for a in await IncidentArea.filter(incident=incident)}  # type: ignore[attr-defined]
    for unit in await _units_of(person):
        area = areas.get(unit.building.id)
        if area is None or (area.flats and unit.number not in area.flats):
            continue
        if at is not None and (incident.starts_at > at):
            continue
        return (buildings or {}).get(unit.building.id, unit.building)
    return None
