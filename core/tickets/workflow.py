"""The ticket status workflow: one table of allowed transitions, and the statuses' names."""

from __future__ import annotations

from core.errors import InvalidInput, InvalidTransition
from core.i18n import N_, gettext
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

STATUS_NAMES = {
    Status.NEW: N_("new"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.ON_HOLD: N_("on hold"),
    Status.DONE: N_("done"),
    Status.CLOSED: N_("closed"),
    Status.REJECTED: N_("rejected"),
    Status.REOPENED: N_("reopened"),
}


def status_name(status: Status, language: str | None) -> str:
    """The status as people read it, in their language."""
    return gettext(language, STATUS_NAMES[status])


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
