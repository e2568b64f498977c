"""A journal page's tickets as the page prints them: their HTML list items, with every word
looked up and escaped once a page rather than once a row. What a ticket's people
wrote or named (its title, building, flat, category, assignee) is escaped in each row with
markupsafe, as the template's autoescape would; ids and statuses are numbers and codes."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import cast

from markupsafe import Markup, escape

from core.i18n import N_, gettext
from core.storage.models import Building, Channel, Status
from core.tickets.cards import local_time
from core.tickets.journal import JournalRow, Place
from core.tickets.workflow import status_name
from desk.context import BASE
from presentation.reports.text import channel_name

_LINE = (
    '  <li data-ticket="{id}">\n'
    '    <a href="' + BASE + '/tickets/{id}">#{id} · {title}</a>\n'
    "    {status}{attention}\n"
    '    <div class="meta">{meta}</div>\n'
    "  </li>"
)
"""A ticket's line; ``meta`` is when, where, what, who and how, joined by " · "."""


def journal_lines(rows: list[JournalRow], language: str) -> Markup:
    """``rows`` as the journal's list items in ``language`` (empty: no rows)."""
    statuses = {
        status: f'<span class="badge status-{status.value}">'
        f"{escape(status_name(status, language))}</span>"
        for status in Status
    }
    flagged = escape(gettext(language, N_("needs attention")))
    attention = f'<span class="badge warn">{flagged}</span>'
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
            _LINE.format(
                id=row.id,
                title=escape(row.title),
                status=statuses[row.status],
                attention=attention if row.needs_attention else "",
                meta=escape(" · ".join(meta)),
            )
        )
    return Markup("\n".join(lines))


@lru_cache(maxsize=8192)
def _when(minute: datetime, place: Place | None, language: str) -> str:
    """A ticket's time in its building's zone (written to the minute, so kept by the
    minute: a journal shows the same tickets again and again)."""
    return local_time(minute, cast(Building | None, place), language)  # it reads .timezone
