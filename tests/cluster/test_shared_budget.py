"""One Telegram rate budget per bot for all processes: two processes together stay within it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest
from tortoise import connections

from bots.rate_budget import BudgetLimits, RateBudget, Urgency, Window
from bots.shared_budget import SharedBotBudget
from core.storage import rate_buckets
from core.storage.rate_buckets import Bucket
from core.storage.retention import RetentionPolicy, collect_garbage
from housedesk.bootstrap import App
from housedesk.gc_job import DailyGc
from housedesk.settings.config import Settings

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


async def _keys() -> set[str]:
    rows = await connections.get("default").execute_query_dict('SELECT key FROM "rate_bucket"')
    return {row["key"] for row in rows}


async def _untouched_for(seconds: float, *keys: str) -> None:
    """As if the database's clock had moved on by ``seconds`` since ``keys`` were taken from."""
    await connections.get("default").execute_query(
        'UPDATE "rate_bucket" SET "stamp" = "stamp" - make_interval(secs => $1)'
        ' WHERE "key" = ANY($2::text[])',
        [seconds, list(keys)],
    )


@pytest.mark.postgres
async def test_the_daily_clean_up_purges_idle_buckets_only(app: App, settings: Settings) -> None:
    bot = SharedBotBudget("123456", LIMITS)
    for chat in (1, 2, 3):
        await bot.take(chat)
    slow = Bucket("slow", capacity=5, per_second=0.0001)  # refills 0.72 tokens in two hours
    for _ in range(5):
        await rate_buckets.take([slow])
    await rate_buckets.hold(f"{bot.key}:2", 3 * 3600)  # Telegram asked chat 2 to wait
    two_hours = 2 * 3600.0
    await _untouched_for(two_hours, bot.key, f"{bot.key}:1", f"{bot.key}:2", "slow")
    assert len(await _keys()) == 5

    counted = await collect_garbage(app.blobs, app.clock.now(), RetentionPolicy(), dry_run=True)
    assert counted.rate_buckets == 2 and len(await _keys()) == 5

    job = DailyGc(settings, app.blobs)
    now = datetime.combine(datetime(2026, 12, 4), job.at, tzinfo=job.zone) + timedelta(minutes=1)
    assert await job(now) == 2
    # the bot's and chat 1's buckets were full and idle; chat 2 is held, chat 3 was used
    # just now, and the slow bucket is not full again
    assert await _keys() == {f"{bot.key}:2", f"{bot.key}:3", "slow"}
    assert await bot.take(1) == 0.0  # a purged bucket comes back full
    assert not await job(now + timedelta(hours=1))  # once a day
