"""A crash-safe spool: every accepted SMTP message is on disk before anyone acts on it.

A message is written to a hidden temporary file, fsync'd, renamed to ``<time>-<uuid>.eml``
and the directory is fsync'd, so after a crash a spool file is either complete or absent.
Temporary files left by a crash belong to transactions that were never acknowledged (the
client retries them) and are discarded on recovery.

A spool belongs to one process: :func:`lock_spool` holds an exclusive ``flock`` on its
``.lock`` file for the life of the process, so a second process pointed at the same
directory (two machines sharing one data directory) is refused at start, before its
recovery could touch the first one's files.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.storage.durable import TEMP_PREFIX, write_durably

_SUFFIX = ".eml"
LOCK_FILE = ".lock"


class SpoolInUse(Exception):
    """Another process holds the spool directory."""


@dataclass
class SpoolLock:
    """This process's hold on a spool directory; :meth:`release` at shutdown."""

    path: Path
    fd: int | None

    @property
    def directory(self) -> Path:
        """The spool directory held."""
        return self.path.parent

    def release(self) -> None:
        """Let another process take the spool (the kernel does it too when we die)."""
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


def lock_spool(spool_dir: Path) -> SpoolLock:
    """Take ``spool_dir`` for this process, or raise :class:`SpoolInUse` naming the holder."""
    spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = spool_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise SpoolInUse(
            f"the mail spool {spool_dir} is in use by another housedesk process ({holder}); "
            "every process needs a [storage] data_dir of its own"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
    return SpoolLock(path, fd)


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
