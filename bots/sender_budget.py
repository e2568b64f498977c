"""The outbox sender's side of a bot's rate budget: a python-telegram-bot rate limiter.

Each message the outbox's :class:`~bots.telegram_sender.TelegramSender` sends takes its turn
in the bot's :class:`~bots.rate_budget.RateBudget`, the same budget the bot's direct answers
use, at the :class:`~bots.rate_budget.Urgency` passed as ``rate_limit_args`` (an answer when
none is given). It never retries: a 429 pauses the budget for ``retry_after`` and is raised,
and the outbox worker owns the backoff.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bots.rate_budget import RateBudget, Urgency, is_message_method

JSONDict = dict[str, Any]


class BudgetRateLimiter(BaseRateLimiter[Urgency]):
    """Makes python-telegram-bot's sends wait for the bot's shared budget."""

    def __init__(self, budget: RateBudget) -> None:
        self.budget = budget

    async def initialize(self) -> None:
        """Nothing to set up: the budget lives as long as its bot."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Urgency | None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for the budget (messages only), then make the request once."""
        try:
            if not is_message_method(endpoint):
                return await callback(*args, **kwargs)
            urgency = Urgency.ANSWER if rate_limit_args is None else rate_limit_args
            async with self.budget.turn(data.get("chat_id"), urgency):
                return await callback(*args, **kwargs)
        except RetryAfter as exc:
            self.budget.hold(retry_after_seconds(exc))
            raise


def retry_after_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds."""
    # PTB 22 warns that retry_after will become a timedelta; accept both and stay quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
