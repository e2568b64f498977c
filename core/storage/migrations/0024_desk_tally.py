"""SQLite keeps a tally of the tickets created in each hour (``ticket_tally``), so a report
(the desk's monitor, ``housedesk report``) reads a few hundred tally rows for a day instead
of grouping every ticket of it five ways, and one of the open tickets
(``ticket_open_tally``), so the monitor's open-now figures read the tickets whose deadline
is near alone (#17).

A row per hour (UTC, counted since the epoch), dimension (status, category, building,
channel, assignee) and value (for ``assignee`` also the ticket's status) holds the figures
that do not depend on the time of asking: tickets, open ones, deadlines met, deadlines
missed for good, ratings. Triggers keep it in the transaction of every insert, change and
delete of a ticket, whichever code writes it. The open tickets' tally holds their number
and how many need attention by status, category, building and assignee. Which deadlines count as missed or met is
:mod:`core.reports.figures`'s rule with "now" left out: a change to that rule needs a
migration that rebuilds this table. PostgreSQL has no tally: there every writer would wait
for the same few rows, and it groups a day's tickets in time without one.
"""

from tortoise import migrations

from core.storage.migration_ops import PerDialectSQL

_OPEN = "({t}.status IN ('in_progress', 'new', 'on_hold', 'reopened'))"
_MISSED = (
    "({t}.status <> 'rejected' AND"
    " (COALESCE({t}.response_due_at < COALESCE({t}.first_response_at, {t}.resolved_at), FALSE)"
    " OR COALESCE({t}.due_at < {t}.resolved_at, FALSE)))"
)
"""Missed whatever the time: a deadline passed before it was met."""
_MET = (
    "({t}.status <> 'rejected'"
    " AND NOT COALESCE({t}.response_due_at < COALESCE({t}.first_response_at, {t}.resolved_at),"
    " FALSE) AND NOT COALESCE({t}.due_at < {t}.resolved_at, FALSE)"
    " AND ({t}.response_due_at IS NOT NULL OR {t}.due_at IS NOT NULL)"
    " AND ({t}.response_due_at IS NULL"
    " OR COALESCE({t}.first_response_at, {t}.resolved_at) IS NOT NULL)"
    " AND ({t}.due_at IS NULL OR {t}.resolved_at IS NOT NULL))"
)
_DIMENSIONS = (
    ("status", "{t}.status", "''"),
    ("category", "COALESCE({t}.category_id, '')", "''"),
    ("building", "COALESCE({t}.building_id, '')", "''"),
    ("channel", "{t}.channel", "''"),
    ("assignee", "COALESCE({t}.assignee_id, '')", "{t}.status"),
)
_COUNTS = ("n", "open", "met", "missed", "rating_sum", "rated")
_UPSERT = (
    f"INSERT INTO ticket_tally (dimension, hour, value, status, {', '.join(_COUNTS)})"
    " VALUES {rows} ON CONFLICT (dimension, hour, value, status) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in _COUNTS)
)


def _values(t: str, sign: str) -> str:
    """One VALUES row per dimension: what the ticket ``t`` (NEW or OLD) adds (sign ``+``)
    or takes away (``-``)."""
    counts = ", ".join(
        f"{sign}{expr}"
        for expr in (
            "1",
            f"({_OPEN})",
            f"({_MET})",
            f"({_MISSED})",
            "COALESCE({t}.rating, 0)",
            "({t}.rating IS NOT NULL)",
        )
    )
    hour = "unixepoch({t}.created_at) / 3600"
    rows = ", ".join(
        f"('{name}', {hour}, {value}, {status}, {counts})" for name, value, status in _DIMENSIONS
    )
    return _UPSERT.format(rows=rows).replace("{t}", t)


_WATCHED = (
    "created_at, status, category_id, building_id, channel, assignee_id, rating,"
    " response_due_at, due_at, first_response_at, resolved_at"
)


def _backfill(name: str, value: str, status: str) -> str:
    """The dimension's tally of the tickets already there."""
    value, status = value.replace("{t}.", ""), status.replace("{t}.", "")
    flags = ", ".join(
        f"SUM({expr.replace('{t}.', '')})" for expr in (f"({_OPEN})", f"({_MET})", f"({_MISSED})")
    )
    return (
        f"INSERT INTO ticket_tally (dimension, hour, value, status, {', '.join(_COUNTS)})"
        f" SELECT '{name}', unixepoch(created_at) / 3600 AS h, {value} AS v, {status} AS s,"
        f" COUNT(*), {flags}, COALESCE(SUM(rating), 0), COUNT(rating)"
        " FROM ticket GROUP BY h, v, s"
    )


