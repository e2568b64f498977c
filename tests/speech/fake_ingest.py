"""A recording stand-in for the core's voicemail ingest callback."""

from __future__ import annotations

from intake.outcome import Accepted, Outcome
from intake.voicemail.item import VoicemailItem


class RecordingIngest:
    """Remembers every item and answers with the queued outcomes (then ``Accepted``)."""

    def __init__(self, *outcomes: Outcome | Exception) -> None:
        self.items: list[VoicemailItem] = []
        self._outcomes = list(outcomes)

    async def __call__(self, item: VoicemailItem) -> Outcome:
        self.items.append(item)
        answer = self._outcomes.pop(0) if self._outcomes else Accepted(f"T-{len(self.items)}")
        if isinstance(answer, Exception):
            raise answer
        return answer
