"""Direct answers (what handlers send while handling an update) share the bot's rate budget.

:class:`BudgetedAnswers` is an aiogram client-session middleware
(``bot.session.middleware(BudgetedAnswers(budget))``): every message a handler sends or edits
first takes its turn in the bot's :class:`~bots.rate_budget.RateBudget` at
:attr:`~bots.rate_budget.Urgency.ANSWER`, ahead of bulk outbox traffic. A 429 is waited out
(``retry_after``, the whole budget pauses) and the answer sent again; a 5xx or a network
failure is retried after a short, doubling backoff. After :attr:`AnswerRetry.attempts` tries
the last error is raised: the update is then not marked handled, and the update feed
(:mod:`bots.inbox_feed`) handles it again later. Other methods (getUpdates, getMe,
setMyCommands...) pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bots.rate_budget import RateBudget, Urgency, is_message_method

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)

_ANSWER_METHODS = frozenset({"answercallbackquery"})
"""Methods that answer a person without posting a message: retried, not budgeted."""
_EXPIRED_QUERY = "query is too old"
"""Telegram's refusal of a callback query answered late, or twice (an update handled again
after its first handling could not be recorded): nothing is left to answer."""


@dataclass(frozen=True)
class AnswerRetry:
    """How hard a direct answer is tried before its update is left for a later attempt."""

    attempts: int = 4
    first_backoff_s: float = 0.5
    longest_wait_s: float = 60.0
    """A 429 asking to wait longer than this is not waited out here."""


class BudgetedAnswers(BaseRequestMiddleware):
    """The session middleware described in the module's docstring."""

    def __init__(self, budget: RateBudget, retry: AnswerRetry | None = None) -> None:
        self.budget = budget
        self.retry = retry or AnswerRetry()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        budgeted = is_message_method(name)
        if not budgeted and name.lower() not in _ANSWER_METHODS:
            return await make_request(bot, method)
        chat = getattr(method, "chat_id", None)
        backoff = self.retry.first_backoff_s
        attempt = 0
        while True:
            attempt += 1
            try:
                if not budgeted:
                    return await make_request(bot, method)
                async with self.budget.turn(chat, Urgency.ANSWER):
                    return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.budget.hold(exc.retry_after)  # every send of the bot waits, this one or not
                if attempt >= self.retry.attempts or exc.retry_after > self.retry.longest_wait_s:
                    raise
                log.info("telegram: %s to chat %s waits %ss (429)", name, chat, exc.retry_after)
                if not budgeted:  # a budgeted retry waits for the budget, which now holds
                    await asyncio.sleep(exc.retry_after)
            except TelegramEntityTooLarge:
                raise
            except TelegramBadRequest as exc:
                if name.lower() != "answercallbackquery" or _EXPIRED_QUERY not in exc.message:
                    raise
                log.info("telegram: callback query to chat %s already expired: %s", chat, exc)
                return cast("Response[TelegramType]", Response[bool](ok=True, result=True))
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self.retry.attempts:
                    raise
                log.info("telegram: %s to chat %s retried in %.1fs: %s", name, chat, backoff, exc)
                await asyncio.sleep(backoff)
                backoff *= 2
