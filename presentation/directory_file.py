"""The directory file as documented (``examples/directory.toml``), read into core's schema.

The file names a chat account ``telegram_id``; core's rows call it ``chat_id``. Error
messages keep the file's key, since that is what the user wrote.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from core.directory.file import DirectoryFile, FileKeys, parse_directory
from core.directory.importer import ImportReport, import_directory
from core.errors import InvalidInput

FILE_KEYS: FileKeys = {
    "staff": {"chat_id": "telegram_id"},
    "residents": {"chat_id": "telegram_id"},
}
"""Where the file's keys differ from core's field names."""


def read_directory(path: Path) -> DirectoryFile:
    """Read and validate a directory file; errors name the file, line and key."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}") from None
    return parse_directory(data, text, str(path), FILE_KEYS)


async def import_directory_file(path: Path) -> ImportReport:
    """Read, validate and apply a directory file, all of it or none of it."""
    return await import_directory(read_directory(path), str(path))
