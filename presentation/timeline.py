"""A timeline row as one sentence in the reader's language: who did what, from what to what.

Used wherever a person reads a whole timeline outside a chat (the XLSX export, the desk).
What an event says in its own words (``data["say"]``) is rendered by
:func:`core.tickets.timeline.event_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.i18n import N_, gettext
from core.storage.models import EventType, Status
from core.tickets.timeline import event_text
from core.tickets.workflow import status_name
from presentation.reports.text import channel_name

KIND_NAMES = {
    EventType.CREATED: N_("created"),
    EventType.PUBLIC_REPLY: N_("reply"),
    EventType.INTERNAL_NOTE: N_("internal note"),
    EventType.STATUS_CHANGED: N_("status"),
    EventType.ASSIGNED: N_("assigned"),
    EventType.ATTACHMENT: N_("file"),
    EventType.RATING: N_("rating"),
    EventType.DEADLINE_BREACH: N_("deadline missed"),
    EventType.NOTIFICATION_SENT: N_("notification sent"),
    EventType.NOTIFICATION_FAILED: N_("not delivered"),
    EventType.ROUTING: N_("routing"),
    EventType.MERGED: N_("merged"),
}
"""Each kind of row in a word or two (the chat's history uses the same words)."""
DEADLINES = {
    "response": N_("The response deadline was missed."),
    "resolution": N_("The resolution deadline was missed."),
}
SYSTEM_ACTORS = {
    "routing": N_("Automatic routing"),
    "scheduler": N_("Scheduler"),
    "outbox": N_("Delivery"),
    "cli": N_("Operator (command line)"),
    "email": N_("Mail"),
    "system": N_("System"),
    "voicemail": N_("Voicemail"),
    "rating link": N_("Rating link"),
}
"""The parts of housedesk that act on tickets (``Actor.system``), as people call them; the
voicemail intake's label also names its source (``voicemail:folder``), left out here."""


def kind_name(kind: str, language: str | None) -> str:
    """The kind of a timeline row as people call it."""
    try:
        return gettext(language, KIND_NAMES[EventType(kind)])
    except ValueError:
        return kind


def actor_name(label: str, language: str | None) -> str:
    """Who did it: a person's name as it is, a part of housedesk in the reader's language."""
    system = SYSTEM_ACTORS.get("voicemail" if label.startswith("voicemail:") else label)
    return gettext(language, system) if system else label


def event_said(kind: str, text: str, data: Mapping[str, Any], language: str | None) -> str:
    """What a row says in its own words, in the reader's language where it can be (a missed
    deadline is read from its data, so older rows are translated too)."""
    if kind == EventType.DEADLINE_BREACH and str(data.get("deadline")) in DEADLINES:
        return gettext(language, DEADLINES[str(data.get("deadline"))])
    return event_text(text, data, language)


def event_sentence(
    kind: str, actor: str, text: str, data: Mapping[str, Any], language: str | None
) -> str:
    """What happened, as a sentence: ``Anna passed the request from Olga to Bob``."""
    said = event_said(kind, text, data, language)
    try:
        sentence = _SENTENCES[EventType(kind)]
    except (ValueError, KeyError):
        return said
    return sentence(actor_name(actor, language), said, data, language)


def _status(value: Any, language: str | None) -> str:
    try:
        return status_name(Status(value), language)
    except ValueError:
        return str(value or "—")


def _with(base: str, said: str, lang: str | None) -> str:
    """What happened, then what was said with it (``：`` in Chinese)."""
    return gettext(lang, N_("{event}: {details}"), event=base, details=said) if said else base


def _created(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    channel = channel_name(str(data.get("channel", "")), lang)
    return gettext(
        lang, N_("{actor} created the request ({channel})"), actor=actor, channel=channel
    )


def _assigned(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    old, new = data.get("from"), data.get("to")
    if data.get("declined"):
        return _with(gettext(lang, N_("{name} declined the request"), name=old), said, lang)
    if data.get("accepted"):
        return gettext(lang, N_("{name} accepted the request"), name=new)
    if new is None:
        return _with(
            gettext(lang, N_("{actor} unassigned {name}"), actor=actor, name=old), said, lang
        )
    if old is None:
        line = gettext(lang, N_("{actor} assigned the request to {name}"), actor=actor, name=new)
    else:
        line = gettext(
            lang,
            N_("{actor} passed the request from {old} to {new}"),
            actor=actor,
            old=old,
            new=new,
        )
    return _with(line, said, lang)


def _status_changed(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    line = gettext(
        lang,
        N_("{actor} changed the status from {old} to {new}"),
        actor=actor,
        old=_status(data.get("from"), lang),
        new=_status(data.get("to"), lang),
    )
    return _with(line, said, lang)


def _reply(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    return gettext(lang, N_("{actor} replied: {text}"), actor=actor, text=said)


def _note(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    return gettext(lang, N_("{actor} added an internal note: {text}"), actor=actor, text=said)


def _file(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    return _with(gettext(lang, N_("{actor} added a file"), actor=actor), said, lang)


def _rating(actor: str, said: str, data: Mapping[str, Any], lang: str | None) -> str:
    score = data.get("rating", "—")
    return _with(gettext(lang, N_("rating {score}/5"), score=score), said, lang)


_SENTENCES: dict[EventType, Callable[[str, str, Mapping[str, Any], str | None], str]] = {
    EventType.CREATED: _created,
    EventType.ASSIGNED: _assigned,
    EventType.STATUS_CHANGED: _status_changed,
    EventType.PUBLIC_REPLY: _reply,
    EventType.INTERNAL_NOTE: _note,
    EventType.ATTACHMENT: _file,
    EventType.RATING: _rating,
}
