"""Relative paths in a configuration file are relative to the file, not to the folder a
command happens to run in: ``housedesk --config /srv/hd/config.toml tickets list`` run
from anywhere opens ``/srv/hd/data/housedesk.sqlite3``, never a second, empty database.
A path given in a ``HOUSEDESK_`` variable is taken as given (relative to the working
directory), as a shell user expects."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from housedesk.settings.config import Settings

PATH_KEYS = (
    ("database", "url"),
    ("storage", "data_dir"),
    ("speech", "models_dir"),
    ("voicemail", "drop_folder"),
)
"""The keys that name a file or folder (``database.url`` when it is a SQLite file)."""


def anchored(settings: Settings, base: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with every relative path of :data:`PATH_KEYS` taken relative to
    ``base``, except those set by an environment variable."""
    given = {name.upper() for name in (os.environ if environ is None else environ)}
    update = {}
    for section_name, key in PATH_KEYS:
        if f"HOUSEDESK_{section_name}__{key}".upper() in given:
            continue
        section = getattr(settings, section_name)
        value = getattr(section, key)
        if key == "url":
            new: object = anchored_sqlite_url(value, base)
        elif value is None or Path(value).is_absolute():
            continue
        else:
            new = base / value
        update[section_name] = section.model_copy(update={key: new})
    return settings.model_copy(update=update)


def anchored_sqlite_url(url: str, base: Path) -> str:
    """A ``sqlite://relative/file`` URL made absolute under ``base``; others unchanged."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.netloc or parts.netloc == ":memory:":
        return url  # not SQLite, already absolute (sqlite:///...), or in memory
    absolute = (base / (parts.netloc + parts.path)).resolve()
    return f"sqlite://{absolute}" + (f"?{parts.query}" if parts.query else "")
