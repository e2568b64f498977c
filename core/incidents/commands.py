"""Inputs to the incident service, as plain dataclasses built by the channels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.actors import Actor
from core.storage.models import Channel, IncidentKind


@dataclass(frozen=True)
class OpenIncident:
    """Open an incident: now (an outage) or ahead (a planned shut-off, ``starts_at`` later)."""

    kind: IncidentKind
    buildings: tuple[str, ...]
    """Building codes."""
    title: str
    texts: dict[str, str]
    """What residents are told, by language."""
    actor: Actor
    channel: Channel = Channel.CLI
    category: str | None = None
    starts_at: datetime | None = None
    """None: now."""
    expected_end_at: datetime | None = None
    keywords: tuple[str, ...] = ()
    entrances: tuple[str, ...] = ()
    floors: tuple[str, ...] = ()
    flats: tuple[str, ...] = ()
    """Only the flats reached by these entrances, on these floors, these flats (ranges such
    as ``"20-25"`` allowed; several lists all apply); all empty: the whole buildings."""


@dataclass(frozen=True)
class UpdateIncident:
    """A new expected end and/or a note for residents, told once to everyone linked."""

    incident_id: int
    actor: Actor
    expected_end_at: datetime | None = None
    note: str = ""
    version: int | None = None
    """The version the actor saw (None: whatever it is now)."""


@dataclass(frozen=True)
class IncidentReport:
    """A resident's report that may be about an active incident (mail, voicemail, chat)."""

    person_id: int
    channel: Channel
    text: str = ""
    building_id: int | None = None
    """The building the report names (a voicemail's called number); None: the resident's."""
    category: str | None = None
    """The category the report was classified in, if any."""
    answer_to: str | None = None
    """The mail's Message-ID, so the answer threads to it."""
    subject: str = ""
