"""A journal page's tickets as the page prints them: their HTML list items, with every word
looked up and escaped once a page rather than once a row. What people wrote or named (a
title, building, flat, category, assignee) is escaped in each row with markupsafe, as the
template's autoescape would; ids and statuses are numbers and codes."""

from __future__ import annotations

from datetime import UTC, datetime
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
            _when(int(row.created_at.timestamp()) // 60, row.building, language),
            f"{place}, {flat.format(unit=row.unit)}" if row.unit else place,
            row.category_in(language),
            row.assignee or unassigned,
            channels[row.channel],
        ]
        if not row.verified:
            meta.append(unverified)
        lines.append(
            f'  <li data-ticket="{row.id}">\n'
            f'    <a href="{BASE}/tickets/{row.id}">#{row.id} · {escape(row.title)}</a>\n'
            f"    {statuses[row.status]}{attention if row.needs_attention else ''}\n"
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
