"""Typed domain errors; each channel renders them in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the core raises on purpose."""


class NotFound(DomainError):
    """A referenced thing does not exist (or is not visible to the caller)."""


class InvalidInput(DomainError):
    """Input that can never be right (empty title, unknown category, bad rating)."""


class InvalidTransition(DomainError):
    """A status change the workflow does not allow."""

    def __init__(self, current: str, requested: str, allowed: list[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"cannot change status from {current} to {requested} (allowed: {allowed_text})"
        )
        self.current = current
        self.requested = requested
        self.allowed = allowed


class AccessDenied(DomainError):
    """The actor may not do this."""


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now; the caller should try again later."""
