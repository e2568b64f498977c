"""housedesk's SQLite engine: every statement on the connection's thread (the loop stays
free), the write lock taken up front, nested transactions and rollbacks as tortoise
promises them, and rows written later travelling with the next statement."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from core.storage.models import Building
from core.storage.rawsql import fetch
from core.storage.rows import insert_later

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
        " VALUES ('ELM', 'Elm Court', '', 'UTC', 'en', '', '', '{}', '{}', '[]', '')"
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


async def test_every_statement_of_a_write_transaction_runs_on_the_connections_thread() -> None:
    loop_thread = threading.get_ident()
    traced: list[tuple[int, str]] = []
    connection = connections.get("default")._connection  # the aiosqlite connection
    await connection.set_trace_callback(lambda sql: traced.append((threading.get_ident(), sql)))
    try:
        async with in_transaction():
            await Building.create(code="OAK", name="Oak House")
            await fetch('SELECT "code" FROM "building" WHERE "code" = :code', code="OAK")
            with pytest.raises(RuntimeError):
                async with in_transaction():
                    await Building.create(code="ELM", name="Elm Court")
                    raise RuntimeError("inner")
        await fetch('SELECT "code" FROM "building"')
    finally:
        await connection.set_trace_callback(None)
    statements = [sql for _, sql in traced]
    assert "BEGIN IMMEDIATE" in statements
    assert any(sql.startswith("SAVEPOINT") for sql in statements)
    assert any(sql.startswith("INSERT") for sql in statements)
    assert {thread for thread, _ in traced} - {loop_thread} == {thread for thread, _ in traced}
    assert await _codes() == ["OAK"]


class LoopLag:
    """The longest the event loop went without running a 5 ms ticker, from ``start`` to
    ``stop``, and how long that took."""

    def __init__(self) -> None:
        self.worst = self.took = 0.0

    async def start(self) -> None:
        self._ticking = asyncio.create_task(self._tick())
        await asyncio.sleep(0.02)
        self._started = time.perf_counter()

    def stop(self) -> None:
        self.took = time.perf_counter() - self._started
        self._ticking.cancel()

    async def _tick(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            self.worst, last = max(self.worst, now - last), now


COUNT_TO_2M = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000)"
    " SELECT count(*) AS n FROM c"
)
"""A statement long enough (well over 0.15 s) to show a stall of the loop."""


async def test_a_long_statement_inside_a_transaction_leaves_the_loop_free() -> None:
    """A scheduler round or an import holds a transaction for a while: SMTP sessions and
    bot updates must still be served meanwhile (worst loop lag well under 100 ms)."""
    lag = LoopLag()
    await lag.start()
    async with in_transaction() as connection:
        await Building.create(code="OAK", name="Oak House")
        await connection.execute_query(COUNT_TO_2M)
    lag.stop()
    assert lag.took > 0.15  # long enough to show a stall
    assert lag.worst < 0.1
    assert await _codes() == ["OAK"]


async def test_a_read_is_served_while_a_long_write_transaction_is_open() -> None:
    """Reads outside transactions go to the read-only connection: a listing, /healthz or a
    look-up does not queue behind a scheduler round, and it sees only what was committed."""
    await Building.create(code="ELM", name="Elm Court")
    written, release = asyncio.Event(), asyncio.Event()

    async def long_round() -> None:
        async with in_transaction():
            await Building.create(code="OAK", name="Oak House")
            written.set()
            await release.wait()  # the round goes on for as long as the test says

    round_ = asyncio.create_task(long_round())
    await written.wait()
    started = time.perf_counter()
    assert await asyncio.wait_for(_codes(), 2) == ["ELM"]  # served, without the open row
    assert time.perf_counter() - started < 1
    release.set()
    await round_
    assert await _codes() == ["ELM", "OAK"]


async def test_the_read_connection_refuses_writes() -> None:
    from tortoise.exceptions import OperationalError

    reader = connections.get("default")._reader  # the read-only aiosqlite connection
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await reader.execute("DELETE FROM building")
    with pytest.raises(OperationalError, match="readonly"):  # a write dressed as a read
        await connections.get("default").execute_query(
            "WITH gone AS (SELECT 1) DELETE FROM building WHERE id IN (SELECT * FROM gone)"
        )


async def _round_trips(connection: object, during: Callable[[], Awaitable[None]]) -> int:
    """How many calls ``during`` queues for the aiosqlite connection's thread."""
    queue = connection._tx  # type: ignore[attr-defined]

    class Counted:
        calls = 0

        def put_nowait(self, item: object) -> None:
            self.calls += 1
            queue.put_nowait(item)  # the thread reads the queue it was started with

    counted = Counted()
    connection._tx = counted  # type: ignore[attr-defined]
    try:
        await during()
    finally:
        connection._tx = queue  # type: ignore[attr-defined]
    return counted.calls


