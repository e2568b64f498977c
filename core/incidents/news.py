"""What residents hear of an incident: the answer to a report it absorbed, the news told to
everyone linked (an update, the resolution), and a planned one's day-before notice, start
and end (told to everyone it affects).

News to many is counted as an announcement of its sender's, so they hear how many got it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tortoise.transactions import in_transaction

from core.actors import Actor
from core.clock import Clock
from core.i18n import available_languages, gettext
from core.incidents import texts
from core.incidents.delivery import MailThread, tell
from core.incidents.places import buildings_of
from core.incidents.queries import homes_in_incident, linked_people
from core.incidents.recorder import IncidentEventType, IncidentRecorder
from core.messaging.message import Action, Verb
from core.messaging.routes import Priority, Route
from core.operations.announcements import BATCH, Announcer, Draft
from core.operations.audience import Recipient, Scope, residents
from core.storage.fit import clipped
from core.storage.models import (
    Announcement,
    AnnouncementKind,
    AnnouncementStatus,
    Building,
    Channel,
    Contact,
    Incident,
    IncidentArea,
    IncidentEvent,
    IncidentKind,
    IncidentLink,
    IncidentStatus,
    Person,
)

NewsText = Callable[[Building | None, str], str]
"""Writes a piece of news for a resident of a building (or none), in a language."""


class IncidentNews:
    """Queues what residents are told about an incident, in the transaction of the change."""

    def __init__(
        self,
        clock: Clock,
        recorder: IncidentRecorder,
        announcer: Announcer,
        *,
        max_attempts: int,
        mail_domain: str,
    ) -> None:
        self.clock = clock
        self.recorder = recorder
        self.announcer = announcer
        self.max_attempts = max_attempts
        self.mail_domain = mail_domain

    async def answer(
        self,
        incident: Incident,
        person: Person,
        building: Building,
        channel: Channel,
        *,
        key: str,
        thread: MailThread | None = None,
    ) -> None:
        """Tell a resident whose report was linked the incident's text and that no request
        of their own is needed (by mail when they wrote by mail)."""
        lang = person.language or building.language
        await tell(
            person,
            "\n".join(
                (texts.notice(incident, building, lang), texts.joined(incident, building, lang))
            ),
            key=key,
            now=self.clock.now(),
            prefer_email=channel == Channel.EMAIL,
            thread=thread,
            max_attempts=self.max_attempts,
            mail_domain=self.mail_domain,
        )

    async def tell_linked(
        self,
        incident: Incident,
        key: str,
        text: NewsText,
        actor: Actor,
        *,
        still: bool = False,
    ) -> int:
        """Queue news for every resident still linked; ``text(building, lang)`` writes it.

        The news is counted as an announcement of ``actor``'s, as sent: they are told how
        many were delivered once the outbox is done with it. Linked residents reported the
        outage, so the hourly limit on announcements does not hold their news back."""
        links = await linked_people(incident.id)
        return await self._tell(incident, key, text, actor, links, [], still=still)

    async def tell_area(
        self,
        incident: Incident,
        key: str,
        text: NewsText,
        actor: Actor,
        *,
        still: bool = False,
    ) -> int:
        """Queue news for everyone the incident affects (a planned shut-off starting, or
        over): every resident of its buildings (its flats), and anyone linked from
        elsewhere; each once, the linked ones with their button when ``still``.

        It is not held back by the hourly limit either: residents were told the day before
        when it starts and ends, and a notice of either an hour late would be wrong when
        read. Those who did not report it get it as bulk, behind ticket work."""
        links = await linked_people(incident.id)
        audience: list[Recipient] = []
        for area in await IncidentArea.filter(incident=incident).select_related("building"):
            after = 0
            scope = Scope(flats=tuple(area.flats))
            while batch := await residents(area.building, scope, after, BATCH):
                audience.extend(batch)
                after = batch[-1].person.id
        return await self._tell(incident, key, text, actor, links, audience, still=still)

    async def _tell(
        self,
        incident: Incident,
        key: str,
        text: NewsText,
        actor: Actor,
        links: list[IncidentLink],
        audience: list[Recipient],
        *,
        still: bool,
    ) -> int:
        """Queue ``text`` for the linked residents and the ``audience``, once a person."""
        buildings = {b.id: b for b in await buildings_of(incident.id)}
        homes = await homes_in_incident(incident.id)
        linked = {link.person.id: link for link in links}
        unique = {r.person.id: r for r in audience}
        others = [r for r in unique.values() if r.person.id not in linked]
        contacts = await _contacts_by_person(list(linked))
        for recipient in others:
            contacts[recipient.person.id] = list(recipient.contacts.values())
        fallback = next(iter(buildings.values()), None)
        if not links and not others:
            return 0
        now = self.clock.now()
        news = await _news(incident, fallback, actor, now, text)
        counts = {"chat": 0, "email": 0, "unreachable": 0, "held": 0}
        people = [(link.person, link) for link in links] + [(r.person, None) for r in others]
        for person, link in people:
            building = buildings.get(homes.get(person.id, 0), fallback)
            lang = person.language or (building.language if building else "en")
            actions = (
                [Action(gettext(lang, texts.STILL_NOT_WORKING), Verb.STILL_NOT_WORKING, link.id)]
                if still and link is not None
                else []
            )
            route = await tell(
                person,
                text(building, lang),
                key=f"{key}:{person.id}",
                now=now,
                actions=actions,
                prefer_email=link is not None and link.channel == Channel.EMAIL,
                priority=Priority.NORMAL if link is not None else Priority.BULK,
                max_attempts=self.max_attempts,
                mail_domain=self.mail_domain,
                contacts=contacts.get(person.id, []),
                announcement_id=news.id,
            )
            counts[_COUNTED[route] if route else "unreachable"] += 1
        await Announcement.filter(id=news.id).update(counts=counts)
        return counts["chat"] + counts["email"]

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
            event = await self.recorder.event(incident, IncidentEventType.ANNOUNCED, actor)
            sent = [
                await self.announcer.announce(_planned_notice(incident, area), actor)
                for area in await IncidentArea.filter(incident=incident).select_related("building")
            ]
            told = sum(result.queued for result in sent)
            event.data = {"told": told, "announcements": [r.announcement_id for r in sent]}
            await event.save(update_fields=["data"])
        return told


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
    text: NewsText,
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


async def _contacts_by_person(person_ids: list[int]) -> dict[int, list[Contact]]:
    """Everyone's usable contacts in one query, in the order they were added."""
    found: dict[int, list[Contact]] = {}
    for contact in await Contact.filter(person_id__in=person_ids, blocked=False).order_by("id"):
        found.setdefault(contact.person_id, []).append(contact)  # type: ignore[attr-defined]
    return found
