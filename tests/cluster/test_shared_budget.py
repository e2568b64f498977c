"""One Telegram rate budget per bot for all processes: two processes together stay within it."""

from __future__ import annotations

import asyncio
import time

import pytest

from bots.rate_budget import BudgetLimits, RateBudget, Urgency, Window
from bots.shared_budget import SharedBotBudget

LIMITS = BudgetLimits(overall=Window(20, 1.0), private_chat=Window(5, 1.0))


def _process() -> RateBudget:
    """One process's budget, sharing the bot's buckets in the database."""
    return RateBudget(LIMITS, shared=SharedBotBudget("123456", LIMITS))


async def _send_all(budget: RateBudget, chats: list[int], sent: list[float]) -> None:
    async def one(chat: int) -> None:
        async with budget.turn(chat, Urgency.ANSWER):
            sent.append(time.monotonic())

    await asyncio.gather(*(one(chat) for chat in chats))


@pytest.mark.postgres
async def test_two_processes_together_send_no_more_than_the_bots_limit(db: str) -> None:
    sent: list[float] = []
    start = time.monotonic()
    chats = list(range(1, 31))  # 30 chats, one message each, per process
    await asyncio.gather(_send_all(_process(), chats, sent), _send_all(_process(), chats, sent))
    # 60 messages at 20 a second after a burst of 20: two seconds at least, for both together
    assert len(sent) == 60
    assert max(sent) - start >= 1.9
    for t in sent:  # never more than the burst plus a second's worth within any second
        assert sum(1 for u in sent if t <= u < t + 1.0) <= 20 + 20


@pytest.mark.postgres
async def test_one_chat_keeps_its_own_limit_across_processes(db: str) -> None:
    sent: list[float] = []
    start = time.monotonic()
    await asyncio.gather(
        _send_all(_process(), [77] * 6, sent), _send_all(_process(), [77] * 6, sent)
    )
    assert len(sent) == 12 and max(sent) - start >= 1.3  # a burst of 5, then 5 a second


@pytest.mark.postgres
async def test_a_429_seen_by_one_process_holds_the_other(db: str) -> None:
    first, second = _process(), _process()
    async with first.turn(1, Urgency.ANSWER):
        pass
    first.hold(1.0)
    await asyncio.sleep(0.1)  # the hold reaches the database
    start = time.monotonic()
    async with second.turn(2, Urgency.ANSWER):
        waited = time.monotonic() - start
    assert 0.7 <= waited <= 1.5
