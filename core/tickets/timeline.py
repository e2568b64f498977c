"""Timeline lines that each reader reads in their own language.

An event that explains itself (an escalation's reason, a merge, a flat not chosen) stores a
code and its parameters in ``data["say"]``, not English text; :func:`event_text` renders it
in the reader's language when the timeline is shown. The event's ``text`` keeps the English
rendering for the operator's CLI and for readers of old rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.i18n import N_, gettext

SAYINGS: dict[str, str] = {
    "after_hours": N_("after-hours emergency"),
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
}
"""Every code an event may say, with the message it is rendered from."""


@dataclass(frozen=True)
class Saying:
    """What an event says, as a code and parameters (a parameter may be a Saying too)."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in SAYINGS:
            raise ValueError(f"unknown timeline saying {self.code!r}")

    def __str__(self) -> str:
        return self.render(None)

    def render(self, language: str | None) -> str:
        """The text in ``language`` (None: English)."""
        params = {
            name: value.render(language) if isinstance(value, Saying) else value
            for name, value in self.params.items()
        }
        return gettext(language, SAYINGS[self.code], **params)

    def as_data(self) -> dict[str, object]:
        """How an event stores it: ``{"say": {"code": ..., "params": {...}}}``."""
        return {"say": _stored(self)}


def said(reason: str | Saying) -> dict[str, object]:
    """The event data for a reason: its code when it is a Saying, else nothing."""
    return reason.as_data() if isinstance(reason, Saying) else {}


def event_text(text: str, data: Mapping[str, Any], language: str | None) -> str:
    """An event's line for a reader of ``language``: what it says, else its stored text."""
    stored = data.get("say")
    saying = _loaded(stored) if isinstance(stored, Mapping) else None
    return saying.render(language) if saying is not None else text


def _stored(saying: Saying) -> dict[str, object]:
    params = {
        name: _stored(value) if isinstance(value, Saying) else value
        for name, value in saying.params.items()
    }
    return {"code": saying.code, "params": params}


def _loaded(stored: Mapping[str, Any]) -> Saying | None:
    """The Saying a row stored; None for a code this version does not know."""
    code = stored.get("code")
    if code not in SAYINGS:
        return None
    params = {
        name: (_loaded(value) or "") if isinstance(value, Mapping) else value
        for name, value in (stored.get("params") or {}).items()
    }
    return Saying(str(code), params)
