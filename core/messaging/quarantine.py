"""Input set aside after failing the same way too often, for an operator to look at.

Each kind of input that can be quarantined (chat updates now; mails could join) offers the
same four operations, so ``housedesk quarantine`` works on all of them alike. An item is
named ``<kind>:<id>`` (``update:12``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class QuarantinedItem:
    """One quarantined input as an operator sees it."""

    ref: str
    """``<kind>:<id>``, e.g. ``update:12``."""
    source: str
    """Where it came from (a bot's name, a mailbox)."""
    summary: str
    """Who sent it and the start of what they sent."""
    attempts: int
    last_error: str
    quarantined_at: datetime
    raw: str
    """The input as it was received (JSON, or a mail's text)."""


class Quarantine(Protocol):
    """The quarantined inputs of one kind."""

    kind: str

    async def items(self, limit: int) -> Sequence[QuarantinedItem]:
        """The newest quarantined items first."""

    async def count(self) -> int:
        """How many items are quarantined."""

    async def item(self, item_id: int) -> QuarantinedItem | None:
        """One quarantined item, or None."""

    async def retry(self, item_id: int, now: datetime) -> bool:
        """Handle it again soon, with a fresh count of attempts; False if there is none."""

    async def drop(self, item_id: int) -> bool:
        """Delete it for good; False if there is none."""
