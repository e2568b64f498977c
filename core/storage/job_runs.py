"""Runs of periodic jobs owed once per period (a day, say), kept in the database.

A process about to run such a job first *claims* the period (:func:`claim`): one statement
that succeeds only when no run for that period has finished, so a restart, a new leader or
a second process finds the day's run done and skips it. A claimed run that never finished
(its process died, or the job failed) may be claimed again: callers claim only while they
hold the job's scheduler lock (:mod:`housedesk.scheduler`), so an unfinished run found then
is not running anywhere.
"""

from __future__ import annotations

from datetime import datetime

from core.storage.models import JobRun
from core.storage.rawsql import fetch

_CLAIM = (
    'INSERT INTO "job_run" ("job", "period", "node", "started_at", "finished_at", "done")'
    " VALUES (:job, :period, :node, :now, NULL, NULL)"
    ' ON CONFLICT ("job") DO UPDATE SET "period" = excluded."period", "node" = excluded."node",'
    ' "started_at" = excluded."started_at", "finished_at" = NULL, "done" = NULL'
    ' WHERE "job_run"."period" <> excluded."period" OR "job_run"."finished_at" IS NULL'
    ' RETURNING "job"'
)
_FINISH = (
    'UPDATE "job_run" SET "finished_at" = :now, "done" = :done'
    ' WHERE "job" = :job AND "period" = :period AND "node" = :node RETURNING "job"'
)


def _at(now: datetime) -> object:
    return JobRun._meta.fields_map["started_at"].to_db_value(now, JobRun)


async def claim(job: str, period: str, node: str, now: datetime) -> bool:
    """Take ``job``'s run for ``period`` for ``node``; False when it has run already."""
    return bool(await fetch(_CLAIM, job=job, period=period, node=node, now=_at(now)))


async def finish(job: str, period: str, node: str, now: datetime, done: int) -> bool:
    """Record that ``node``'s run of ``job`` for ``period`` finished, having done ``done``;
    False when the run is no longer this node's."""
    found = await fetch(_FINISH, job=job, period=period, node=node, now=_at(now), done=done)
    return bool(found)


async def last_run(job: str) -> JobRun | None:
    """The last claimed run of ``job``, finished or not."""
    return await JobRun.get_or_none(job=job)
