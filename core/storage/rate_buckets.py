"""Token buckets in PostgreSQL that every process takes from: one sending budget for a
cluster instead of one per process.

A bucket holds up to ``capacity`` tokens and gains ``per_second`` of them a second. Taking
one is one statement that refills the bucket by the time elapsed on the database's clock (so
no machine's clock matters) and takes a token, possibly going below zero: a negative count
is a reservation, and the taker waits until its token has been earned. A bucket may also be
held (:func:`hold`, e.g. the other side asked to wait): every taker waits until then.

A bucket that is full again and not held is the same as no bucket (the next take creates it
full), so idle ones are purged (:func:`purge_idle`, in the daily clean-up): buckets per chat
would otherwise grow without bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tortoise import connections

_TAKE = (
    'INSERT INTO "rate_bucket" AS "b" ("key", "capacity", "per_second", "tokens", "stamp")'
    " SELECT k, c, r, c - 1, clock_timestamp()"
    " FROM unnest($1::text[], $2::float8[], $3::float8[]) AS t(k, c, r)"
    ' ON CONFLICT ("key") DO UPDATE SET'
    ' "tokens" = LEAST(EXCLUDED."capacity", "b"."tokens"'
    ' + EXTRACT(EPOCH FROM clock_timestamp() - "b"."stamp") * EXCLUDED."per_second") - 1,'
    ' "stamp" = clock_timestamp(), "capacity" = EXCLUDED."capacity",'
    ' "per_second" = EXCLUDED."per_second"'
    ' RETURNING GREATEST(-"b"."tokens" / "b"."per_second",'
    ' COALESCE(EXTRACT(EPOCH FROM "b"."held_until" - clock_timestamp()), 0), 0) AS "wait"'
)
_HOLD = (
    'UPDATE "rate_bucket" SET "held_until" = GREATEST(COALESCE("held_until",'
    " clock_timestamp()), clock_timestamp() + make_interval(secs => $2))"
    ' WHERE "key" = $1'
)
_IDLE = (
    ' "stamp" < clock_timestamp() - make_interval(secs => $1)'
    ' AND ("held_until" IS NULL OR "held_until" < clock_timestamp())'
    ' AND "tokens" + EXTRACT(EPOCH FROM clock_timestamp() - "stamp") * "per_second"'
    ' >= "capacity"'
)
_COUNT_IDLE = f'SELECT count(*) AS "n" FROM "rate_bucket" WHERE{_IDLE}'
_PURGE_IDLE = (  # the conditions again outside: a take meanwhile keeps its bucket
    'DELETE FROM "rate_bucket" WHERE "key" IN'
    f' (SELECT "key" FROM "rate_bucket" WHERE{_IDLE} LIMIT $2) AND{_IDLE}'
)
BATCH = 500


@dataclass(frozen=True)
class Bucket:
    """A bucket by name: at most ``capacity`` at once, ``per_second`` on average."""

    key: str
    capacity: float
    per_second: float


async def take(buckets: Sequence[Bucket]) -> float:
    """Take a token from each of ``buckets`` (one statement, PostgreSQL only); return the
    seconds to wait before using them."""
    rows = await connections.get("default").execute_query_dict(
        _TAKE,
        [
            [b.key for b in buckets],
            [float(b.capacity) for b in buckets],
            [float(b.per_second) for b in buckets],
        ],
    )
    return max((float(row["wait"]) for row in rows), default=0.0)


async def hold(key: str, seconds: float) -> None:
    """Nobody takes from bucket ``key`` for ``seconds`` from now."""
    await connections.get("default").execute_query(_HOLD, [key, float(seconds)])


async def purge_idle(idle_s: float, *, dry_run: bool = False) -> int:
    """Delete the buckets that are full, not held and untouched for ``idle_s`` seconds (by
    the database's clock), in batches; how many (with ``dry_run``, would be). Nothing on
    SQLite, where no process takes from buckets."""
    db = connections.get("default")
    if db.capabilities.dialect != "postgres":
        return 0
    if dry_run:
        rows = await db.execute_query_dict(_COUNT_IDLE, [float(idle_s)])
        return int(rows[0]["n"])
    total = 0
    while deleted := (await db.execute_query(_PURGE_IDLE, [float(idle_s), BATCH]))[0]:
        total += deleted
    return total
