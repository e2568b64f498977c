"""The daily clean-up runs once a day across processes and restarts: its run is claimed in
the database, not remembered in a process (a new process, or a new leader, would run it
again). ``test_polling_hand_over.py`` shows it with real processes and a new leader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.storage import job_runs
from core.storage.blobs import BlobStore
from core.storage.models import InboundUpdate
from housedesk.bootstrap import App
from housedesk.gc_job import DailyGc
from housedesk.settings.config import Settings

DAY = datetime(2026, 12, 4, tzinfo=UTC)


def _process(settings: Settings, blobs: BlobStore, node: str) -> DailyGc:
    """The clean-up job as a freshly started process ``node`` builds it."""
    return DailyGc(settings, blobs, node)


async def _old_update(update_id: int, now: datetime) -> None:
    """A chat update handled a month ago: what the clean-up removes."""
    then = now - timedelta(days=30)
    await InboundUpdate.create(
        bot="resident", update_id=update_id, received_at=then, next_attempt_at=then, handled_at=then
    )


async def _updates() -> set[int]:
    return set(await InboundUpdate.all().values_list("update_id", flat=True))


async def test_the_days_clean_up_runs_on_one_process_once_and_not_again_after_a_restart(
    app: App, settings: Settings
) -> None:
    first = _process(settings, app.blobs, "node-a")
    second = _process(settings, app.blobs, "node-b")
    at = datetime.combine(DAY.date(), first.at, tzinfo=first.zone) + timedelta(minutes=1)
    await _old_update(1, at)

    assert await first(at) == 1
    assert await _updates() == set()
    await _old_update(2, at)
    assert await second(at + timedelta(minutes=5)) == 0  # another process: done today
    restarted = _process(settings, app.blobs, "node-a")
    assert await restarted(at + timedelta(hours=2)) == 0  # the same process after a restart
    assert await _updates() == {2}
    run = await job_runs.last_run("gc")
    assert run is not None
    assert (run.node, run.period, run.done) == ("node-a", at.date().isoformat(), 1)

    tomorrow = at + timedelta(days=1)
    assert await second(tomorrow) == 1
    assert await first(tomorrow + timedelta(minutes=1)) == 0
    assert await _updates() == set()
    run = await job_runs.last_run("gc")
    assert run is not None and (run.node, run.period) == ("node-b", tomorrow.date().isoformat())


async def test_a_run_cut_off_is_taken_again_by_the_next_process(
    app: App, settings: Settings
) -> None:
    crashed = _process(settings, app.blobs, "node-a")
    at = datetime.combine(DAY.date(), crashed.at, tzinfo=crashed.zone) + timedelta(minutes=1)
    period = at.date().isoformat()
    assert await job_runs.claim("gc", period, "node-a", at)  # then node-a was killed
    await _old_update(1, at)

    assert await _process(settings, app.blobs, "node-b")(at + timedelta(minutes=1)) == 1
    assert await _updates() == set()
    run = await job_runs.last_run("gc")
    assert run is not None and run.node == "node-b" and run.finished_at is not None
    assert not await job_runs.finish("gc", period, "node-a", at, 0)  # the dead run's is gone
    assert not await job_runs.claim("gc", period, "node-a", at + timedelta(hours=1))
