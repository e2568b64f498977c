"""housedesk's SQLite engine: in-line statements inside transactions, the lock taken on the
connection's thread, nested transactions and rollbacks as tortoise promises them."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from urllib.parse import urlsplit

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from core.storage.models import Building
from core.storage.rawsql import fetch

pytestmark = [pytest.mark.usefixtures("db"), pytest.mark.sqlite_only]


def _path(db_url: str) -> str:
    return urlsplit(db_url).path


async def _codes() -> list[str]:
    return [b.code for b in await Building.all().order_by("code")]


async def test_a_transaction_commits_every_statement_together() -> None:
    async with in_transaction():
        await Building.create(code="OAK", name="Oak House")
        await Building.create(code="ELM", name="Elm Court")
        assert [r["code"] for r in await fetch('SELECT "code" FROM "building" ORDER BY "id"')] == [
            "OAK",
            "ELM",
        ]
    assert await _codes() == ["ELM", "OAK"]


async def test_an_error_rolls_the_whole_transaction_back() -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await Building.create(code="OAK", name="Oak House")
            raise RuntimeError("boom")
    assert await _codes() == []
    await Building.create(code="ELM", name="Elm Court")  # the connection is usable again
    assert await _codes() == ["ELM"]


async def test_a_nested_transaction_rolls_back_alone() -> None:
    async with in_transaction():
        await Building.create(code="OAK", name="Oak House")
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await Building.create(code="ELM", name="Elm Court")
                raise RuntimeError("inner")
        async with in_transaction():
            await Building.create(code="ASH", name="Ash Row")
    assert await _codes() == ["ASH", "OAK"]


async def test_a_constraint_violation_is_tortoises_integrity_error() -> None:
    from tortoise.exceptions import IntegrityError

    await Building.create(code="OAK", name="Oak House")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await Building.create(code="OAK", name="Oak again")
    assert await _codes() == ["OAK"]


async def test_another_writer_makes_us_wait_off_the_event_loop(db_url: str) -> None:
    """A second process holding the write lock delays our transaction; the loop keeps
    running meanwhile, and our rows land once the lock is released."""
    other = sqlite3.connect(_path(db_url), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO building (code, name, address, timezone, language, phone,"
        " duty_phone, emergency_instructions, hours, holidays, zone)"
        " VALUES ('ELM', 'Elm Court', '', 'UTC', 'en', '', '', '', '{}', '[]', '')"
    )

    async def write() -> None:
        async with in_transaction():
            await Building.create(code="OAK", name="Oak House")

    writer = asyncio.create_task(write())
    ticks = 0
    for _ in range(20):
        await asyncio.sleep(0.01)
        ticks += 1
    assert not writer.done()  # still waiting for the lock
    assert ticks == 20  # and the event loop was never blocked
    threading.Thread(target=other.commit).start()
    await asyncio.wait_for(writer, 10)
    other.close()
    assert await _codes() == ["ELM", "OAK"]


async def test_look_ups_see_what_the_transaction_wrote_and_nothing_else_sees_it_early() -> None:
    async with in_transaction():
        await Building.create(code="OAK", name="Oak House")
        inside = await fetch('SELECT "code" FROM "building" WHERE "code" = :code', code="OAK")
        assert [r["code"] for r in inside] == ["OAK"]
    outside = await fetch('SELECT "code" FROM "building" WHERE "code" = :code', code="OAK")
    assert [r["code"] for r in outside] == ["OAK"]
    assert type(connections.get("default")).__name__ == "HousedeskSqliteClient"
