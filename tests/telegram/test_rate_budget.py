"""One rate budget per bot: its limits, its two priorities, and a 429's pause."""

from __future__ import annotations

import asyncio
import time

from bots.rate_budget import BudgetLimits, RateBudget, Urgency, Window, is_message_method
from tests.fakes.botapi_limits import busiest_second

FIVE_A_SECOND = BudgetLimits(overall=Window(5, 1.0), private_chat=Window(100, 1.0))


async def send(budget: RateBudget, chat: int, urgency: Urgency = Urgency.ANSWER) -> float:
    """Take a turn for one message (sent at once); when it went."""
    async with budget.turn(chat, urgency):
        return time.monotonic()


async def _send_times(budget: RateBudget, chats: list[int], urgency: Urgency) -> list[float]:
    return sorted(await asyncio.gather(*(send(budget, chat, urgency) for chat in chats)))


async def test_no_second_holds_more_than_the_overall_limit() -> None:
    budget = RateBudget(FIVE_A_SECOND)

    times = await _send_times(budget, list(range(1, 13)), Urgency.ANSWER)

    assert busiest_second(times) == 5
    assert 2.0 <= times[-1] - times[0] < 2.5  # 5 now, 5 a second later, 2 after two


async def test_one_private_chat_gets_a_short_burst_then_waits() -> None:
    budget = RateBudget(BudgetLimits(private_chat=Window(3, 3.0)))
    started = time.monotonic()

    times = await _send_times(budget, [42] * 4, Urgency.ANSWER)

    assert [round(t - started) for t in times] == [0, 0, 0, 3]


async def test_a_chat_at_its_limit_does_not_hold_up_other_chats() -> None:
    budget = RateBudget(BudgetLimits(private_chat=Window(1, 5.0)))
    await send(budget, 42)
    waiting = asyncio.create_task(send(budget, 42))
    await asyncio.sleep(0)

    await asyncio.wait_for(send(budget, 43, Urgency.BULK), timeout=0.2)

    assert not waiting.done()
    waiting.cancel()


async def test_answers_go_before_bulk_that_waited_longer() -> None:
    budget = RateBudget(FIVE_A_SECOND)
    order: list[str] = []

    async def named(name: str, chat: int, urgency: Urgency) -> None:
        await send(budget, chat, urgency)
        order.append(name)

    bulk = [asyncio.create_task(named(f"bulk {n}", 100 + n, Urgency.BULK)) for n in range(4)]
    await asyncio.sleep(0.1)  # one bulk went out (its share), three wait for the next seconds
    answer = asyncio.create_task(named("answer", 7, Urgency.ANSWER))
    await asyncio.gather(answer, *bulk)

    assert order.index("answer") == 1  # at once, ahead of three older bulk sends
    assert order[0] == "bulk 0"


async def test_bulk_leaves_two_thirds_of_the_window_to_answers() -> None:
    budget = RateBudget(BudgetLimits(overall=Window(30, 1.0), private_chat=Window(100, 1.0)))
    bulk = [asyncio.create_task(send(budget, 1000 + n, Urgency.BULK)) for n in range(25)]
    await asyncio.sleep(0.1)  # bulk has taken its ten; fifteen wait
    started = time.monotonic()

    answers = await _send_times(budget, list(range(1, 11)), Urgency.ANSWER)

    assert answers[-1] - started < 0.05  # ten answers at once: bulk never fills the window
    bulk_times = sorted(await asyncio.gather(*bulk))
    assert busiest_second(bulk_times) == 10


async def test_a_429_pauses_the_whole_budget() -> None:
    budget = RateBudget()
    budget.hold(0.5)
    started = time.monotonic()

    sent = await send(budget, 42)

    assert sent - started >= 0.45


async def test_a_message_counts_until_a_window_after_its_request_came_back() -> None:
    budget = RateBudget(BudgetLimits(overall=Window(1, 0.5)))
    async with budget.turn(1, Urgency.ANSWER):
        await asyncio.sleep(0.3)  # a slow request
        returned = time.monotonic()

    sent = await send(budget, 2)

    assert sent - returned >= 0.45


async def test_a_cancelled_wait_gives_its_turn_away() -> None:
    budget = RateBudget(BudgetLimits(overall=Window(1, 0.5)))
    await send(budget, 1)
    first = asyncio.create_task(send(budget, 2))
    second = asyncio.create_task(send(budget, 3))
    await asyncio.sleep(0.05)
    first.cancel()

    await asyncio.wait_for(second, timeout=1.0)

    assert budget.waiting == 0


def test_messages_use_the_budget_other_calls_do_not() -> None:
    assert all(
        is_message_method(name)
        for name in ("sendMessage", "sendPhoto", "editMessageReplyMarkup", "copyMessage")
    )
    assert not any(
        is_message_method(name)
        for name in ("getUpdates", "answerCallbackQuery", "sendChatAction", "setMyCommands")
    )
