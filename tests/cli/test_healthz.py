"""``GET /healthz`` as a monitor reads it: the database, the outbox, the scheduler, channels."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from core.clock import FrozenClock
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import enqueue
from core.messaging.routes import Route
from core.storage.models import InboundUpdate
from housedesk.bootstrap import App, bootstrap
from housedesk.channels.email import register_mail_sender
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


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_relay_that_is_not_there_shows_as_a_failing_lane_with_its_backlog(
    db: str, settings: Settings, clock: FrozenClock
) -> None:
    email = settings.email.model_copy(
        update={"outgoing": settings.email.outgoing.model_copy(update={"port": _closed_port()})}
    )
    app = bootstrap(settings.model_copy(update={"email": email}), clock=clock)
    register_mail_sender(app)
    for n in range(2):
        await enqueue(
            route=Route.EMAIL,
            recipient=f"tenant{n}@example.com",
            message=OutgoingMessage(
                f"Your request #{n} is registered", message_id=f"<ack{n}@oak.example>"
            ),
            key=f"healthz-{n}",
            now=clock.now(),
        )
    status, body = await _health(app)
    assert status == 200 and body["status"] == "ok"
    assert body["lanes"]["email"] == {
        "state": "up",
        "pending": 2,
        "due": 2,
        "oldest_due_at": clock.now().isoformat(),
        "oldest_due_waiting_s": 0,
    }

    clock.advance(timedelta(seconds=90))
    await app.outbox.run_once()  # both sends are refused: nobody listens on the port
    status, body = await _health(app)
    lane = body["lanes"]["email"]
    assert status == 200 and body["status"] == "degraded"
    assert lane["state"] == "failing" and lane["since"] == clock.now().isoformat()
    assert lane["error"]  # the relay's refusal, one line
    assert lane["pending"] == 2 and lane["due"] == 0  # both wait for their retry
    assert body["quarantined"] == 0 and body["scheduler_last_round"] is None


async def test_the_scheduler_round_and_the_quarantine_are_counted(
    db: str, settings: Settings, clock: FrozenClock
) -> None:
    settings = settings.model_copy(
        update={"operations": settings.operations.model_copy(update={"scheduler_enabled": True})}
    )
    app = bootstrap(settings, clock=clock)
    assert app.scheduler is not None
    await app.scheduler.tick()
    await InboundUpdate.create(
        bot="resident",
        update_id=91,
        payload={"update_id": 91},
        attempts=5,
        last_error="RuntimeError: boom",
        received_at=clock.now(),
        next_attempt_at=clock.now(),
        quarantined_at=clock.now(),
    )
    _, body = await _health(app)
    last = body["scheduler_last_round"]
    assert last["at"] == clock.now().isoformat() and last["seconds"] >= 0
    assert body["quarantined"] == 1
