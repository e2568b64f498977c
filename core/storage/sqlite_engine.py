"""tortoise's SQLite backend with write transactions that take the write lock up front.

Every statement runs on aiosqlite's connection thread, through aiosqlite's public API: the
event loop never touches the sqlite3 connection, so a long transaction (a scheduler round,
an announcement, a directory import) leaves the loop free for SMTP sessions, bot updates
and outbox sends. What keeps SQLite robust here:

- a write transaction opens with ``BEGIN IMMEDIATE``, so it holds the write lock before its
  first read and can never fail half-way with ``SQLITE_BUSY`` when another process writes;
  waiting for that lock (the busy timeout, :func:`core.storage.db.sqlite_url`) happens on
  the connection's thread, not on the loop;
- one writing connection per process, whose lock (tortoise's) lets one transaction at a
  time run: the process's one write lock;
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
of ``tortoise.backends.sqlite.client`` are tortoise internals, and this is the one module
that uses any: pyproject.toml pins tortoise-orm (1.1.9) and aiosqlite (0.22.1) to the
versions it was written against. Check the subclassed classes before moving either pin.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
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

DATABASE_FILE_MODE = 0o600


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    """A transaction that takes the write lock with ``BEGIN IMMEDIATE``."""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransactionWrapper(self))

    async def begin(self) -> None:
        """Take the write lock (waiting on the connection's thread while another process
        holds it). A transaction left open is committed first, only if there is one."""
        try:
            if self._connection.in_transaction:
                await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class HousedeskSqliteClient(SqliteClient):
    """tortoise's SQLite client with :class:`ImmediateTransactionWrapper` transactions and
    a read-only connection for reads outside them."""

    _reader: aiosqlite.Connection | None = None
    _read_lock: asyncio.Lock | None = None

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
            self._reader, self._read_lock = reader, asyncio.Lock()

    async def close(self) -> None:
        """Close both connections."""
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
        assert self._reader is not None and self._read_lock is not None
        query = query.replace("\x00", "'||CHAR(0)||'")  # as tortoise does for the writer
        async with self._read_lock:
            self.log.debug("%s: %s", query, values)
            return list(await self._reader.execute_fetchall(query, values))

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


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
