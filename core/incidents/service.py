"""The incident service: the one place that opens, changes and resolves incidents and links
residents' reports to them.

Every change is one transaction that writes the incident (or link), one timeline event
(:mod:`core.incidents.recorder`: who, when, what) and the outbox rows that tell people about
it (:mod:`core.incidents.news`). Opening, updating and resolving is
:mod:`core.incidents.lifecycle`; joining, absorbing, linking and unlinking reports
:mod:`core.incidents.linking`; where an incident is and whom it reaches
:mod:`core.incidents.places`. Staff work an incident as one ticket, created when it becomes
active and routed like any other (cards, duty ladder, nudges); residents who report the same
thing are linked to it instead of opening tickets of their own. Changes are optimistic: an
incident carries a ``version``, and a change decided on an older copy, or on one that is
already resolved, writes nothing and says why.
"""

from __future__ import annotations

from core.actors import Actor
from core.clock import Clock
from core.incidents.commands import IncidentReport, OpenIncident, UpdateIncident
from core.incidents.delivery import MailThread
from core.incidents.lifecycle import IncidentLifecycle
from core.incidents.linking import IncidentLinking, Joined
from core.incidents.news import IncidentNews
from core.incidents.places import incident_by_ref, where_living
from core.incidents.recorder import IncidentRecorder
from core.operations.announcements import Announcer
from core.storage.models import Building, Channel, Incident, IncidentLink, Person, Ticket
from core.tickets.service import TicketService


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
        recorder = IncidentRecorder(clock)
        self.news = IncidentNews(
            clock,
            recorder,
            self.announcer,
            max_attempts=max_attempts,
            mail_domain=self.mail_domain,
        )
        self._lifecycle = IncidentLifecycle(clock, tickets, recorder, self.news)
        self._linking = IncidentLinking(
            clock, tickets, recorder, self.news, max_attempts=max_attempts
        )

    # -- reading -----------------------------------------------------------------------

    async def get(self, ref: str | int) -> Incident:
        """The incident ``I7`` (or ``7``), with its category."""
        return await incident_by_ref(ref)

    async def for_person(self, person: Person) -> list[tuple[Incident, Building]]:
        """The active incidents where ``person`` lives, with the building each affects."""
        return await where_living(person.id, self.clock.now())

    # -- staff changes (:mod:`core.incidents.lifecycle`) -------------------------------

    async def open(self, cmd: OpenIncident) -> Incident:
        """Open an incident; one that starts now is active at once, with its staff ticket."""
        return await self._lifecycle.open(cmd)

    async def start(self, incident_id: int) -> bool:
        """Start a scheduled incident (the scheduler); False if it was not scheduled."""
        return await self._lifecycle.start(incident_id)

    async def update(self, cmd: UpdateIncident) -> int:
        """A new expected end and/or a note, told once to everyone linked; how many."""
        return await self._lifecycle.update(cmd)

    async def resolve(self, incident_id: int, actor: Actor, *, version: int | None = None) -> int:
        """End an incident and tell everyone linked; how many were told."""
        return await self._lifecycle.resolve(incident_id, actor, version=version)

    async def announce_planned(self, incident_id: int) -> int:
        """A planned shut-off's day-before notice to its buildings; messages queued."""
        return await self.news.announce_planned(incident_id)

    # -- residents' reports (:mod:`core.incidents.linking`) ----------------------------

    async def join(
        self, incident_id: int, person: Person, channel: Channel, text: str = ""
    ) -> Joined:
        """A resident's "that's my problem too": linked, no ticket."""
        return await self._linking.join(incident_id, person, channel, text)

    async def absorb(
        self, report: IncidentReport, thread: MailThread | None = None
    ) -> Joined | None:
        """Link a mail or voicemail to the active incident it matches; None if none does."""
        return await self._linking.absorb(report, thread)

    async def link_ticket(
        self, ticket_id: int, incident_id: int, actor: Actor, *, version: int
    ) -> IncidentLink:
        """A dispatcher links a resident's ticket to an incident: the ticket closes."""
        return await self._linking.link_ticket(ticket_id, incident_id, actor, version=version)

    async def unlink(self, link_id: int, actor: Actor) -> Ticket:
        """A dispatcher takes a wrong match off: a ticket of its own, or its ticket reopens."""
        return await self._linking.unlink(link_id, actor)

    async def still_not_working(self, link_id: int, person: Person) -> Ticket:
        """After the end, a resident's own link reopens as a ticket."""
        return await self._linking.still_not_working(link_id, person)