async def test_rows_written_later_go_with_the_commit_in_one_round_trip() -> None:
    async def write() -> None:
        async with in_transaction():
            for code in ("OAK", "ELM", "ASH"):
                await insert_later(Building, code=code, name=code.title())

    writer = connections.get("default")._connection
    assert await _round_trips(writer, write) == 1  # BEGIN, three rows and COMMIT together
    assert await _codes() == ["ASH", "ELM", "OAK"]


async def test_a_statement_sees_the_rows_written_before_it() -> None:
    async with in_transaction():
        await insert_later(Building, code="OAK", name="Oak House")
        inside = await fetch('SELECT "code" FROM "building"')
        assert [r["code"] for r in inside] == ["OAK"]
    assert await _codes() == ["OAK"]


async def test_a_transaction_that_writes_nothing_costs_no_round_trip() -> None:
    async def nothing() -> None:
        async with in_transaction():
            pass

    assert await _round_trips(connections.get("default")._connection, nothing) == 0


async def test_a_row_written_later_that_fails_fails_the_whole_transaction() -> None:
    from tortoise.exceptions import IntegrityError, OperationalError

    await Building.create(code="OAK", name="Oak House")
    with pytest.raises(IntegrityError):  # at the commit, which rolls everything back
        async with in_transaction():
            await Building.create(code="ELM", name="Elm Court")
            await insert_later(Building, code="OAK", name="Oak again")
    assert await _codes() == ["OAK"]
    with pytest.raises(OperationalError):  # swallowing the error does not save the rest
        async with in_transaction():
            await insert_later(Building, code="OAK", name="Oak again")
            await insert_later(Building, code="ASH", name="Ash Row")
            with pytest.raises(IntegrityError):
                await Building.create(code="ELM", name="Elm Court")
            await Building.create(code="FIR", name="Fir Lane")
    assert await _codes() == ["OAK"]
    await Building.create(code="ELM", name="Elm Court")  # the connection is usable again
    assert await _codes() == ["ELM", "OAK"]


async def test_rows_written_later_in_a_nested_transaction_roll_back_with_it() -> None:
    async with in_transaction():
        await insert_later(Building, code="OAK", name="Oak House")
        with pytest.raises(RuntimeError):
            async with in_transaction():
                await insert_later(Building, code="ELM", name="Elm Court")
                raise RuntimeError("inner")
        await insert_later(Building, code="ASH", name="Ash Row")
    assert await _codes() == ["ASH", "OAK"]


async def test_a_row_and_its_child_go_in_one_round_trip() -> None:
    from core.storage.models import Category, Channel, EventType, Ticket, TicketEvent
    from core.storage.rows import insert_pair

    technical = await Category.create(code="technical", names={"en": "Technical"})
    now = datetime.now(UTC)
    made: list[tuple[Ticket, TicketEvent]] = []

    async def write() -> None:
        async with in_transaction():
            made.append(
                await insert_pair(
                    Ticket,
                    {"category": technical, "channel": Channel.CLI, "title": "Cold"}
                    | {"created_at": now, "updated_at": now},
                    TicketEvent,
                    {"type": EventType.CREATED, "public": True, "text": "cold", "at": now},
                )
            )

    assert await _round_trips(connections.get("default")._connection, write) == 2  # and COMMIT
    [(ticket, event)] = made
    stored = await TicketEvent.get(id=event.id)
    assert stored.ticket_id == ticket.id and stored.text == "cold"  # type: ignore[attr-defined]


