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

from core.errors import AccessDenied, InvalidInput, InvalidTransition, NotFound, StaleTicket
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


def build_errors_router(*, show_details: bool) -> Router:
    """Error handlers; ``show_details`` adds the core's explanation (for staff)."""
    router = Router(name="errors")

    def explained(text: str, error: Exception) -> str:
        return f"{text}\n{error}" if show_details else text

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

    @router.error(ExceptionTypeFilter(StaleTicket))
    async def stale_ticket(event: ErrorEvent, lang: str = "en") -> None:
        await tell(event, cast(StaleTicket, event.exception).text(lang))

    @router.error(ExceptionTypeFilter(NotFound))
    async def not_found(event: ErrorEvent, lang: str = "en") -> None:
        text = gettext(lang, N_("Sorry, I could not find that. Please check and try again."))
        await tell(event, explained(text, event.exception))

    @router.error(ExceptionTypeFilter(AccessDenied))
    async def access_denied(event: ErrorEvent, lang: str = "en") -> None:
        text = gettext(lang, N_("Sorry, you cannot do that."))
        await tell(event, explained(text, event.exception))

    @router.error(ExceptionTypeFilter(InvalidInput))
    async def invalid_input(event: ErrorEvent, lang: str = "en") -> None:
        text = gettext(lang, N_("Sorry, that did not work. Please try again."))
        await tell(event, explained(text, event.exception))

    return router
