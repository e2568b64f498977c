"""Crash-safe file writes: after a crash a file is either complete or absent.

Used by the local blob store and the SMTP spool.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"
"""Files being written carry this prefix until they are complete."""


def write_durably(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that after a crash it is either complete or absent.

    The bytes go to a temporary file in the same directory, which is fsync'd and renamed
    into place; then the directory is fsync'd so the new name survives a power cut.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    sync_directory(target.parent)


def sync_directory(directory: Path) -> None:
    """fsync ``directory`` so the names just created or renamed in it survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
