"""Timeline lines that each reader reads in their own language.

An event that explains itself (an escalation's reason, a merge, a flat not chosen) stores a
code and its parameters in ``data["say"]``, not English text; :func:`event_text` renders it
in the reader's language when the timeline is shown (followed by ``data["quoted"]``, the words
it quotes, such as a mail kept as a note). The event's ``text`` keeps the English rendering for
the operator's CLI and for readers of old rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.i18n import N_, gettext

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
    if isinstance(value, Saying):
        return value.render(language)
    if isinstance(value, list | tuple):
        return ", ".join(str(_rendered(part, language)) for part in value)
    return value


def _stored(saying: Saying) -> dict[str, object]:
    return {"code": saying.code, "params": {n: _param(v) for n, v in saying.params.items()}}


def _param(value: object) -> object:
    if isinstance(value, Saying):
        return _stored(value)
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
    if isinstance(value, Mapping):
        return _loaded(value) or ""
    if isinstance(value, list):
        return [_loaded_param(part) for part in value]
    return value
