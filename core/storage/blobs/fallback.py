"""A store that also reads from the store it replaces, while blobs are being moved.

After ``[blobs] store`` changes (``housedesk blobs migrate``), a process may still be asked
for a blob that an older process wrote to its local directory after the copy ran. Reads
look in the configured store first, then in the local one; everything else (writes,
listings, deletes, sweeping) is the configured store's alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime

from core.storage.blobs import BlobInfo, BlobMissing, BlobStore, StoredBlob, joined


class WithFallback:
    """``primary``, reading from ``previous`` what ``primary`` does not have."""

    def __init__(self, primary: BlobStore, previous: BlobStore) -> None:
        self.primary = primary
        self.previous = previous
        self.name = primary.name

    async def put(self, data: bytes) -> StoredBlob:
        """Store in the primary store."""
        return await self.primary.put(data)

    async def put_stream(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Store in the primary store."""
        return await self.primary.put_stream(chunks)

    async def read(self, sha256: str) -> bytes:
        """All bytes of a blob, from whichever store has it."""
        return await joined(self.stream(sha256))

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """The primary store's copy, else the previous store's."""
        started = False
        try:
            async for chunk in self.primary.stream(sha256):
                started = True
                yield chunk
            return
        except BlobMissing:
            if started:  # removed while it was read: not something the other store fixes
                raise
        try:
            async for chunk in self.previous.stream(sha256):
                yield chunk
        except BlobMissing:
            raise BlobMissing(
                f"blob {sha256} is neither in the {self.primary.name} blob store"
                f" nor in the {self.previous.name} one"
            ) from None

    async def exists(self, sha256: str) -> bool:
        """True when either store has the blob."""
        return await self.primary.exists(sha256) or await self.previous.exists(sha256)

    async def delete(self, sha256: str) -> None:
        """Remove from the primary store."""
        await self.primary.delete(sha256)

    def blobs(self) -> AsyncIterator[BlobInfo]:
        """The primary store's blobs."""
        return self.primary.blobs()

    async def sweep(self, older_than: datetime, *, dry_run: bool = False) -> int:
        """Sweep the primary store."""
        return await self.primary.sweep(older_than, dry_run=dry_run)

    async def close(self) -> None:
        """Close both stores."""
        await self.primary.close()
        await self.previous.close()
