"""What staff and residents read about a ticket: the assignment card, its deadlines and
buttons, the rating buttons, and the replies and status lines sent to requesters."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime

from core.i18n import N_, gettext
from core.messaging.message import Action, Verb
from core.storage.models import Building, Contact, ContactKind, Person, Status, Ticket
from core.tickets.workflow import status_name


def assignment_card(ticket: Ticket, language: str | None, contacts: Sequence[Contact] = ()) -> str:
    """The text of a technician's assignment card (``contacts``: the resident's)."""
    place = ", ".join(
        part
        for part in (
            ticket.building.name if ticket.building else "",
            gettext(language, N_("flat {unit}"), unit=ticket.unit.number) if ticket.unit else "",
        )
        if part
    )
    lines = [
        f"{ticket.ref} · {ticket.category.name_in(language)} · {ticket.title}",
        place,
        ticket.description,
    ]
    if ticket.requester:
        lines.append(gettext(language, N_("Resident: {name}"), name=ticket.requester.name))
    if not ticket.verified:
        lines.append(gettext(language, N_("⚠️ Not verified: the resident's flat is not confirmed.")))
    if ticket.needs_attention:
        lines.append(f"⚠️ {attention_text(ticket.needs_attention, language)}")
    reachable = [c.value for c in contacts if c.kind in (ContactKind.PHONE, ContactKind.EMAIL)]
    if reachable:
        lines.append(gettext(language, N_("Contact: {contacts}"), contacts=", ".join(reachable)))
    lines += deadline_lines(ticket, language)
    return "\n".join(line for line in lines if line)


def deadline_lines(ticket: Ticket, language: str | None) -> list[str]:
    """Both deadlines, in the building's time zone and the reader's language."""
    lines = []
    if ticket.response_due_at:
        when = local_time(ticket.response_due_at, ticket.building, language)
        lines.append(gettext(language, N_("Respond by: {when}"), when=when))
    if ticket.due_at:
        when = local_time(ticket.due_at, ticket.building, language)
        lines.append(gettext(language, N_("Resolve by: {when}"), when=when))
    return lines


def handover_line(previous: str, waited: int | None, language: str | None) -> str:
    """What a card says when the work comes from a colleague: an escalation when they did
    not accept in ``waited`` minutes, else a reassignment."""
    if waited is not None:
        return gettext(
            language,
            N_("Escalation: {name} had it and did not accept within {minutes} min."),
            name=previous,
            minutes=waited,
        )
    return gettext(language, N_("Reassigned: {name} had it before."), name=previous)


def assignment_actions(
    ticket_id: int, language: str | None, *, accepted: bool = False
) -> tuple[tuple[Action, ...], ...]:
    """Accept / decline / postpone / done on an assignment card, two a row (accepted work
    keeps decline, postpone and done)."""
    labels = {
        Verb.ACCEPT: N_("Accept"),
        Verb.DECLINE: N_("Decline"),
        Verb.POSTPONE: N_("Postpone"),
        Verb.DONE: N_("Done"),
    }
    actions = [
        Action(gettext(language, label), verb, ticket_id)
        for verb, label in labels.items()
        if not (accepted and verb is Verb.ACCEPT)
    ]
    return tuple(tuple(actions[start : start + 2]) for start in range(0, len(actions), 2))


def rating_actions(ticket_id: int, language: str | None) -> tuple[tuple[Action, ...], ...]:
    """1–5 rating and "not fixed" under the "done" message to the requester."""
    return (
        tuple(Action("★" * n, Verb.RATE, ticket_id, n) for n in range(1, 6)),
        (Action(gettext(language, N_("Not fixed")), Verb.REOPEN, ticket_id),),
    )


def attention_text(attention: str, language: str | None) -> str:
    """What needs attention, in the reader's language: each line that is a message (a voice
    note not transcribed, the line above an incident's reference) translated, the rest (a
    text already in its writer's language, an error's details) as it was stored."""
    return "\n".join(gettext(language, line) if line else line for line in attention.split("\n"))


def local_time(moment: datetime, building: Building | None, language: str | None) -> str:
    """A moment as people in the building read it: their time zone and language
    (``25 Nov, 18:00``, ``25. nov., 18:00``, ``11月25日 18:00``)."""
    zone = ZoneInfo(building.timezone if building else "UTC")
    locale, patterns = _time_patterns(language)
    return format_datetime(moment, patterns.time, tzinfo=zone, locale=locale)


def local_moment(
    moment: datetime, zone: ZoneInfo, language: str | None, *, full: bool = False
) -> str:
    """A moment on ``zone``'s clock with its weekday, as the reader writes it
    (``Wed 25 Nov, 18:00``, ``ср, 25 нояб., 18:00``, ``11月25日周三 18:00``; ``full``:
    ``Wednesday 25 November, 18:00``)."""
    locale, patterns = _time_patterns(language)
    pattern = patterns.full_weekday_time if full else patterns.weekday_time
    return format_datetime(moment, pattern, tzinfo=zone, locale=locale)


def day_and_time(moment: datetime, zone: ZoneInfo, language: str | None) -> str:
    """A moment on ``zone``'s clock in a sentence's flow: ``25 Nov 09:30``, ``11月25日 09:30``."""
    locale, patterns = _time_patterns(language)
    return format_datetime(moment, f"{patterns.day} HH:mm", tzinfo=zone, locale=locale)


def local_day(day: date, language: str | None) -> str:
    """A day as the reader writes it: ``30 нояб.``, ``30 Nov``, ``11月30日``."""
    locale, patterns = _time_patterns(language)
    return format_date(day, patterns.day, locale=locale)


@dataclass(frozen=True)
class _Patterns:
    day: str
    time: str
    weekday_time: str
    full_weekday_time: str


@cache
def _time_patterns(language: str | None) -> tuple[Locale, _Patterns]:
    """The locale times are written in (English for one babel does not know) and its CLDR
    patterns for a day and month, with the time (English the British way, day first); found
    once, since parsing cost more than formatting a time (50 a journal page)."""
    try:
        locale = Locale.parse(language or "en")
    except (ValueError, UnknownLocaleError):
        locale = Locale.parse("en")
    cldr = Locale.parse("en_GB") if locale.language == "en" else locale
    day = cldr.datetime_skeletons["MMMd"].pattern
    weekday = cldr.datetime_skeletons["MMMEd"].pattern
    full = _WEEKDAY.sub(lambda m: m.group(0)[0] * 4, cldr.datetime_skeletons["MMMMEd"].pattern)
    glue = str(cldr.datetime_formats["short"])
    return locale, _Patterns(
        day, *(glue.replace("{1}", d).replace("{0}", "HH:mm") for d in (day, weekday, full))
    )


_WEEKDAY = re.compile(r"E+|c+")
"""A weekday in a CLDR pattern (``E`` and ``ccc`` are short, four letters the full name)."""


def requester_language(ticket: Ticket) -> str:
    """The language the requester reads now (chosen with ``/lang`` after the ticket was
    opened, perhaps), else the ticket's."""
    requester = ticket.requester
    chosen = requester.language if isinstance(requester, Person) else None
    return chosen or ticket.language


def reply_text(ticket: Ticket, text: str) -> str:
    """A staff reply as the requester reads it."""
    header = gettext(requester_language(ticket), N_("Reply on your request {ref}:"), ref=ticket.ref)
    return f"{header}\n{text}"


def status_text(ticket: Ticket, status: Status, note: str) -> str:
    """A status change, with its note, as the requester reads it."""
    language = requester_language(ticket)
    line = gettext(
        language,
        N_("Your request {ref} is now: {status}."),
        ref=ticket.ref,
        status=status_name(status, language),
    )
    return f"{line}\n{note.strip()}" if note.strip() else line


def follower_status(ticket: Ticket, status: Status) -> Callable[[str], str]:
    """A status change as a follower of ``ticket`` reads it."""
    return lambda language: gettext(
        language,
        N_("Your request {ref} is now: {status}."),
        ref=ticket.ref,
        status=status_name(status, language),
    )


def follower_reply(ticket: Ticket, text: str) -> Callable[[str], str]:
    """A staff reply as a follower of ``ticket`` reads it."""
    return lambda language: "\n".join(
        [gettext(language, N_("Reply on your request {ref}:"), ref=ticket.ref), text]
    )
