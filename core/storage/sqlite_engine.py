"""tortoise's SQLite backend with write transactions that take the write lock up front.

Every statement runs on aiosqlite's connection thread: the event loop never touches the
sqlite3 connection, so a long transaction (a scheduler round,
an announcement, a directory import) leaves the loop free for SMTP sessions, bot updates
and outbox sends. What keeps SQLite robust here:

- a write transaction opens with ``BEGIN IMMEDIATE``, so it holds the write lock before its
  first read and can never fail half-way with ``SQLITE_BUSY`` when another process writes;
  waiting for that lock (the busy timeout, :func:`core.storage.db.sqlite_url`) happens on
  the connection's thread, not on the loop;
- a transaction costs as few round trips to that thread as it can: the ``BEGIN`` travels
  with its first statement, and rows whose id nobody needs
  (:func:`core.storage.rows.insert_later`) with its next statement or its ``COMMIT``. On a
  busy loop each round trip waits for the loop, while the transaction holds the process's
  one write lock: fewer of them is what lets mail and updates commit at a steady rate;
- one writing connection per process, whose lock (tortoise's) lets one transaction at a
  time run: the process's one write lock. It is let go once the commit is queued on the
  connection's thread, not once the loop has seen it done (:class:`ImmediateTransactionContext`):
  what comes next queues behind the commit there;
- a second, read-only connection (``PRAGMA query_only``) for reads outside transactions:
  a ``SELECT`` (or ``WITH``) that is not part of a transaction is served there, on its own
  thread, while a long write transaction holds the writer (WAL lets it see every commit);
  in-memory databases, which a second connection cannot share, have the writer only;
- WAL, so readers never wait for the writer; rows come back as ``sqlite3.Row`` (set
  through aiosqlite's ``row_factory``);
- a new database file is created 0600 before SQLite opens it; SQLite gives its ``-wal``
  and ``-shm`` files the mode of the database file.

Selected by :func:`core.storage.db.tortoise_config` for ``sqlite://`` URLs.

Version pin: the transaction hook (``_in_transaction``) and the wrapper and context classes
of ``tortoise.backends.sqlite.client`` are tortoise internals, and so are aiosqlite's
``Connection._execute`` (which runs a function on the connection's thread: one round trip
for several statements), the queue it puts that function on (``Connection._tx``, used to
queue a commit without waiting for it) and ``Connection._conn``; this is the one module
that uses any: pyproject.toml pins tortoise-orm (1.1.9) and aiosqlite (0.22.1) to the
versions it was written against. Check the subclassed classes before moving either pin.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.connection import get_connections
from tortoise.exceptions import IntegrityError, OperationalError, TransactionManagementError

T = TypeVar("T")

DATABASE_FILE_MODE = 0o600


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that takes the write lock with ``BEGIN IMMEDIATE`` and sends its
    statements to the connection's thread in as few round trips as it can.

    The ``BEGIN IMMEDIATE`` goes with the transaction's first statement, and rows written
    with :meth:`execute_later` go with its next statement or its commit: one round trip
    each instead of one apiece. Nested transactions (savepoints) share the outermost one's
    state. A held-back row that cannot be written fails the whole transaction: nothing
    after it runs, and the commit rolls back and raises.
    """

    def __init__(self, connection: SqliteClient) -> None:
        super().__init__(connection)
        outer = connection if isinstance(connection, ImmediateTransactionWrapper) else None
        self._outer: ImmediateTransactionWrapper = outer._outer if outer else self
        self._to_begin = False
        self._held: list[tuple[str, list[Any]]] = []
        self._broken = False

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransactionWrapper(self))

    async def begin(self) -> None:
        """Open the transaction with its first statement (taking the write lock then,
        waiting on the connection's thread while another process holds it)."""
        self._to_begin = True

    def execute_later(self, query: str, values: list[Any]) -> None:
        """Run a write whose result nobody needs (an INSERT whose id nobody needs, an
        UPDATE whose count nobody reads) with the next statement."""
        self._outer._held.append((query, values))

    async def _run(self, then: Callable[[sqlite3.Connection], T], *, finish: bool = False) -> T:
        """One round trip: the pending ``BEGIN IMMEDIATE`` and held-back rows, then ``then``.
        ``finish``: the round trip ends the transaction (rolled back there if it fails)."""
        if self._outer._broken:
            raise OperationalError("a row written earlier in this transaction failed")
        batch, done = self._send(then, finish)
        try:
            return await done
        except Exception:
            if not batch.begun or batch.written < len(batch.held):
                self._outer._broken = True  # the transaction did not open, or lost a row
            raise

    def _send(
        self, then: Callable[[sqlite3.Connection], T], finish: bool
    ) -> tuple[_Batch, asyncio.Future[T]]:
        """Queue one round trip on the connection's thread now (as aiosqlite's
        ``_execute`` does, without waiting for it): the batch and its outcome."""
        outer = self._outer
        client = self._connection
        if not client._running or not client._connection:
            raise ValueError("Connection closed")
        batch = _Batch(outer._to_begin, outer._held)
        outer._to_begin, outer._held = False, []
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        conn = client._conn  # the sqlite3 connection, used on its thread only
        client._tx.put_nowait((done, functools.partial(batch.run, conn, then, finish)))
        return batch, done

    @translate_exceptions
    async def execute_insert(self, query: str, values: list[Any]) -> int:
        """Insert a row; its id."""
        async with self._lock:
            self.log.debug("%s: %s", query, values)
            return await self._run(lambda conn: _last_id(conn.execute(query, values)))

    @translate_exceptions
    async def execute_insert_pair(
        self, first: str, values: list[Any], then: str, then_values: list[Any], link: int
    ) -> tuple[int, int]:
        """Insert a row and a row pointing to it (its id goes to ``then_values[link]``) in
        one round trip; both ids."""
        async with self._lock:
            self.log.debug("%s: %s; %s: %s", first, values, then, then_values)

            def both(conn: sqlite3.Connection) -> tuple[int, int]:
                parent = _last_id(conn.execute(first, values))
                linked = [parent if i == link else v for i, v in enumerate(then_values)]
                return parent, _last_id(conn.execute(then, linked))

            return await self._run(both)

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        """Run ``query`` once per row of ``values``."""
        async with self._lock:
            self.log.debug("%s: %s", query, values)
            await self._run(lambda conn: conn.executemany(query, values))

    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        """Run ``query``: the rows it changed (else read), and the rows."""
        query = query.replace("\x00", "'||CHAR(0)||'")
        async with self._lock:
            self.log.debug("%s: %s", query, values)
            changed, rows = await self._run(lambda conn: _changes_and_rows(conn, query, values))
            return changed or len(rows), rows

    @translate_exceptions
    async def execute_query_dict(
        self, query: str, values: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        """The rows of ``query`` as dicts."""
        query = query.replace("\x00", "'||CHAR(0)||'")
        async with self._lock:
            self.log.debug("%s: %s", query, values)
            _, rows = await self._run(lambda conn: _changes_and_rows(conn, query, values))
            return list(map(dict, rows))

    @translate_exceptions
    async def execute_script(self, query: str) -> None:
        """Run a script of statements."""
        async with self._lock:
            self.log.debug(query)
            await self._run(lambda conn: conn.executescript(query))

    async def commit(self) -> None:
        """Write what is held back and commit, in one round trip; a failure rolls back."""
        outcome = self.send_commit()
        if outcome is not None:
            await outcome

    def send_commit(self) -> Awaitable[None] | None:
        """Queue what is held back and the commit (or, after a lost row, the rollback) on
        the connection's thread now; what to await for the outcome, None when nothing was
        ever written or read. Whatever the process asks of the connection later runs after
        it there, so the write lock need not be held while waiting for it."""
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        self._finalized = True
        outer = self._outer
        if outer._broken:
            outer._held = []
            _, undone = self._send(sqlite3.Connection.rollback, True)
            return _rolled_back(undone)
        if outer._to_begin and not outer._held:
            outer._to_begin = False  # nothing was ever written or read
            return None
        return _committed(self._send(sqlite3.Connection.commit, True)[1])

    async def rollback(self) -> None:
        """Forget what is held back and roll back (nothing to do if nothing began)."""
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        self._finalized = True
        outer = self._outer
        outer._held = []
        if outer._to_begin:
            outer._to_begin = False
            return
        await self._connection.rollback()

    async def savepoint(self) -> None:
        """Open a savepoint (a nested transaction)."""
        self._savepoint = name = _savepoint_name()
        await self._statement(f"SAVEPOINT {name}")

    async def savepoint_rollback(self) -> None:
        """Undo the nested transaction."""
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        if self._savepoint is None:
            raise TransactionManagementError("No savepoint to rollback to")
        await self._statement(f"ROLLBACK TO {self._savepoint}")
        self._savepoint = None

    async def release_savepoint(self) -> None:
        """Keep the nested transaction's work in the outer one."""
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        if self._savepoint is None:
            raise TransactionManagementError("No savepoint to rollback to")
        await self._statement(f"RELEASE {self._savepoint}")

    async def _statement(self, sql: str) -> None:
        try:
            await self._run(lambda conn: conn.execute(sql))
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc


class _Batch:
    """What one round trip to the connection's thread runs before its statement."""

    def __init__(self, begin: bool, held: list[tuple[str, list[Any]]]) -> None:
        self.begin = begin
        self.held = held
        self.begun = not begin
        self.written = 0

    def run(
        self, conn: sqlite3.Connection, then: Callable[[sqlite3.Connection], T], finish: bool
    ) -> T:
        """On the connection's thread. A transaction left open is committed first, only
        if there is one (as tortoise's ``begin`` does)."""
        try:
            if self.begin:
                if conn.in_transaction:
                    conn.commit()
                conn.execute("BEGIN IMMEDIATE")
                self.begun = True
            for query, values in self.held:
                conn.execute(query, values)
                self.written += 1
            return then(conn)
        except BaseException:
            if finish and self.begun:
                conn.rollback()
            raise


async def _committed(done: Awaitable[None]) -> None:
    """The outcome of a queued commit, as tortoise's exceptions."""
    try:
        await done
    except sqlite3.IntegrityError as exc:
        raise IntegrityError(exc) from exc
    except sqlite3.OperationalError as exc:
        raise OperationalError(exc) from exc


async def _rolled_back(undone: Awaitable[None]) -> None:
    """A queued rollback of a transaction that lost a row: the transaction failed."""
    await undone
    raise OperationalError("a row written in this transaction failed: rolled back")


def _last_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row the cursor's INSERT just wrote: ``sqlite3_last_insert_rowid``
    as the statement left it (a trigger's own inserts do not change it), read without the
    second statement (``SELECT last_insert_rowid()``) aiosqlite's ``execute_insert`` runs."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _changes_and_rows(
    conn: sqlite3.Connection, query: str, values: list[Any] | None
) -> tuple[int, list[Any]]:
    before = conn.total_changes
    rows = conn.execute(query, values or []).fetchall()
    return conn.total_changes - before, rows


class QuickReader:
    """A read-only connection used on the event loop itself, for reads that finish within
    :data:`QUICK_READ_STEPS` of SQLite's virtual machine (well under a millisecond).

    A read sent to a connection's thread costs the loop more than most reads take: a
    future, a wake-up through the loop's self-pipe and several context switches, about
    0.1 ms of CPU, against some 20 microseconds for a look-up by key. Here a read runs
    at once; one that would take longer is interrupted by SQLite's progress handler (a
    read has nothing to undo) and handed to the reader's thread, as is one that finds the
    database busy (it never waits here: its busy timeout is zero). So the loop is never
    held longer than the step budget by a read, however large the database grows, and a
    task reading row after row lets other tasks run once it has read for
    :data:`QUICK_READS_YIELD_AFTER` (a turn of the loop after every read cost a mail's
    intake more than its reads).
    """

    def __init__(self, filename: str) -> None:
        self._thread = threading.get_ident()  # sqlite3 serves its connection there only
        self._conn = sqlite3.connect(filename, isolation_level=None, timeout=0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA query_only=1")
        self._ticks = 0
        self._conn.set_progress_handler(self._tick, _STEPS_PER_TICK)
        self._yielded_at = time.monotonic()

    def _tick(self) -> bool:
        self._ticks += 1
        return self._ticks > QUICK_READ_STEPS // _STEPS_PER_TICK  # True: interrupt it

    def read(self, query: str, values: list[Any] | None) -> list[Any] | None:
        """The rows, or None when the read is too long (or the database busy) for here, or
        asked for on a thread other than the loop's."""
        if threading.get_ident() != self._thread:
            return None
        self._ticks = 0
        try:
            return self._conn.execute(query, values or []).fetchall()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _HAND_OVER:
                return None
            raise

    def time_to_yield(self) -> bool:
        """Whether reads have held the loop long enough that the reading task should let
        others run now (True at most once per :data:`QUICK_READS_YIELD_AFTER`)."""
        now = time.monotonic()
        if now - self._yielded_at < QUICK_READS_YIELD_AFTER:
            return False
        self._yielded_at = now
        return True

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


QUICK_READ_STEPS = 20_000
"""Steps of SQLite's virtual machine a read may take on the event loop (measured: about
0.4 to 0.8 ms) before it is moved to the reader's thread."""
QUICK_READS_YIELD_AFTER = 0.001
"""Seconds of reads on the loop after which the reading task lets other tasks run."""
_STEPS_PER_TICK = 1_000
_HAND_OVER = frozenset({sqlite3.SQLITE_INTERRUPT, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class HousedeskSqliteClient(SqliteClient):
    """tortoise's SQLite client with :class:`ImmediateTransactionWrapper` transactions and
    read-only connections for reads outside them: short ones on the loop
    (:class:`QuickReader`), the rest on a reader's thread."""

    _reader: aiosqlite.Connection | None = None
    _quick: QuickReader | None = None

    async def create_connection(self, with_db: bool) -> None:
        """Open the connections (creating the file 0600) and set the pragmas."""
        if self._connection:
            return
        create_private(self.filename)
        self._connection = await aiosqlite.connect(self.filename, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            await self._connection.execute_fetchall(f"PRAGMA {pragma}={value}")
        await self._post_connect()
        if _shareable(self.filename):
            reader = await aiosqlite.connect(self.filename, isolation_level=None)
            reader.row_factory = sqlite3.Row
            timeout = self.pragmas.get("busy_timeout", 5000)
            await reader.execute_fetchall(f"PRAGMA busy_timeout={timeout}")
            await reader.execute_fetchall("PRAGMA query_only=1")
            self._reader = reader
            self._quick = QuickReader(self.filename)

    async def close(self) -> None:
        """Close the connections."""
        quick, self._quick = self._quick, None
        if quick is not None:
            quick.close()
        reader, self._reader = self._reader, None
        if reader is not None:
            await reader.close()
        await super().close()

    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        """Run ``query``: a read on the read-only connection, anything else on the writer."""
        if not self._reads(query):
            return await super().execute_query(query, values)
        rows = await self._read(query, values)
        return len(rows), rows

    @translate_exceptions
    async def execute_query_dict(
        self, query: str, values: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        """Rows of ``query`` as dicts, read like :meth:`execute_query`."""
        if not self._reads(query):
            return await super().execute_query_dict(query, values)
        return list(map(dict, await self._read(query, values)))

    def _reads(self, query: str) -> bool:
        head = query.lstrip()[:6].upper()
        return self._reader is not None and head.startswith(("SELECT", "WITH"))

    async def _read(self, query: str, values: list[Any] | None) -> list[Any]:
        """One read: on the loop if it is short (:class:`QuickReader`), else on the reader's
        thread. No lock: aiosqlite queues calls to that thread, so long reads asked for
        together (``asyncio.gather``) run back to back there."""
        assert self._reader is not None and self._quick is not None
        query = query.replace("\x00", "'||CHAR(0)||'")  # as tortoise does for the writer
        self.log.debug("%s: %s", query, values)
        rows = self._quick.read(query, values)
        if rows is not None:
            if self._quick.time_to_yield():  # a task reading row after row lets others run
                await asyncio.sleep(0)
            return rows
        return list(await self._reader.execute_fetchall(query, values))

    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransactionWrapper(self), self._lock)


class ImmediateTransactionContext(SqliteTransactionContext):
    """tortoise's SQLite transaction, which holds the process's write lock, except that the
    lock is let go once the commit is queued on the connection's thread rather than once
    the loop has seen it done: the next transaction's statements queue behind the commit
    there, and the wait for the loop to come back (on a busy loop, most of a short
    transaction's time) is no longer spent holding the lock. The caller still returns
    only when its commit is done, and with its outcome."""

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        outcome: Awaitable[None] | None = None
        try:
            if not self.connection._finalized:
                if exc_type:
                    if exc_type is not TransactionManagementError:
                        await self.connection.rollback()
                else:
                    outcome = self.connection.send_commit()
        finally:
            get_connections().reset(self.token)
            self._trxlock.release()
        if outcome is not None:
            await outcome


_SAVEPOINTS = itertools.count()


def _savepoint_name() -> str:
    return f"housedesk_savepoint_{next(_SAVEPOINTS)}"


def _shareable(filename: str) -> bool:
    """Whether a second connection opens the same database (not an in-memory one)."""
    return bool(filename) and filename != ":memory:" and "mode=memory" not in filename


def create_private(filename: str) -> None:
    """Create an empty database file readable by its owner only, unless it exists.

    An empty file is a valid empty SQLite database; SQLite creates the ``-wal`` and
    ``-shm`` files with the database file's mode. An existing file keeps its mode.
    """
    if filename == ":memory:" or filename.startswith("file:") or not filename:
        return
    try:
        fd = os.open(filename, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATABASE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


client_class = HousedeskSqliteClient
