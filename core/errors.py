"""Typed domain errors; each channel renders them in one place."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.i18n import N_, gettext


class Msgid(str):
    """A parameter of an error message that is itself a message, translated with it."""


@runtime_checkable
class Localized(Protocol):
    """A parameter each reader reads written their own way (a time in their locale)."""

    def render(self, language: str | None) -> str:
        """The parameter as a reader of ``language`` reads it."""
        ...


class DomainError(Exception):
    """Base of every error the core raises on purpose.

    ``message`` (an ``N_()`` msgid with ``params``) is what a person reads, in their
    language (:meth:`text`); the plain ``detail`` is for logs and the CLI.
    """

    def __init__(self, detail: str = "", *, message: str | None = None, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(detail or (self.text(None) if message else ""))

    def text(self, language: str | None) -> str | None:
        """The translated message (None when the error has none)."""
        if self.message is None:
            return None
        params = {k: _param(v, language) for k, v in self.params.items()}
        return gettext(language, self.message, **params)


def _param(value: object, language: str | None) -> object:
    if isinstance(value, Msgid):
        return gettext(language, value)
    if isinstance(value, Localized):
        return value.render(language)
    return value


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


class ConflictError(DomainError):
    """The change was decided on a state that has changed since; nothing was written."""


class StaleTicket(ConflictError):
    """A ticket changed between reading it and changing it (its version moved on)."""

    MESSAGE = N_("{ref} was changed meanwhile by someone else; look again and retry.")

    def __init__(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id
        super().__init__(self.text(None))

    def text(self, language: str | None) -> str:
        """What a person reads, in their language (None: English)."""
        return gettext(language, self.MESSAGE, ref=self.ref)

    @property
    def ref(self) -> str:
        """The ticket's reference as people read it."""
        return f"#{self.ticket_id}"


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now; the caller should try again later."""
