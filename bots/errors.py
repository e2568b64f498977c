"""The one place where both bots turn the core's typed errors into a polite answer.

Anything else propagates to the update feed (:mod:`bots.inbox_feed`), which handles the
stored update again: after a database outage once the database is back, otherwise up to
``[telegram] update_max_attempts`` times before it is quarantined (nothing is lost).
"""

from __future__ import annotations

from typing import cast

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from core.errors import AccessDenied, DomainError, InvalidInput, InvalidTransition, NotFound
from core.i18n import N_, gettext
from core.storage.models import Status
from core.tickets.workflow import status_name


async def tell(event: ErrorEvent, text: str) -> None:
    """Answer the update that failed: an alert for a button, a message for a message."""
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


GENERIC: tuple[tuple[type[DomainError], str], ...] = (
    (NotFound, N_("Sorry, I could not find that. Please check and try again.")),
    (AccessDenied, N_("Sorry, you cannot do that.")),
    (InvalidInput, N_("Sorry, that did not work. Please try again.")),
    (DomainError, N_("Sorry, that did not work. Please try again.")),
)
"""What a person reads for an error without a message of its own, by kind."""


def explain(error: DomainError, lang: str) -> str:
    """The error's own message in ``lang``, else the polite line of its kind: translated
    text only, never the core's English detail."""
    own = error.text(lang)
    if own is not None:
        return own
    for kind, text in GENERIC:
        if isinstance(error, kind):
            return gettext(lang, text)
    raise TypeError(error)  # pragma: no cover - DomainError closes the table


def build_errors_router() -> Router:
    """Error handlers: a status the workflow does not allow, and every other domain error."""
    router = Router(name="errors")

    @router.error(ExceptionTypeFilter(InvalidTransition))
    async def invalid_transition(event: ErrorEvent, lang: str = "en") -> None:
        error = cast(InvalidTransition, event.exception)
        await tell(
            event,
            gettext(
                lang,
                N_("This request is {status} now, so that is not possible."),
                status=status_name(Status(error.current), lang),
            ),
        )

    @router.error(ExceptionTypeFilter(DomainError))
    async def domain_error(event: ErrorEvent, lang: str = "en") -> None:
        await tell(event, explain(cast(DomainError, event.exception), lang))

    return router
