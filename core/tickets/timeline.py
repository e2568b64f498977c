"""Timeline lines that each reader reads in their own language.

An event that explains itself (an escalation's reason, a merge, a flat not chosen) stores a
code and its parameters in ``data["say"]``, not English text; :func:`event_text` renders it
in the reader's language when the timeline is shown (followed by ``data["quoted"]``, the words
it quotes, such as a mail kept as a note). The event's ``text`` keeps the English rendering for
the operator's CLI and for readers of old rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.i18n import N_, gettext
from core.tickets.cards import local_day

SAYINGS: dict[str, str] = {
    "after_hours": N_("after-hours emergency"),
    "linked_to_incident": N_("Linked to incident {incident}: the resident hears its news."),
    "not_accepted": N_("{name} did not accept within {minutes} min"),
    "duty_step": N_("Duty list step {step} of {of}: {name} ({reason})"),
    "duty_exhausted": N_(
        "Nobody on the duty list accepted ({reason}): left in the dispatchers' queue"
    ),
    "merged_into": N_("Merged into {other}: it is about the same problem."),
    "merged_from": N_("{other} was merged into this request; its resident follows this one."),
    "flat_not_chosen": N_(
        "The resident lives in more than one flat here ({flats}); no flat was chosen."
    ),
    "queued": N_("Left in the dispatchers' queue: {reason}"),
    "building_unknown": N_("the building is not known"),
    "nobody_on_shift": N_("nobody with trade {trade} is on shift for {scope}"),
    "building_scope": N_("building {code}"),
    "zone_scope": N_("zone {zone}"),
    "assigned_by_rules": N_("Assigned to {name}: {reason}"),
    "fewest_open": N_("{trade} for {scope}, on shift, fewest open tickets ({open})"),
    "technician": N_("technician"),
    "passed_over": N_("{said}. Passed over: {people}"),
    "inactive": N_("{name} (inactive)"),
    "away_until": N_("{name} (away until {day})"),
    "off_shift": N_("{name} (off shift)"),
    "no_chat": N_("{name} (no chat with the staff bot)"),
    "no_keyword": N_("No keyword matched: category stays {category}"),
    "keyword_category": N_("Category {category} from keywords: {keywords}"),
    "corrected": N_("Corrected: {changes}"),
    "building_is": N_("building: {value}"),
    "flat_is": N_("flat: {value}"),
    "category_is": N_("category: {value}"),
    "sent_via": N_("Sent via {route} to {recipient}"),
    "not_delivered": N_("Could not deliver the message via {route} to {recipient}: {error}"),
    "resident_chat": N_("the residents' bot"),
    "staff_chat": N_("the staff bot"),
    "email": N_("mail"),
    "bounced": N_("The mail to {recipient} bounced: {detail}"),
    "bounced_requester": N_("The mail to the requester bounced: {detail}"),
    "empty_reply": N_("(empty reply)"),
    "unverified_mail": N_(
        "Sender not verified: a mail from {sender} was not taken as a reply "
        "(its sender could not be authenticated). Its text:"
    ),
    "automatic_reply": N_("Automatic reply from {sender} (not answered):"),
    "over_limit_mail": N_(
        "A further mail from {sender}, kept here: more than {limit} new requests "
        "in an hour. Its text:"
    ),
}
"""Every code an event may say, with the message it is rendered from."""


@dataclass(frozen=True)
class Saying:
    """What an event says, as a code and parameters (a parameter may be a Saying too, or a
    list of them, read joined by commas)."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in SAYINGS:
            raise ValueError(f"unknown timeline saying {self.code!r}")

    def __str__(self) -> str:
        return self.render(None)

    def render(self, language: str | None) -> str:
        """The text in ``language`` (None: English)."""
        params = {name: _rendered(value, language) for name, value in self.params.items()}
        return gettext(language, SAYINGS[self.code], **params)

    def as_data(self) -> dict[str, object]:
        """How an event stores it: ``{"say": {"code": ..., "params": {...}}}``."""
        return {"say": _stored(self)}


@dataclass(frozen=True)
class Day:
    """A day as a parameter: ``30 Nov`` or ``30 нояб.`` as each reader writes it, stored
    as ``{"day": "2026-11-30"}``."""

    day: date

    def render(self, language: str | None) -> str:
        """The day in ``language``."""
        return local_day(self.day, language)

    def __str__(self) -> str:
        return self.day.isoformat()


def passing_over(saying: Saying, skipped: Sequence[Saying]) -> Saying:
    """``saying``, then who was passed over and why (itself when nobody was)."""
    return Saying("passed_over", {"said": saying, "people": list(skipped)}) if skipped else saying


def skipped_data(skipped: Sequence[Saying]) -> list[dict[str, object]]:
    """Who was passed over as an event's ``data.skipped`` stores it: the name, the reason's
    code and its other parameters (``{"name": ..., "reason": "away_until", "day": ...}``)."""
    return [
        {"reason": why.code, **{name: str(v) for name, v in why.params.items()}} for why in skipped
    ]


def said(reason: str | Saying) -> dict[str, object]:
    """The event data for a reason: its code when it is a Saying, else nothing."""
    return reason.as_data() if isinstance(reason, Saying) else {}


def event_text(text: str, data: Mapping[str, Any], language: str | None) -> str:
    """An event's line for a reader of ``language``: what it says (then what it quotes, a
    mail kept as a note), else its stored text."""
    stored = data.get("say")
    saying = _loaded(stored) if isinstance(stored, Mapping) else None
    if saying is None:
        return text
    return quoting(saying.render(language), str(data.get("quoted") or ""))


def quoting(said: str, quoted: str) -> str:
    """What an event says, then what it quotes (when it quotes anything)."""
    return f"{said}\n\n{quoted}" if quoted else said


def _rendered(value: object, language: str | None) -> object:
    if isinstance(value, Saying | Day):
        return value.render(language)
    if isinstance(value, list | tuple):
        return ", ".join(str(_rendered(part, language)) for part in value)
    return value


def _stored(saying: Saying) -> dict[str, object]:
    return {"code": saying.code, "params": {n: _param(v) for n, v in saying.params.items()}}


def _param(value: object) -> object:
    if isinstance(value, Saying):
        return _stored(value)
    if isinstance(value, Day):
        return {"day": str(value)}
    if isinstance(value, list | tuple):
        return [_param(part) for part in value]
    return value


def _loaded(stored: Mapping[str, Any]) -> Saying | None:
    """The Saying a row stored; None for a code this version does not know."""
    code = stored.get("code")
    if code not in SAYINGS:
        return None
    params = {name: _loaded_param(v) for name, v in (stored.get("params") or {}).items()}
    return Saying(str(code), params)


def _loaded_param(value: object) -> object:
    if isinstance(value, Mapping) and "day" in value:
        return Day(date.fromisoformat(str(value["day"])))
    if isinstance(value, Mapping):
        return _loaded(value) or ""
    if isinstance(value, list):
        return [_loaded_param(part) for part in value]
    return value
