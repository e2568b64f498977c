"""tortoise's SQLite backend, with transactions that start in one round trip.

Every statement on aiosqlite is a hop to its thread and back (measured at 60–200 µs on
small VMs, more than the statement itself). tortoise's SQLite transaction sends COMMIT
before BEGIN, for a transaction the autocommit connection never has open: a wasted hop on
every write. This engine skips it when nothing is open. Selected by
:func:`core.db.tortoise_config` for ``sqlite://`` URLs.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class OneHopTransactionWrapper(SqliteTransactionWrapper):
    """A transaction whose BEGIN is the only statement sent to open it."""

    async def begin(self) -> None:
        """Open the transaction (closing one left open only if there is one)."""
        try:
            if self._connection.in_transaction:
                await self._connection.commit()
            await self._connection.execute("BEGIN")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class HousedeskSqliteClient(SqliteClient):
    """tortoise's SQLite client with :class:`OneHopTransactionWrapper` transactions."""

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(OneHopTransactionWrapper(self), self._lock)


client_class = HousedeskSqliteClient
