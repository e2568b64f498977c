"""A new SQLite database is private: the file and its -wal/-shm files 0600, its directory
0700, whatever the process umask (the CLI sets 077; a library user may not)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from core.storage.models import Building

pytestmark = pytest.mark.sqlite_only


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_a_new_database_and_its_side_files_are_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "data" / "housedesk.sqlite3"
    url = sqlite_url(f"sqlite://{path}")
    previous = os.umask(0o022)  # the usual login umask: files 0644 unless made private
    try:
        await migrate_db(url)
        await open_db(url)
        try:
            await Building.create(code="OAK", name="Oak House")
            side_files = [Path(f"{path}-wal"), Path(f"{path}-shm")]
            modes = {p.name: _mode(p) for p in (path, *side_files)}
        finally:
            await close_db()
    finally:
        os.umask(previous)
    assert modes == {
        "housedesk.sqlite3": 0o600,
        "housedesk.sqlite3-wal": 0o600,
        "housedesk.sqlite3-shm": 0o600,
    }
    assert _mode(path.parent) == 0o700


async def test_an_existing_database_keeps_the_mode_its_operator_gave_it(
    tmp_path: Path, db_template: str
) -> None:
    path = tmp_path / "housedesk.sqlite3"
    url = sqlite_url(f"sqlite://{path}")
    shutil.copy(db_template, path)  # a migrated database
    path.chmod(0o640)
    await open_db(url)
    try:
        await Building.create(code="OAK", name="Oak House")
    finally:
        await close_db()
    assert _mode(path) == 0o640
