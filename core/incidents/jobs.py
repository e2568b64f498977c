"""The scheduler's incident job: a planned shut-off is announced the day before at 18:00 in
its building's time zone, started at its start and ended at its expected end; an incident
whose ticket staff marked done is resolved (its residents are told)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.actors import Actor
from core.incidents.service import IncidentService
from core.storage.models import Building, Incident, IncidentKind, IncidentStatus, Status

ANNOUNCE_AT = time(18, 0)
"""Local time, the day before a planned incident starts, when residents are told."""
SCHEDULER = Actor.system("scheduler")


def announce_time(incident: Incident, building: Building, at: time = ANNOUNCE_AT) -> datetime:
    """When residents hear of a planned incident: ``at`` on the day before it starts, in the
    building's time zone."""
    zone = ZoneInfo(building.timezone or "UTC")
    day_before = incident.starts_at.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day_before, at, tzinfo=zone)


class IncidentJobs:
    """The periodic incident work (one job of the scheduler)."""

    def __init__(self, incidents: IncidentService, announce_at: time = ANNOUNCE_AT) -> None:
        self.incidents = incidents
        self.announce_at = announce_at

    async def run(self, now: datetime) -> int:
        """Announce, start and end what is due at ``now``; returns how many steps were taken."""
        now = now.astimezone(UTC)  # stored times compare as UTC
        done = 0
        soon = now + timedelta(days=2)
        for incident in await Incident.filter(status=IncidentStatus.SCHEDULED, starts_at__lte=soon):
            if incident.starts_at <= now:
                done += await self.incidents.start(incident.id)
                continue
            building = await Building.filter(incident_areas__incident_id=incident.id).first()
            if building is not None and announce_time(incident, building, self.announce_at) <= now:
                done += bool(await self.incidents.announce_planned(incident.id))
        over = await Incident.filter(
            status=IncidentStatus.ACTIVE, kind=IncidentKind.PLANNED, expected_end_at__lte=now
        )
        finished = await Incident.filter(
            status=IncidentStatus.ACTIVE, ticket__status__in=[Status.DONE, Status.CLOSED]
        )
        for incident in {i.id: i for i in [*over, *finished]}.values():
            await self.incidents.resolve(incident.id, SCHEDULER)
            done += 1
        return done
