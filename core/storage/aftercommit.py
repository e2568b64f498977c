"""Run a callback once the current transaction has committed (at once outside one).

For signals that must not fire before the rows they announce are visible to others, such
as the outbox's wake-up of its worker. A transaction that rolls back runs nothing.

tortoise has no commit hook: the first registration on a transaction wraps that one
transaction object's ``commit`` (the method every transaction context calls on exit), so
nothing changes for transactions that register none; a SQLite write transaction ends with
``send_commit`` instead (:mod:`core.storage.sqlite_engine`), which is wrapped there. Nested
transactions (savepoints) register on the outermost one, whose commit is the one that
counts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

log = logging.getLogger(__name__)

_PENDING = "_housedesk_after_commit"


def after_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` after the current transaction commits, or now if there is none."""
    conn: Any = connections.get("default")
    if not isinstance(conn, TransactionalDBClient) or conn._finalized:
        callback()
        return
    pending: list[Callable[[], None]] | None = conn.__dict__.get(_PENDING)
    if pending is None:
        pending = []
        setattr(conn, _PENDING, pending)
        _wrap_commit(conn, pending)
    pending.append(callback)


def _wrap_commit(conn: Any, pending: list[Callable[[], None]]) -> None:
    """Make this one transaction run ``pending`` once its commit is done."""
    send_commit = getattr(conn, "send_commit", None)
    if send_commit is not None:

        def send_then_run() -> Awaitable[None]:
            return _then_run(send_commit(), pending)

        setattr(conn, "send_commit", send_then_run)  # noqa: B010 - this one transaction only
        return
    commit = conn.commit

    async def commit_then_run() -> None:
        await _then_run(commit(), pending)

    setattr(conn, "commit", commit_then_run)  # noqa: B010 - this one transaction only


async def _then_run(committed: Awaitable[None] | None, pending: list[Callable[[], None]]) -> None:
    if committed is not None:
        await committed
    for run in pending:
        try:
            run()
        except Exception:  # one failing callback must not hide a commit
            log.exception("after-commit callback failed")
