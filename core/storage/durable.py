"""Content-addressed file storage for attachments.

A file is stored once under its sha256 digest (``root/ab/cd/abcd…``); the stored name never
comes from user input. Writes go through :func:`write_durably`, so a crash never leaves a
half-written blob under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


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
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass(frozen=True)
class StoredBlob:
    """A blob that is safely on disk."""

    sha256: str
    size: int


class BlobStore:
    """Stores and reads attachment bytes by their sha256 digest."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Return where the blob with this digest lives (it may not exist)."""
        if not _DIGEST.match(sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> StoredBlob:
        """Store ``data`` durably and return its digest; storing the same bytes twice is a no-op."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return StoredBlob(digest, len(data))
        write_durably(target, data)
        return StoredBlob(digest, len(data))

    def read(self, sha256: str) -> bytes:
        """Return the bytes of a stored blob (``FileNotFoundError`` when missing)."""
        return self.path(sha256).read_bytes()
