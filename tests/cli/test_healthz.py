"""``GET /healthz`` as a monitor reads it: the database, the outbox, the scheduler, channels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from core.clock import FrozenClock
from housedesk.bootstrap import App, bootstrap
from housedesk.channels.http import build_http_app
from housedesk.settings.config import Settings


async def _health(app: App) -> tuple[int, dict[str, Any]]:
    async with TestClient(TestServer(build_http_app(app))) as client:
        response = await client.get("/healthz")
        return response.status, await response.json()


async def test_a_process_without_the_scheduler_says_it_is_off(app: App) -> None:
    status, body = await _health(app)
    assert status == 200
    assert body["status"] == "ok" and body["database"] == "up"
    assert body["scheduler"] == "off"


async def test_the_scheduler_shows_failing_after_a_failed_tick_and_up_again_after_a_good_one(
    db: str, settings: Settings, clock: FrozenClock
) -> None:
    settings = settings.model_copy(
        update={"operations": settings.operations.model_copy(update={"scheduler_enabled": True})}
    )
    app = bootstrap(settings, clock=clock)
    assert app.scheduler is not None
    assert (await _health(app))[1]["scheduler"] == "up"

    async def database_away(now: datetime) -> int:
        raise ConnectionError("database away")

    real_jobs = app.scheduler.jobs
    app.scheduler.jobs = {**real_jobs, "digest": database_away}
    assert (await app.scheduler.tick())["digest"] is None
    status, body = await _health(app)
    assert status == 200 and body["scheduler"] == "failing"

    app.scheduler.jobs = real_jobs
    await app.scheduler.tick()
    assert (await _health(app))[1]["scheduler"] == "up"