_OPEN_DIMENSIONS = ("status", "category_id", "building_id", "assignee_id")
_OPEN_UPSERT = (
    "INSERT INTO ticket_open_tally (dimension, value, n, attention)"
    " SELECT * FROM (VALUES {rows}) WHERE {open}"
    " ON CONFLICT (dimension, value) DO UPDATE SET"
    " n = n + excluded.n, attention = attention + excluded.attention"
)


def _open_values(t: str, sign: str) -> str:
    """What the ticket ``t`` adds to (``+``) or takes from (``-``) the open tickets' tally,
    when it is open."""
    attention = f"{sign}({{t}}.needs_attention <> '')"
    rows = ", ".join(
        f"('{name}', COALESCE({{t}}.{name}, ''), {sign}1, {attention})" for name in _OPEN_DIMENSIONS
    )
    return _OPEN_UPSERT.format(rows=rows, open=_OPEN).replace("{t}", t)


def _open_backfill(name: str) -> str:
    return (
        "INSERT INTO ticket_open_tally (dimension, value, n, attention)"
        f" SELECT '{name}', COALESCE({name}, '') AS v, COUNT(*), SUM(needs_attention <> '')"
        f" FROM ticket WHERE {_OPEN.replace('{t}.', '')} GROUP BY v"
    )


TALLY = {
    "sqlite": [
        "CREATE TABLE ticket_tally (dimension TEXT NOT NULL, hour INTEGER NOT NULL,"
        " value NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL, open INTEGER NOT NULL,"
        " met INTEGER NOT NULL, missed INTEGER NOT NULL, rating_sum INTEGER NOT NULL,"
        " rated INTEGER NOT NULL, PRIMARY KEY (dimension, hour, value, status)) WITHOUT ROWID",
        *(_backfill(*dimension) for dimension in _DIMENSIONS),
        f"CREATE TRIGGER ticket_tally_insert AFTER INSERT ON ticket BEGIN"
        f" {_values('NEW', '+')}; END",
        f"CREATE TRIGGER ticket_tally_delete AFTER DELETE ON ticket BEGIN"
        f" {_values('OLD', '-')}; END",
        f"CREATE TRIGGER ticket_tally_update AFTER UPDATE OF {_WATCHED} ON ticket BEGIN"
        f" {_values('OLD', '-')}; {_values('NEW', '+')}; END",
        "CREATE TABLE ticket_open_tally (dimension TEXT NOT NULL, value NOT NULL,"
        " n INTEGER NOT NULL, attention INTEGER NOT NULL, PRIMARY KEY (dimension, value))"
        " WITHOUT ROWID",
        *(_open_backfill(name) for name in _OPEN_DIMENSIONS),
        f"CREATE TRIGGER ticket_open_tally_insert AFTER INSERT ON ticket BEGIN"
        f" {_open_values('NEW', '+')}; END",
        f"CREATE TRIGGER ticket_open_tally_delete AFTER DELETE ON ticket BEGIN"
        f" {_open_values('OLD', '-')}; END",
        "CREATE TRIGGER ticket_open_tally_update AFTER UPDATE OF"
        " status, category_id, building_id, assignee_id, needs_attention ON ticket BEGIN"
        f" {_open_values('OLD', '-')}; {_open_values('NEW', '+')}; END",
    ],
}
NO_TALLY = {
    "sqlite": [
        "DROP TRIGGER ticket_open_tally_update",
        "DROP TRIGGER ticket_open_tally_delete",
        "DROP TRIGGER ticket_open_tally_insert",
        "DROP TABLE ticket_open_tally",
        "DROP TRIGGER ticket_tally_update",
        "DROP TRIGGER ticket_tally_delete",
        "DROP TRIGGER ticket_tally_insert",
        "DROP TABLE ticket_tally",
    ],
}


class Migration(migrations.Migration):
    dependencies = [("models", "0023_incident_notices")]

    initial = False

    operations = [PerDialectSQL(TALLY, reverse_sql=NO_TALLY)]
