"""Two independent reads: together where each waits for the network, in turn on SQLite."""

from __future__ import annotations

import asyncio
import inspect

import pytest
from tortoise import connections

from core.storage.models import Building
from core.storage.rawsql import fetch
from core.storage.together import read_both

pytestmark = pytest.mark.usefixtures("db")


def _on_sqlite() -> bool:
    return connections.get("default").capabilities.dialect == "sqlite"


async def _codes() -> list[str]:
    return [row["code"] for row in await fetch('SELECT "code" FROM "building" ORDER BY "code"')]


async def test_both_results_come_back_in_order() -> None:
    await Building.create(code="OAK", name="Oak House")

    async def count() -> int:
        return len(await _codes())

    assert await read_both(_codes(), count()) == (["OAK"], 1)


async def test_they_overlap_on_postgresql_and_run_in_turn_on_sqlite() -> None:
    order: list[str] = []
    first_waiting = asyncio.Event()

    async def first() -> str:
        order.append("first starts")
        first_waiting.set()
        await asyncio.sleep(0.01)
        order.append("first ends")
        return "one"

    async def second() -> str:
        order.append("second starts")
        return "two"

    assert await read_both(first(), second()) == ("one", "two")
    if _on_sqlite():
        assert order == ["first starts", "first ends", "second starts"]
    else:
        assert order == ["first starts", "second starts", "first ends"]


async def test_a_failing_first_read_raises_and_leaves_no_read_hanging() -> None:
    async def broken() -> None:
        raise LookupError("no such table")

    second = _codes()
    with pytest.raises(LookupError):
        await read_both(broken(), second)
    if not _on_sqlite():  # it runs beside the first, as gather runs it, to its end
        for _ in range(500):
            if inspect.getcoroutinestate(second) == inspect.CORO_CLOSED:
                break
            await asyncio.sleep(0.01)
    # on SQLite it never started, and is closed: nothing warns it was never awaited
    assert inspect.getcoroutinestate(second) == inspect.CORO_CLOSED
