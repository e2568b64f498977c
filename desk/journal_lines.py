"""A journal page's tickets as the page prints them: their HTML list items, with every word
looked up and escaped once a language rather than once a row. What people wrote or named (a
title, building, flat, category, assignee) is escaped in each row with markupsafe, as the
template's autoescape would; ids and statuses are numbers and codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import cast

from markupsafe import Markup, escape

from core.i18n import N_, gettext
from core.storage.models import Building, Channel, Status
from core.tickets.cards import local_time
from core.tickets.journal import JournalRow, Place
from core.tickets.workflow import status_name
from desk.context import BASE
from presentation.reports.text import channel_name


@dataclass(frozen=True)
class _Words:
    """What every line of a journal in one language may say, escaped where it is HTML."""

    statuses: dict[Status, str]
    """Each status's badge."""
    attention: str
    """The badge of a ticket that needs attention."""
    channels: dict[Channel, str]
    flat: str
    unknown: str
    unassigned: str
    unverified: str


@cache
def _words(language: str) -> _Words:
    """The words of a journal in ``language``, looked up once (the catalogs do not change
    while housedesk runs)."""
    flagged = escape(gettext(language, N_("needs attention")))
    return _Words(
        statuses={
            status: f'<span class="badge status-{status.value}">'
            f"{escape(status_name(status, language))}</span>"
            for status in Status
        },
        attention=f'<span class="badge warn">{flagged}</span>',
        channels={channel: channel_name(channel.value, language) for channel in Channel},
        flat=gettext(language, N_("flat {unit}")),
        unknown=gettext(language, N_("building unknown")),
        unassigned=gettext(language, N_("unassigned")),
        unverified=gettext(language, N_("unverified resident")),
    )


def journal_lines(rows: list[JournalRow], language: str) -> Markup:
    """``rows`` as the journal's list items in ``language`` (empty: no rows)."""
    words = _words(language)
    lines = []
    for row in rows:
        place = row.building.name if row.building else words.unknown
        meta = [
            _when(int(row.created_at.timestamp()) // 60, row.building, language),
            f"{place}, {words.flat.format(unit=row.unit)}" if row.unit else place,
            row.category_in(language),
            row.assignee or words.unassigned,
            words.channels[row.channel],
        ]
        if not row.verified:
            meta.append(words.unverified)
        lines.append(
            f'  <li data-ticket="{row.id}">\n'
            f'    <a href="{BASE}/tickets/{row.id}">#{row.id} · {escape(row.title)}</a>\n'
            f"    {words.statuses[row.status]}{words.attention if row.needs_attention else ''}\n"
            f'    <div class="meta">{escape(" · ".join(meta))}</div>\n'
            "  </li>"
        )
    return Markup("\n".join(lines))


@lru_cache(maxsize=8192)
def _when(minute: int, place: Place | None, language: str) -> str:
    """A ticket's time in its building's zone, from its minute since the epoch (written to
    the minute, so kept by the minute: a journal shows the same tickets again and again)."""
    moment = datetime.fromtimestamp(minute * 60, UTC)
    return local_time(moment, cast(Building | None, place), language)  # it reads .timezone
