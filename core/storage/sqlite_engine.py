"""tortoise's SQLite backend, with write transactions whose statements run in-line.

aiosqlite runs every statement on its own thread and hands the result back to the event
loop: a round trip of 40–200 µs on small VMs, where an indexed insert or look-up costs a
few µs. Only two steps of a transaction can wait: taking the write lock (another process
may hold it) and COMMIT (the fsync). So a transaction here takes the write lock with
``BEGIN IMMEDIATE``: in-line when it is free (tried with a busy timeout of 0), else on the
connection's thread, which waits for it there. Once the lock is held no statement can wait
for another writer (WAL: readers never block the writer), so the statements inside run
directly on the event loop thread, and COMMIT goes to the thread. Outside a transaction,
look-ups of a few rows by index (:meth:`fetch_few`, used by :func:`core.storage.rawsql.fetch`) run
in-line too: a WAL reader never waits for a writer. Other statements outside a transaction
(reports, listings) still run on the thread and leave the loop free. Selected by
:func:`core.storage.db.tortoise_config` for ``sqlite://`` URLs.

All access to the one connection is serialised by tortoise's lock; the sqlite3 connection
is opened with ``check_same_thread=False`` so that both threads may use it in turn.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import count
from typing import Any

import aiosqlite
from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
    translate_exceptions,
)
from tortoise.exceptions import TransactionManagementError

_savepoints = count()


class InlineTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that holds the write lock, its statements run on the loop thread."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(InlineTransactionWrapper(self))

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connection._conn

    async def begin(self) -> None:
        """Take the write lock: at once on the loop thread when it is free, else on the
        connection's thread, which waits there if another process holds it. A transaction
        left open is closed first, only if there is one."""
        try:
            if self._connection.in_transaction:
                await self._connection.commit()
            if not self._begin_if_free():
                await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    def _begin_if_free(self) -> bool:
        """``BEGIN IMMEDIATE`` without waiting (busy timeout 0): False if another holds it."""
        db = self._db
        (timeout,) = db.execute("PRAGMA busy_timeout").fetchone()
        db.execute("PRAGMA busy_timeout=0")
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            db.execute(f"PRAGMA busy_timeout={int(timeout)}")
        return True

    @translate_exceptions
    async def execute_insert(self, query: str, values: list[Any]) -> int:
        """Run an INSERT in-line; the new row's id."""
        self.log.debug("%s: %s", query, values)
        return self._db.execute(query, values).lastrowid or 0

    @translate_exceptions
    async def execute_many(self, query: str, values: list[list[Any]]) -> None:
        """Run one statement for each row of ``values``, in-line."""
        self.log.debug("%s: %s", query, values)
        self._db.executemany(query, values)

    @translate_exceptions
    async def execute_query(
        self, query: str, values: list[Any] | None = None
    ) -> tuple[int, Sequence[dict[str, Any]]]:
        """Run a query in-line: (rows changed or returned, rows)."""
        query = query.replace("\x00", "'||CHAR(0)||'")
        self.log.debug("%s: %s", query, values)
        start = self._db.total_changes
        rows = self._db.execute(query, values or ()).fetchall()
        return (self._db.total_changes - start) or len(rows), rows

    @translate_exceptions
    async def execute_query_dict(
        self, query: str, values: list[Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a query in-line; its rows as dicts."""
        query = query.replace("\x00", "'||CHAR(0)||'")
        self.log.debug("%s: %s", query, values)
        return _dict_rows(self._db, query, values or [])

    async def fetch_few(self, query: str, values: list[Any]) -> list[dict[str, Any]]:
        """A look-up of a few rows by index (in a transaction every statement is in-line)."""
        return await self.execute_query_dict(query, values)

    @translate_exceptions
    async def execute_script(self, query: str) -> None:
        """Run several statements in-line."""
        self.log.debug(query)
        self._db.executescript(query)

    async def rollback(self) -> None:
        """Undo the transaction (in WAL mode nothing reaches the disk: in-line)."""
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        self._db.rollback()
        self._finalized = True

    async def savepoint(self) -> None:
        """Open a nested transaction."""
        self._savepoint = f"housedesk_sp_{next(_savepoints)}"
        self._db.execute(f"SAVEPOINT {self._savepoint}")

    async def savepoint_rollback(self) -> None:
        """Undo the nested transaction."""
        self._db.execute(f"ROLLBACK TO {self._open_savepoint()}")
        self._savepoint = None

    async def release_savepoint(self) -> None:
        """Keep the nested transaction's changes in the outer one."""
        self._db.execute(f"RELEASE {self._open_savepoint()}")

    def _open_savepoint(self) -> str:
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        if self._savepoint is None:
            raise TransactionManagementError("No savepoint to rollback to")
        return self._savepoint


class HousedeskSqliteClient(SqliteClient):
    """tortoise's SQLite client with :class:`InlineTransactionWrapper` transactions."""

    async def create_connection(self, with_db: bool) -> None:
        """Open the connection (usable from the loop thread too) and set the pragmas."""
        if self._connection:
            return
        self._connection = await aiosqlite.connect(
            self.filename, isolation_level=None, check_same_thread=False
        )
        self._connection._conn.row_factory = sqlite3.Row
        for pragma, value in self.pragmas.items():
            await self._connection.execute(f"PRAGMA {pragma}={value}")
        await self._post_connect()

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(InlineTransactionWrapper(self), self._lock)

    @translate_exceptions
    async def fetch_few(self, query: str, values: list[Any]) -> list[dict[str, Any]]:
        """A look-up of a few rows by index, in-line once the connection is free."""
        async with self.acquire_connection() as connection:
            self.log.debug("%s: %s", query, values)
            return _dict_rows(connection._conn, query, values)


def _dict_rows(db: sqlite3.Connection, query: str, values: list[Any]) -> list[dict[str, Any]]:
    """Run ``query`` on the calling thread; its rows as dicts."""
    return list(map(dict, db.execute(query, values).fetchall()))


client_class = HousedeskSqliteClient
