"""Content-addressed storage for attachments: the contract every blob store keeps.

A blob is stored once under the sha256 digest of its bytes; its name never comes from user
input. Three stores keep this contract: the local disk (:mod:`.local`, the default, one
process or a shared disk), PostgreSQL (:mod:`.postgres`, chunks in the database every process
already shares) and S3-compatible object storage (:mod:`.s3`). Big files go in and out as
streams of chunks, never whole in memory; :meth:`BlobStore.put` and :meth:`BlobStore.read`
are for the small ones (photos, voice notes, mail attachments within the size limits).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

CHUNK_BYTES = 1024 * 1024
"""How much of a blob one streamed chunk carries."""

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(LookupError):
    """No blob with this digest is in the store."""


class BlobStoreUnusable(Exception):
    """The store cannot work with what it was given (a PostgreSQL store on SQLite)."""


@dataclass(frozen=True)
class StoredBlob:
    """A blob safely in the store."""

    sha256: str
    size: int


@dataclass(frozen=True)
class BlobInfo:
    """One blob as a listing of the store shows it."""

    sha256: str
    size: int
    stored_at: datetime


class BlobStore(Protocol):
    """Stores and reads attachment bytes by their sha256 digest."""

    name: str
    """``local``, ``postgres`` or ``s3``: what the operator configured."""

    async def put(self, data: bytes) -> StoredBlob:
        """Store ``data``; storing the same bytes twice is a no-op."""
        ...

    async def put_stream(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Store the bytes ``chunks`` yield, holding no more than a chunk or two in memory."""
        ...

    async def read(self, sha256: str) -> bytes:
        """All bytes of a blob (:class:`BlobMissing` when it is not stored)."""
        ...

    def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """A blob's bytes in chunks of at most :data:`CHUNK_BYTES` (:class:`BlobMissing`)."""
        ...

    async def exists(self, sha256: str) -> bool:
        """True when the blob is stored."""
        ...

    async def delete(self, sha256: str) -> None:
        """Remove the blob; removing a blob that is not there is a no-op."""
        ...

    def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every stored blob, for garbage collection and ``housedesk blobs migrate``."""
        ...

    async def sweep(self, older_than: datetime, *, dry_run: bool = False) -> int:
        """Remove what writes interrupted before ``older_than`` left; return how many
        (``dry_run``: only count them)."""
        ...

    async def close(self) -> None:
        """Release connections; the store may be used again afterwards."""
        ...


def check_digest(sha256: str) -> str:
    """``sha256`` if it is a digest (64 lowercase hex digits), else ``ValueError``."""
    if not _DIGEST.match(sha256):
        raise ValueError(f"not a sha256 digest: {sha256!r}")
    return sha256


def digest_of(data: bytes) -> str:
    """The sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


async def one_chunk(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as a stream, for a store's ``put_stream``."""
    for start in range(0, len(data), CHUNK_BYTES):
        yield data[start : start + CHUNK_BYTES]


async def rechunked(chunks: AsyncIterable[bytes], size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """``chunks`` regrouped into pieces of exactly ``size`` bytes (the last one shorter)."""
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield bytes(pending[:size])
            del pending[:size]
    if pending:
        yield bytes(pending)


async def joined(chunks: AsyncIterator[bytes]) -> bytes:
    """A stream's bytes as one value (for small blobs)."""
    return b"".join([chunk async for chunk in chunks])