async def test_the_write_lock_is_free_while_a_queued_commit_waits() -> None:
    client = connections.get("default")
    go_on = threading.Event()
    blocked = asyncio.ensure_future(client._connection._execute(go_on.wait))  # thread busy
    try:
        await asyncio.sleep(0)
        first = asyncio.ensure_future(write_elm())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not first.done()  # its commit waits behind the busy thread...
        assert not client._lock.locked()  # ...without holding the process's write lock
    finally:
        go_on.set()
    await asyncio.gather(blocked, first)
    assert await _codes() == ["ELM"]


async def write_elm() -> None:
    async with in_transaction():
        await insert_later(Building, code="ELM", name="Elm Court")


async def test_a_queued_commit_that_fails_fails_its_caller_and_not_the_next() -> None:
    from tortoise.exceptions import IntegrityError

    await Building.create(code="OAK", name="Oak House")

    async def clash() -> None:
        async with in_transaction():
            await insert_later(Building, code="ASH", name="Ash Row")
            await insert_later(Building, code="OAK", name="Oak again")

    results = await asyncio.gather(clash(), write_elm(), return_exceptions=True)
    assert isinstance(results[0], IntegrityError)
    assert results[1] is None
    assert await _codes() == ["ELM", "OAK"]  # the failed one left nothing behind


async def test_a_short_read_is_served_on_the_loop_without_a_round_trip() -> None:
    await Building.create(code="OAK", name="Oak House")
    reader = connections.get("default")._reader

    async def look_up() -> None:
        rows = await fetch('SELECT "name" FROM "building" WHERE "code" = :code', code="OAK")
        assert [r["name"] for r in rows] == ["Oak House"]

    assert await _round_trips(reader, look_up) == 0


async def test_a_long_read_is_moved_to_the_readers_thread_and_leaves_the_loop_free() -> None:
    reader = connections.get("default")._reader
    counted: list[int] = []

    async def long_read() -> None:
        rows = await fetch(COUNT_TO_2M)
        counted.append(rows[0]["n"])

    lag = LoopLag()
    await lag.start()
    assert await _round_trips(reader, long_read) == 1  # interrupted here, run there
    lag.stop()
    assert counted == [2000000]
    assert lag.took > 0.15  # long enough to show a stall
    assert lag.worst < 0.1


async def test_a_task_reading_row_after_row_lets_other_tasks_run() -> None:
    await Building.create(code="OAK", name="Oak House")
    loop = asyncio.get_running_loop()
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            await asyncio.sleep(0)
            ticks.append(loop.time())

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = loop.time()
    while loop.time() - started < 0.05:  # 50 ms of short reads, with no other await
        await fetch('SELECT "code" FROM "building"')
    ticking.cancel()
    assert len(ticks) >= 10
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert max(gaps) < 0.04  # the reader let go every millisecond or so


async def test_an_inserted_rows_id_is_its_own_when_a_trigger_writes_elsewhere() -> None:
    from core.storage.rows import insert

    async with in_transaction() as connection:
        await connection.execute_script(
            "CREATE TEMP TABLE seen (id INTEGER PRIMARY KEY, code TEXT);"
            "INSERT INTO seen (id, code) VALUES (500, 'before');"
            "CREATE TEMP TRIGGER building_seen AFTER INSERT ON building"
            " BEGIN INSERT INTO seen (code) VALUES (NEW.code); END;"
        )
        oak = await insert(Building, code="OAK", name="Oak House")
        elm = await insert(Building, code="ELM", name="Elm Court")
    rows = await fetch('SELECT "id", "code" FROM "building" ORDER BY "id"')
    assert [(r["id"], r["code"]) for r in rows] == [(oak.pk, "OAK"), (elm.pk, "ELM")]
    assert (oak.pk, elm.pk) == (1, 2)  # not the trigger's rows, 501 and 502


async def test_a_quick_read_asked_for_on_another_thread_is_left_to_the_readers_thread(
    db_url: str,
) -> None:
    from core.storage.sqlite_engine import QuickReader

    await Building.create(code="OAK", name="Oak House")
    quick = QuickReader(_path(db_url))
    try:
        on_loop = quick.read('SELECT "code" FROM "building"', None)
        elsewhere = await asyncio.to_thread(quick.read, 'SELECT "code" FROM "building"', None)
    finally:
        quick.close()
    assert [r["code"] for r in on_loop or []] == ["OAK"]
    assert elsewhere is None  # not sqlite3's ProgrammingError
