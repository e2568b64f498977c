"""Blobs as files on the local disk (``root/ab/cd/abcd…``), the default store.

Writes go through a temporary file that is fsync'd and renamed into place, so a crash never
leaves a half-written blob under a valid name. Several processes may share the directory
only when they share the disk; on separate machines use the PostgreSQL or the S3 store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from core.storage.blobs import (
    CHUNK_BYTES,
    BlobInfo,
    BlobMissing,
    StoredBlob,
    check_digest,
    digest_of,
    joined,
)
from core.storage.durable import TEMP_PREFIX, sync_directory, write_durably


class LocalBlobStore:
    """Blobs under ``root``, one file each."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob with this digest lives (it may not exist)."""
        check_digest(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> StoredBlob:
        """Store ``data`` durably; the same bytes again are a no-op."""
        return await asyncio.to_thread(self._put, data)

    def _put(self, data: bytes) -> StoredBlob:
        digest = digest_of(data)
        target = self.path(digest)
        if not (target.exists() and target.stat().st_size == len(data)):
            write_durably(target, data)
        return StoredBlob(digest, len(data))

    async def put_stream(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Write the chunks to a temporary file, then name it by its digest."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        temporary = Path(name)
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as handle:
                async for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_flush, handle)
            stored = StoredBlob(digest.hexdigest(), size)
            await asyncio.to_thread(self._settle, temporary, stored)
        finally:
            temporary.unlink(missing_ok=True)
        return stored

    def _settle(self, temporary: Path, stored: StoredBlob) -> None:
        target = self.path(stored.sha256)
        if target.exists() and target.stat().st_size == stored.size:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, target)
        sync_directory(target.parent)

    async def read(self, sha256: str) -> bytes:
        """All bytes of a blob."""
        return await joined(self.stream(sha256))

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes, a chunk at a time."""
        try:
            handle = await asyncio.to_thread(self.path(sha256).open, "rb")
        except FileNotFoundError:
            raise BlobMissing(f"blob {sha256} is not in the local blob store") from None
        with handle:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk

    async def exists(self, sha256: str) -> bool:
        """True when the blob's file is there."""
        return await asyncio.to_thread(self.path(sha256).is_file)

    async def delete(self, sha256: str) -> None:
        """Remove the blob's file."""
        await asyncio.to_thread(self.path(sha256).unlink, missing_ok=True)

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every blob file, in no particular order."""
        files = _files(self.root)
        while batch := await asyncio.to_thread(_next_batch, files):
            for info in batch:
                yield info

    async def sweep(self, older_than: datetime, *, dry_run: bool = False) -> int:
        """Delete temporary files a crash left, once older than ``older_than``."""
        return await asyncio.to_thread(self._sweep, older_than.timestamp(), dry_run)

    def _sweep(self, cutoff: float, dry_run: bool) -> int:
        removed = 0
        for directory, _, names in os.walk(self.root):
            for name in names:
                path = Path(directory) / name
                if name.startswith(TEMP_PREFIX) and _mtime(path) < cutoff:
                    if not dry_run:
                        path.unlink(missing_ok=True)
                    removed += 1
        return removed

    async def close(self) -> None:
        """Nothing to release."""


def _flush(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _files(root: Path) -> Iterator[BlobInfo]:
    for directory, _, names in os.walk(root):
        for name in names:
            if name.startswith(TEMP_PREFIX):
                continue
            try:
                check_digest(name)
                stat = (Path(directory) / name).stat()
            except (ValueError, FileNotFoundError):
                continue
            yield BlobInfo(name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


def _next_batch(files: Iterator[BlobInfo], size: int = 500) -> list[BlobInfo]:
    return [info for _, info in zip(range(size), files, strict=False)]
