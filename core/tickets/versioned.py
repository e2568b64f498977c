"""Optimistic concurrency for tickets: write only the changed columns, only on the copy read.

Every change to a ticket is one ``UPDATE ticket SET <changed columns>, version = version + 1
WHERE id = :id AND version = :seen``. When another change was committed since the copy was
read, no row matches and :class:`~core.errors.StaleTicket` is raised: the caller's
transaction then rolls back, so a change made on a stale copy writes nothing at all.

On PostgreSQL a concurrent writer waits for the row lock of the first and then finds the
version moved on; on SQLite one write transaction runs at a time, so the second simply
finds the new version.
"""

from __future__ import annotations

from functools import cache

from core.errors import StaleTicket
from core.storage.models import Ticket
from core.storage.rawsql import fetch


@cache
def _update_sql(columns: tuple[str, ...]) -> str:
    """The version-checked UPDATE of ``columns`` (each bound as ``:c_<column>``)."""
    assignments = ", ".join(f'"{c}" = :c_{c}' for c in columns)
    return (
        f'UPDATE "ticket" SET {assignments}, "version" = "version" + 1'
        ' WHERE "id" = :ticket_id AND "version" = :seen RETURNING "version"'
    )


@cache
def _data_field(name: str) -> str:
    """The field holding the column's value (a relation's name gives its ``<name>_id``)."""
    meta = Ticket._meta
    if name in meta.fk_fields:
        name = str(meta.fields_map[name].source_field)
    if name not in meta.fields_db_projection or name in ("id", "version"):
        raise TypeError(f"not a changeable ticket field: {name}")
    return name


async def save_changes(ticket: Ticket, *names: str) -> None:
    """Write ``names`` (fields of ``ticket``, as it holds them now) if nobody changed the
    ticket since it was read; raise :class:`StaleTicket` otherwise. Call it inside the
    change's transaction. ``ticket.version`` becomes the new version."""
    meta = Ticket._meta
    data = tuple(dict.fromkeys(_data_field(n) for n in names))
    columns = tuple(meta.fields_db_projection[f] for f in data)
    values = {
        f"c_{column}": meta.fields_map[field].to_db_value(getattr(ticket, field), ticket)
        for field, column in zip(data, columns, strict=True)
    }
    rows = await fetch(_update_sql(columns), ticket_id=ticket.id, seen=ticket.version, **values)
    if not rows:
        raise StaleTicket(ticket.id)
    ticket.version = int(rows[0]["version"])
