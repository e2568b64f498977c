"""A crash-safe spool: every accepted SMTP message is on disk before anyone acts on it.

A message is written to a hidden temporary file, fsync'd, renamed to ``<time>-<uuid>.eml``
and the directory is fsync'd, so after a crash a spool file is either complete or absent.
Temporary files left by a crash belong to transactions that were never acknowledged (the
client retries them) and are discarded on recovery.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from core.storage.blobs import TEMP_PREFIX, write_durably

_SUFFIX = ".eml"


def write_spool_file(spool_dir: Path, data: bytes) -> Path:
    """Durably store ``data`` in ``spool_dir`` and return the spool file's path."""
    target = spool_dir / f"{time.time_ns():020d}-{uuid.uuid4().hex}{_SUFFIX}"
    write_durably(target, data)
    return target


def spooled_files(spool_dir: Path) -> list[Path]:
    """Return the complete spool files, oldest first."""
    if not spool_dir.is_dir():
        return []
    return sorted(path for path in spool_dir.glob(f"*{_SUFFIX}") if not path.name.startswith("."))


def discard_partial_files(spool_dir: Path) -> int:
    """Delete temporary files left by a crash mid-write; return how many there were."""
    if not spool_dir.is_dir():
        return 0
    partial = list(spool_dir.glob(f"{TEMP_PREFIX}*"))
    for path in partial:
        path.unlink(missing_ok=True)
    return len(partial)
