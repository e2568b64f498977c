"""What residents and staff read about an incident, in their language and the building's time."""

from __future__ import annotations

from collections.abc import Mapping

from core.i18n import N_, gettext, ngettext
from core.storage.models import Building, Incident
from core.tickets.cards import local_time

SAME_PROBLEM = N_("That's my problem too")
SOMETHING_ELSE = N_("Something else")
STILL_NOT_WORKING = N_("Still not working")
CHANNEL_NAMES = {
    "chat": N_("chat"),
    "email": N_("email"),
    "voicemail": N_("voicemail"),
    "phone": N_("phone"),
    "cli": N_("operator"),
}


def incident_ref(incident: Incident | int) -> str:
    """The reference people use for an incident: ``I7``."""
    number = incident if isinstance(incident, int) else incident.id
    return f"I{number}"


def parse_incident_ref(ref: str | int) -> int | None:
    """``I7``, ``i7`` or ``7`` as the incident's id; None if it is none of these."""
    text = str(ref).strip().lstrip("#").lstrip("Ii")
    return int(text) if text.isdigit() else None


def expected_line(incident: Incident, building: Building | None, lang: str) -> str:
    """When it should work again, or that nobody knows yet."""
    if incident.expected_end_at is None:
        return gettext(lang, N_("We do not know yet when it will work again."))
    return gettext(
        lang,
        N_("Expected back by {end}."),
        end=local_time(incident.expected_end_at, building, lang),
    )


def notice(incident: Incident, building: Building | None, lang: str) -> str:
    """The incident as a resident of ``building`` is shown it before reporting."""
    since = gettext(
        lang, N_("Since {since}."), since=local_time(incident.starts_at, building, lang)
    )
    return "\n".join(
        (
            "⚠️ " + incident.text_in(lang, building),
            f"{since} {expected_line(incident, building, lang)}",
        )
    )


def planned_notice(incident: Incident, building: Building | None, lang: str) -> str:
    """The day-before announcement of a planned shut-off."""
    start = local_time(incident.starts_at, building, lang)
    if incident.expected_end_at is None:
        when = gettext(lang, N_("Planned from {start}."), start=start)
    else:
        end = local_time(incident.expected_end_at, building, lang)
        when = gettext(lang, N_("Planned from {start} to {end}."), start=start, end=end)
    return "\n".join(("🛠 " + incident.text_in(lang, building), when))


def joined(incident: Incident, building: Building | None, lang: str) -> str:
    """What a resident who joined (or whose report was linked) is told."""
    return "\n".join(
        (
            gettext(
                lang,
                N_(
                    "Your report is linked to this outage, so no separate request is needed. "
                    "We will tell you when it is fixed."
                ),
            ),
            expected_line(incident, building, lang),
        )
    )


def updated(incident: Incident, building: Building | None, lang: str, note: str) -> str:
    """An update for everyone linked: the new expected end and the staff's note."""
    lines = [
        gettext(lang, N_("Update: {text}"), text=incident.text_in(lang, building)),
        expected_line(incident, building, lang),
    ]
    if note:
        lines.append(note)
    return "\n".join(lines)


def resolved(incident: Incident, building: Building | None, lang: str) -> str:
    """The end of an incident, for everyone linked to it."""
    return "\n".join(
        (
            gettext(lang, N_("Fixed: {text}"), text=incident.text_in(lang, building)),
            gettext(
                lang,
                N_("It works again since {end}. Tell us if it does not."),
                end=local_time(incident.ended_at or incident.starts_at, building, lang),
            ),
        )
    )


def started(incident: Incident, building: Building | None, lang: str) -> str:
    """A planned shut-off beginning, for everyone it affects."""
    began = gettext(
        lang,
        N_("The planned shut-off started at {start}."),
        start=local_time(incident.starts_at, building, lang),
    )
    return "\n".join(
        (
            "🛠 " + incident.text_in(lang, building),
            f"{began} {expected_line(incident, building, lang)}",
        )
    )


def planned_over(incident: Incident, building: Building | None, lang: str) -> str:
    """The end of a planned shut-off, for everyone it affects."""
    return "\n".join(
        (
            "✅ "
            + gettext(
                lang,
                N_("The planned shut-off is over: {text}"),
                text=incident.text_in(lang, building),
            ),
            gettext(
                lang,
                N_("It works again since {end}. Tell us if it does not."),
                end=local_time(incident.ended_at or incident.starts_at, building, lang),
            ),
        )
    )


def absorbed(counts: Mapping[str, int], lang: str) -> str:
    """How many reports an incident absorbed, by channel: "12 reports (chat 9, email 3)"."""
    total = sum(counts.values())
    head = ngettext(lang, "{n} report", "{n} reports", total)
    if not total:
        return head
    parts = ", ".join(
        f"{gettext(lang, CHANNEL_NAMES.get(name, name))} {n}" for name, n in sorted(counts.items())
    )
    return f"{head} ({parts})"
