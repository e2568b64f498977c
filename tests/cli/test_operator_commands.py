"""Operator commands that must not grow with the database or lose anything a ticket shows:
``tickets list`` (limited by default, streamed), ``gc`` and ``quarantine``."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from core.actors import CLI
from core.clock import FrozenClock
from core.errors import InvalidInput, NotFound
from core.storage.blobs.local import LocalBlobStore
from core.storage.models import (
    Attachment,
    Channel,
    InboundUpdate,
    OutboxMessage,
    OutboxStatus,
    Ticket,
)
from core.tickets import listing
from core.tickets.commands import NewAttachment, NewTicket
from housedesk.bootstrap import App
from housedesk.cli.main import build_parser
from tests.core import factories


async def housedesk(app: App, *argv: str) -> int:
    """Run one command as `housedesk ARGV` does, on the open test database."""
    args = build_parser().parse_args(list(argv))
    return int(await args.func(app, args))


async def _tickets(
    app: App, clock: FrozenClock, titles: list[str], step: timedelta = timedelta(minutes=1)
) -> list[Ticket]:
    await factories.building()
    await factories.category()
    made = []
    for title in titles:
        result = await app.tickets.create(
            NewTicket(
                category="technical",
                title=title,
                channel=Channel.CLI,
                actor=CLI,
                building="OAK",
                unit="1",
            )
        )
        made.append(result.ticket)
        clock.advance(step)
    return made


async def test_tickets_list_is_limited_by_default_and_streams_every_page(
    app: App,
    clock: FrozenClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _tickets(app, clock, [f"Ticket {n}" for n in range(1, 8)])
    monkeypatch.setattr(listing, "PAGE", 3)  # several pages, continued after the last row

    await housedesk(app, "tickets", "list", "--json", "--limit", "4")
    assert [t["title"] for t in json.loads(capsys.readouterr().out)] == [
        "Ticket 7",
        "Ticket 6",
        "Ticket 5",
        "Ticket 4",
    ]
    await housedesk(app, "tickets", "list", "--json", "--all")
    every = json.loads(capsys.readouterr().out)
    assert [t["ref"] for t in every] == [f"#{n}" for n in range(7, 0, -1)]
    await housedesk(app, "tickets", "list", "--limit", "0")
    assert len(capsys.readouterr().out.splitlines()) == 7
    await housedesk(app, "tickets", "list", "--json", "--status", "done")
    assert json.loads(capsys.readouterr().out) == []

    with pytest.raises(SystemExit):
        build_parser().parse_args(["tickets", "list", "--limit", "-1"])
    assert "must be 0 or more, not -1" in capsys.readouterr().err
    assert build_parser().parse_args(["tickets", "list"]).limit == 50


async def test_tickets_made_in_the_same_instant_are_listed_once_each_across_pages(
    app: App,
    clock: FrozenClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _tickets(app, clock, [f"Ticket {n}" for n in range(1, 8)], step=timedelta(0))
    monkeypatch.setattr(listing, "PAGE", 3)  # pages that end inside a run of equal times

    await housedesk(app, "tickets", "list", "--json", "--all")
    every = json.loads(capsys.readouterr().out)
    assert [t["ref"] for t in every] == [f"#{n}" for n in range(7, 0, -1)]


async def test_gc_purges_old_sent_rows_and_unused_blobs_but_nothing_a_ticket_shows(
    app: App, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    now = clock.now()
    shown, orphan, fresh, queued = [await app.blobs.put(f"blob {n}".encode()) for n in range(4)]
    disk = LocalBlobStore(app.settings.storage.blobs_dir)
    await factories.building()
    await factories.category()
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Photo of the leak",
            channel=Channel.CLI,
            actor=CLI,
            building="OAK",
            unit="1",
            attachments=[NewAttachment(shown.sha256, shown.size, "image/png", "leak.png")],
        )
    )
    old = (now - timedelta(days=3)).timestamp()
    for blob in (shown, orphan, queued):
        os.utime(disk.path(blob.sha256), (old, old))
    for key, status, sent_days_ago, payload in (
        ("old-sent", OutboxStatus.SENT, 40, {}),
        ("recent-sent", OutboxStatus.SENT, 10, {}),
        ("queued", OutboxStatus.PENDING, None, {"files": [{"sha256": queued.sha256}]}),
    ):
        await OutboxMessage.create(
            channel="email",
            recipient="tom@tenant.example",
            payload=payload,
            idempotency_key=key,
            status=status,
            next_attempt_at=now,
            created_at=now - timedelta(days=41),
            sent_at=None if sent_days_ago is None else now - timedelta(days=sent_days_ago),
        )
    outbox_before = await OutboxMessage.all().count()

    await housedesk(app, "gc", "--dry-run")
    assert capsys.readouterr().out.startswith(
        "would remove 1 sent outbox row(s), 0 handled update(s), 1 unreferenced blob(s)"
    )
    assert await OutboxMessage.all().count() == outbox_before
    assert disk.path(orphan.sha256).exists()

    await housedesk(app, "gc")
    assert capsys.readouterr().out.startswith("removed 1 sent outbox row(s)")
    keys = set(await OutboxMessage.all().values_list("idempotency_key", flat=True))
    assert "old-sent" not in keys and {"recent-sent", "queued"} <= keys
    assert not disk.path(orphan.sha256).exists()
    assert await app.blobs.read(fresh.sha256) == b"blob 2"  # written within the grace period
    assert await app.blobs.read(queued.sha256) == b"blob 3"  # an unsent message still needs it
    attached = await Attachment.filter(ticket_id=result.ticket.id).values_list("sha256", flat=True)
    assert attached == [shown.sha256]  # the ticket's file, read back whole
    assert await app.blobs.read(shown.sha256) == b"blob 0"


async def test_quarantine_list_show_retry_and_drop(
    app: App, clock: FrozenClock, capsys: pytest.CaptureFixture[str]
) -> None:
    now = clock.now()
    payload = {
        "update_id": 77,
        "message": {"from": {"id": 5550001, "first_name": "Mina"}, "text": "Lift is stuck"},
    }
    rows = [
        await InboundUpdate.create(
            bot="resident",
            update_id=update_id,
            payload={**payload, "update_id": update_id},
            attempts=5,
            last_error="RuntimeError: boom",
            received_at=now,
            next_attempt_at=now,
            quarantined_at=now,
        )
        for update_id in (77, 78)
    ]
    first, second = (f"update:{row.id}" for row in rows)

    await housedesk(app, "quarantine", "list")
    listed = capsys.readouterr().out
    assert first in listed and second in listed and "Mina (id 5550001): Lift is stuck" in listed
    await housedesk(app, "quarantine", "show", first)
    shown = capsys.readouterr().out
    assert "failed 5 times, last: RuntimeError: boom" in shown and '"update_id": 77' in shown

    await housedesk(app, "quarantine", "retry", first)
    assert capsys.readouterr().out == f"{first} is out of the quarantine and handled again\n"
    again = await InboundUpdate.get(id=rows[0].id)
    assert again.quarantined_at is None and again.attempts == 0
    await housedesk(app, "quarantine", "drop", second)
    assert capsys.readouterr().out == f"{second} dropped\n"
    assert await InboundUpdate.filter(id=rows[1].id).count() == 0
    await housedesk(app, "quarantine", "list", "--json")
    assert json.loads(capsys.readouterr().out) == []

    with pytest.raises(NotFound):
        await housedesk(app, "quarantine", "show", second)
    with pytest.raises(InvalidInput):
        await housedesk(app, "quarantine", "retry", "mail")
