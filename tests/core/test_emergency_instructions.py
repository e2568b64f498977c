"""Emergency instructions per language: from the directory file (a table by language, or one
text in the building's language), and from a database upgraded past migration 0012."""

from __future__ import annotations

from tortoise import connections
from tortoise.migrations.api import migrate

from core.storage.db import close_db, migrate_db, open_db, pending_migrations, tortoise_config
from core.storage.models import Building
from presentation.directory_file import import_directory_file
from tests.bots.support import EXAMPLE_DIRECTORY
from tests.core.test_migrations import empty_url  # noqa: F401  (the fixture)


async def test_one_text_is_kept_in_the_buildings_language(empty_url: str) -> None:  # noqa: F811
    await migrate(config=tortoise_config(empty_url), target="models.0011_resident_verification")
    conn = connections.get("default")
    await conn.execute_script(
        "INSERT INTO building (code, name, address, timezone, language, emergency_instructions,"
        " hours, holidays) VALUES"
        " ('LIPA', 'Lipa', '', 'UTC', 'ru', 'Перекройте воду.', '{}', '[]'),"
        " ('OAK', 'Oak', '', 'UTC', 'en', '', '{}', '[]');"
        "INSERT INTO unit (building_id, number) VALUES (1, '7');"
    )
    await close_db()

    await migrate_db(empty_url)

    await open_db(empty_url)
    assert await pending_migrations() == []
    lipa, oak = await Building.all().order_by("id")
    assert (lipa.emergency_instructions, oak.emergency_instructions) == (
        {"ru": "Перекройте воду."},
        {},
    )
    assert lipa.emergency_instructions_in("pl") == "Перекройте воду."
    assert oak.emergency_instructions_in("en") == ""
    await close_db()


async def test_the_directory_gives_instructions_by_language_or_in_the_buildings(db: str) -> None:
    await import_directory_file(EXAMPLE_DIRECTORY)
    oak = await Building.get(code="OAK")
    lipa = await Building.get(code="LIPA")
    assert sorted(oak.emergency_instructions) == ["en", "no", "pl", "ru", "zh"]
    assert oak.emergency_instructions_in("pl").startswith("Zakręć wodę")
    assert oak.emergency_instructions_in("de").startswith("Turn off the water")
    assert list(lipa.emergency_instructions) == ["ru"]
    assert lipa.emergency_instructions_in("en").startswith("Перекройте воду")
    assert (await import_directory_file(EXAMPLE_DIRECTORY))["updated"] == 0
