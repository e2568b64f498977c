"""An announcement to a big building and a big directory import are written in batches,
each in a transaction of its own, with the same result as one transaction."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.actors import Actor
from core.directory import importer
from core.errors import InvalidInput
from core.operations import announcements
from core.operations.announcements import Announcer, Draft
from core.storage.models import OutboxMessage, Person, Role
from housedesk.bootstrap import App
from presentation.directory_file import import_directory_file
from tests.core import factories
from tests.core.ops_world import build_world


async def test_a_big_announcement_is_written_in_batches_in_order(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(announcements, "BATCH", 3)
    world = await build_world()
    flats = await world.oak.units.filter(number__in=[str(n) for n in range(4, 12)]).order_by("id")
    for n, flat in enumerate(flats):
        resident = await factories.person(f"Resident {n}", telegram=str(7000 + n))
        await resident.units.add(flat)

    now = app.clock.now()
    result = await Announcer(app.clock, mail_domain="oak.example").announce(
        Draft("Lift maintenance on Monday.", "OAK"), Actor.of(world.alice)
    )

    assert (result.chat, result.email, result.unreachable) == (9, 0, 0)  # Tom too
    rows = await OutboxMessage.filter(idempotency_key__startswith="announce:").order_by(
        "next_attempt_at"
    )
    assert [r.next_attempt_at - now for r in rows] == [
        timedelta(seconds=i / 10) for i in range(9)
    ]  # one after another across the batches
    assert sorted(r.recipient for r in rows) == sorted(["5001", *(str(7000 + n) for n in range(8))])


def _directory(residents: list[tuple[str, str]]) -> str:
    lines = ['[[buildings]]\ncode = "AAA"\nname = "A House"\nunits = ["1-6"]\n']
    for name, unit in residents:
        lines.append(f'[[residents]]\nname = "{name}"\nbuilding = "AAA"\nunits = ["{unit}"]\n')
    return "\n".join(lines)


async def test_a_directory_is_imported_in_batches_and_a_wrong_flat_refused_first(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)
    path = tmp_path / "directory.toml"
    path.write_text(_directory([(f"Resident {n}", str(n)) for n in range(1, 6)]))
    report = await import_directory_file(path)
    assert report["created"] == 6  # the building and five residents
    residents = await Person.filter(role=Role.RESIDENT).order_by("id").prefetch_related("units")
    assert [(p.name, [u.number for u in p.units]) for p in residents] == [
        (f"Resident {n}", [str(n)]) for n in range(1, 6)
    ]

    path.write_text(_directory([("Newcomer 1", "6"), ("Newcomer 2", "6"), ("Newcomer 3", "99")]))
    with pytest.raises(InvalidInput, match="resident 'Newcomer 3': no unit '99' in AAA"):
        await import_directory_file(path)
    assert not await Person.filter(name__startswith="Newcomer").exists()  # nothing written
