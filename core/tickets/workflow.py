"""The ticket status workflow: one table of allowed transitions."""

from __future__ import annotations

from core.errors import InvalidInput, InvalidTransition
from core.storage.models import Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.IN_PROGRESS, Status.ON_HOLD, Status.DONE, Status.REJECTED}),
    Status.IN_PROGRESS: frozenset({Status.ON_HOLD, Status.DONE, Status.REJECTED}),
    Status.ON_HOLD: frozenset({Status.IN_PROGRESS, Status.DONE, Status.REJECTED}),
    Status.DONE: frozenset({Status.CLOSED, Status.REOPENED}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REJECTED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.IN_PROGRESS, Status.ON_HOLD, Status.DONE, Status.REJECTED}),
}

OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD, Status.REOPENED}
)
"""Statuses in which work is still owed."""


def parse_status(value: str) -> Status:
    """Turn user input (``in progress``, ``IN_PROGRESS``) into a :class:`Status`."""
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return Status(key)
    except ValueError:
        names = ", ".join(s.value for s in Status)
        raise InvalidInput(f"unknown status {value!r} (known: {names})") from None


def check_transition(current: Status, requested: Status) -> None:
    """Raise :class:`InvalidTransition` unless ``current → requested`` is allowed."""
    allowed = TRANSITIONS[current]
    if requested not in allowed:
        raise InvalidTransition(current.value, requested.value, sorted(s.value for s in allowed))
