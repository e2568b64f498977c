"""The managers' daily digest goes out once a day, after the configured local time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from core.actors import Actor
from core.operations.jobs import DigestPolicy, Operations
from core.storage.models import OutboxMessage, Person, Status
from housedesk.bootstrap import App
from tests.core.ops_world import build_world, new_ticket, routed


async def test_digest_once_a_day_after_eight_local_time(app: App) -> None:
    world = await build_world()
    operations = Operations(routed(app.tickets), digest=DigestPolicy(time(8, 0), "Europe/Moscow"))
    app.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))  # Tuesday
    done = await new_ticket(app.tickets, world, "emergency", title="Leak in flat 3")
    await app.tickets.change_status(done.id, Actor.of(world.bob), Status.DONE)
    await new_ticket(app.tickets, world, "technical", title="Door handle loose")

    app.clock.set(datetime(2026, 11, 25, 4, 59, tzinfo=UTC))  # 07:59 in Moscow
    assert (await operations.tick(app.clock.now()))["digest"] == 0
    app.clock.set(datetime(2026, 11, 25, 5, 0, tzinfo=UTC))  # 08:00 in Moscow
    assert (await operations.tick(app.clock.now()))["digest"] == 1
    app.clock.advance(timedelta(hours=3))
    assert (await operations.tick(app.clock.now()))["digest"] == 0

    [digest] = await OutboxMessage.filter(idempotency_key__startswith="digest:")
    assert (digest.recipient, digest.idempotency_key) == (
        "9006",
        f"digest:2026-11-25:{world.alice.id}",
    )
    assert digest.payload["text"] == "\n".join(
        [
            "Daily digest for November 25, 2026",
            "Yesterday: 2 new requests, 1 resolved.",
            "Now: 1 open request, 1 of them overdue.",
            "#2 Door handle loose: Bob Plumber, 15 h 0 min late",
        ]
    )

    await Person.filter(id=world.alice.id).update(language="ru")
    app.clock.set(datetime(2026, 11, 26, 5, 0, tzinfo=UTC))
    assert (await operations.tick(app.clock.now()))["digest"] == 1
    russian = await OutboxMessage.get(idempotency_key=f"digest:2026-11-26:{world.alice.id}")
    assert str(russian.payload["text"]).startswith("Ежедневная сводка за 26 ноября 2026\u202fг.\n")
