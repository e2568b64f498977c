"""One voicemail as every source hands it over, and the callback that takes it in."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from intake.outcome import Outcome


@dataclass(frozen=True)
class VoicemailItem:
    """A recording plus who called and which number was called."""

    audio: bytes
    filename: str
    content_type: str | None
    caller: str | None
    """The caller's number as given by the PBX."""
    called: str | None
    """The number that was called; selects the building."""
    source: str
    """Where it came from: ``email``, ``http``, ``folder``, ``cli`` or ``telegram``."""
    source_id: str
    """Stable id for de-duplication, see :func:`voicemail_source_id`."""


VoicemailIngest = Callable[[VoicemailItem], Awaitable[Outcome]]
"""Turns one voicemail into a ticket (or refuses it) and says how it went."""


def voicemail_source_id(audio: bytes, caller: str | None, called: str | None) -> str:
    """Return a stable id: the sha256 of the audio's digest, the caller and the called number.

    The same recording re-sent (a PBX retry, a folder rescan) gets the same id.
    """
    fields = [hashlib.sha256(audio).hexdigest(), caller, called]
    return hashlib.sha256(json.dumps(fields).encode()).hexdigest()
