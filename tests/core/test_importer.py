"""Directory import: idempotent, atomic, and precise about bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.storage.models import (
    Building,
    Category,
    Contact,
    ContactKind,
    DutyRoster,
    Person,
    Role,
    Unit,
)
from presentation.directory_file import import_directory_file
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "directory.toml"


async def test_example_directory_imports_and_reimports_unchanged(db: str) -> None:
    first = await import_directory_file(EXAMPLE)
    assert first["created"] > 0 and first["updated"] == 0
    assert await Building.all().count() == 2
    assert await Unit.filter(building__code="OAK").count() == 41  # 1-40 and shop-1
    assert set(await Category.all().values_list("code", flat=True)) >= {
        "emergency",
        "technical",
        "billing",
        "administration",
    }
    emergency = await Category.get(code="emergency")
    assert (emergency.response_minutes, emergency.names["ru"]) == (30, "Аварийная")
    bob = await Person.get(name="Bob Plumber")
    assert bob.role == Role.TECHNICIAN and bob.trades == ["plumbing", "general"]
    assert [b.code for b in await bob.buildings.all()] == ["OAK"]
    roster = await DutyRoster.get(name="oak-after-hours")
    assert roster.member_ids[0] == bob.id

    snapshot = await _snapshot()
    second = await import_directory_file(EXAMPLE)
    assert (second["created"], second["updated"]) == (0, 0)
    assert await _snapshot() == snapshot


async def _snapshot() -> tuple[int, ...]:
    return (
        await Building.all().count(),
        await Unit.all().count(),
        await Person.all().count(),
        await Contact.all().count(),
        await Category.all().count(),
        await DutyRoster.all().count(),
    )


async def test_changed_row_is_updated(db: str, tmp_path: Path) -> None:
    await import_directory_file(EXAMPLE)
    changed = tmp_path / "d.toml"
    changed.write_text(EXAMPLE.read_text().replace('name = "Oak Court"', 'name = "Oak Court East"'))
    report = await import_directory_file(changed)
    assert report["updated"] == 1
    assert (await Building.get(code="OAK")).name == "Oak Court East"


BAD = """
[[buildings]]
code = "AAA"
name = "Fine"

[[buildings]]
code = "BBB"
name = "Bad timezone"
timezone = "Mars/Olympus"
"""


async def test_bad_row_names_its_line_and_nothing_is_applied(db: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(BAD)
    with pytest.raises(InvalidInput, match=r"line 6: \[\[buildings\]\] timezone: .*Mars/Olympus"):
        await import_directory_file(path)
    assert await Building.all().count() == 0


async def test_unknown_reference_rolls_back_everything(db: str, tmp_path: Path) -> None:
    path = tmp_path / "ref.toml"
    path.write_text(
        '[[buildings]]\ncode = "AAA"\nname = "A"\n\n'
        '[[staff]]\nname = "X"\nrole = "technician"\nbuildings = ["NOPE"]\n'
    )
    with pytest.raises(InvalidInput, match="unknown building 'NOPE'"):
        await import_directory_file(path)
    assert await Building.all().count() == 0 and await Person.all().count() == 0


async def test_unknown_key_is_an_error(db: str, tmp_path: Path) -> None:
    path = tmp_path / "key.toml"
    path.write_text('[[categories]]\ncode = "x"\ncolour = "red"\n')
    with pytest.raises(InvalidInput, match=r"line 1: \[\[categories\]\] colour: Extra inputs"):
        await import_directory_file(path)


async def test_telegram_id_is_the_files_word_for_a_chat_account(db: str, tmp_path: Path) -> None:
    path = tmp_path / "chat.toml"
    path.write_text(
        '[[buildings]]\ncode = "AAA"\nname = "A"\nunits = ["1"]\n\n'
        '[[residents]]\nname = "Tom"\nbuilding = "AAA"\nunits = ["1"]\ntelegram_id = 5001\n'
    )
    await import_directory_file(path)
    [contact] = await Contact.filter(person__name="Tom")
    assert (contact.kind, contact.value) == (ContactKind.CHAT, "5001")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('telegram_id = "tom"', r"line 1: \[\[staff\]\] telegram_id: Input should be a valid int"),
        ("chat_id = 5001", r"line 1: \[\[staff\]\] chat_id: Extra inputs are not permitted"),
    ],
)
async def test_chat_account_errors_name_the_files_key(
    db: str, tmp_path: Path, row: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[[staff]]\nname = "X"\n{row}\n')
    with pytest.raises(InvalidInput, match=message):
        await import_directory_file(path)
