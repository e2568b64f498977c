"""A bot's rate budget shared by every process of a cluster (PostgreSQL rate buckets).

Each process keeps its own :class:`~bots.rate_budget.RateBudget` (its queue, its priorities,
its windows); with a :class:`SharedBotBudget` each message a process lets go also takes a
token from the bot's bucket and from its chat's bucket in the database, and waits until the
tokens are earned, so all processes together stay within Telegram's limits. A 429 holds the
bot's bucket for every process. Priorities hold within a process: an answer waits behind
another process's bulk messages only for the tokens they have already taken.
"""

from __future__ import annotations

from bots.rate_budget import BudgetLimits, ChatId, Window
from core.storage import rate_buckets
from core.storage.rate_buckets import Bucket


class SharedBotBudget:
    """The database side of one bot's budget (the bot is named by its public numeric id)."""

    def __init__(self, bot_id: str, limits: BudgetLimits | None = None) -> None:
        self.limits = limits or BudgetLimits()
        self.key = f"telegram:{bot_id}"

    async def take(self, chat: ChatId | None) -> float:
        """Take one message's tokens for ``chat``; the seconds to wait before sending it."""
        buckets = [_bucket(self.key, self.limits.overall)]
        if chat is not None:
            private = isinstance(chat, int) and chat > 0
            window = self.limits.private_chat if private else self.limits.group
            buckets.append(_bucket(f"{self.key}:{chat}", window))
        return await rate_buckets.take(buckets)

    async def hold(self, seconds: float) -> None:
        """Telegram asked this bot to wait: every process waits."""
        await rate_buckets.hold(self.key, seconds)


def _bucket(key: str, window: Window) -> Bucket:
    return Bucket(key, capacity=window.limit, per_second=window.limit / window.seconds)
