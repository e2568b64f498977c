"""A journal page's tickets as the page prints them: every word looked up once a page, not
once a row, so the template only places finished text (autoescaped as ever)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import cast

from core.i18n import N_, gettext
from core.storage.models import Building, Channel, Status
from core.tickets.cards import local_time
from core.tickets.journal import JournalRow, Place
from core.tickets.workflow import status_name
from presentation.reports.text import channel_name


@dataclass(frozen=True)
class Line:
    """One ticket of the journal in the reader's words."""

    id: int
    title: str
    status: str
    """The status's value (the badge's style)."""
    status_name: str
    attention: bool
    meta: str
    """When, where, what, who and how, joined by " · "."""


def journal_lines(rows: list[JournalRow], language: str) -> list[Line]:
    """``rows`` as lines of the journal in ``language``."""
    statuses = {status: status_name(status, language) for status in Status}
    channels = {channel: channel_name(channel.value, language) for channel in Channel}
    flat = gettext(language, N_("flat {unit}"))
    unknown = gettext(language, N_("building unknown"))
    unassigned = gettext(language, N_("unassigned"))
    unverified = gettext(language, N_("unverified resident"))
    lines = []
    for row in rows:
        place = row.building.name if row.building else unknown
        meta = [
            _when(row.created_at.replace(second=0, microsecond=0), row.building, language),
            f"{place}, {flat.format(unit=row.unit)}" if row.unit else place,
            row.category_in(language),
            row.assignee or unassigned,
            channels[row.channel],
        ]
        if not row.verified:
            meta.append(unverified)
        lines.append(
            Line(
                row.id,
                row.title,
                row.status.value,
                statuses[row.status],
                bool(row.needs_attention),
                " · ".join(meta),
            )
        )
    return lines


@lru_cache(maxsize=8192)
def _when(minute: datetime, place: Place | None, language: str) -> str:
    """A ticket's time in its building's zone (written to the minute, so kept by the
    minute: a journal shows the same tickets again and again)."""
    return local_time(minute, cast(Building | None, place), language)  # it reads .timezone
