"""Blobs in PostgreSQL: one ``blob`` row per digest, its bytes in ``blob_chunk`` rows.

The store every process sharing the database can use with nothing else to run. A blob is
written in one transaction: a row without a digest, its chunks as they come, then the
digest; a crash rolls all of it back, and two processes storing the same bytes at once end
with one row (the unique digest decides, the loser's rows roll back). Chunks are read a
few at a time, so no blob is ever whole in memory on either side. On SQLite this store is
refused (:class:`~core.storage.blobs.BlobStoreUnusable`): use the local store there.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.storage.blobs import (
    BlobInfo,
    BlobMissing,
    BlobStoreUnusable,
    StoredBlob,
    check_digest,
    digest_of,
    joined,
    one_chunk,
    rechunked,
)

CHUNK_ROW_BYTES = 256 * 1024
"""Bytes per ``blob_chunk`` row."""
_READ_AHEAD = 4
"""Chunk rows fetched per query while streaming a blob out."""
_PAGE = 500


class _AlreadyStored(Exception):
    """Rolls back a write whose bytes another write stored first."""


class PostgresBlobStore:
    """Blobs in the PostgreSQL database of tortoise connection ``connection``."""

    name = "postgres"

    def __init__(self, connection: str = "default") -> None:
        self._connection = connection

    def _client(self) -> BaseDBAsyncClient:
        client = connections.get(self._connection)
        if client.capabilities.dialect != "postgres":
            raise BlobStoreUnusable(
                "the postgres blob store needs a PostgreSQL database, and this one is "
                f'{client.capabilities.dialect}: keep [blobs] store = "local"'
            )
        return client

    async def put(self, data: bytes) -> StoredBlob:
        """Store ``data`` unless a blob with its digest is already there."""
        if await self.exists(digest_of(data)):
            return StoredBlob(digest_of(data), len(data))
        return await self.put_stream(one_chunk(data))

    async def put_stream(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Write the chunks in one transaction, then name the row by their digest."""
        self._client()  # refuses SQLite before anything is written
        digest, size = hashlib.sha256(), 0
        try:
            async with in_transaction(self._connection) as conn:
                [row] = await conn.execute_query_dict(
                    'INSERT INTO "blob" ("size", "created_at") VALUES (0, now()) RETURNING "id"'
                )
                seq = 0
                async for piece in rechunked(chunks, CHUNK_ROW_BYTES):
                    digest.update(piece)
                    size += len(piece)
                    await conn.execute_query(
                        'INSERT INTO "blob_chunk" ("blob_id", "seq", "data") VALUES ($1, $2, $3)',
                        [row["id"], seq, piece],
                    )
                    seq += 1
                sha256 = digest.hexdigest()
                if await conn.execute_query_dict(
                    'SELECT 1 FROM "blob" WHERE "sha256" = $1', [sha256]
                ):
                    raise _AlreadyStored
                await conn.execute_query(
                    'UPDATE "blob" SET "sha256" = $1, "size" = $2 WHERE "id" = $3',
                    [sha256, size, row["id"]],
                )
        except (_AlreadyStored, IntegrityError):
            if not await self.exists(digest.hexdigest()):
                raise
        return StoredBlob(digest.hexdigest(), size)

    async def read(self, sha256: str) -> bytes:
        """All bytes of a blob."""
        return await joined(self.stream(sha256))

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's chunk rows in order, a few per query."""
        client = self._client()
        rows = await client.execute_query_dict(
            'SELECT "id", "size" FROM "blob" WHERE "sha256" = $1', [check_digest(sha256)]
        )
        if not rows:
            raise BlobMissing(f"blob {sha256} is not in the postgres blob store")
        blob_id, expected = rows[0]["id"], rows[0]["size"]
        seq = sent = 0
        while chunks := await client.execute_query_dict(
            'SELECT "data" FROM "blob_chunk" WHERE "blob_id" = $1 AND "seq" >= $2'
            ' ORDER BY "seq" LIMIT $3',
            [blob_id, seq, _READ_AHEAD],
        ):
            for chunk in chunks:
                data = bytes(chunk["data"])
                sent += len(data)
                yield data
            seq += len(chunks)
        if sent != expected:  # removed while it was read
            raise BlobMissing(f"blob {sha256} was removed from the postgres blob store")

    async def exists(self, sha256: str) -> bool:
        """True when a row carries this digest."""
        rows = await self._client().execute_query_dict(
            'SELECT 1 FROM "blob" WHERE "sha256" = $1', [check_digest(sha256)]
        )
        return bool(rows)

    async def delete(self, sha256: str) -> None:
        """Remove the blob's row and, with it, its chunks."""
        await self._client().execute_query(
            'DELETE FROM "blob" WHERE "sha256" = $1', [check_digest(sha256)]
        )

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every blob, by digest, a page at a time."""
        client, last = self._client(), ""
        while rows := await client.execute_query_dict(
            'SELECT "sha256", "size", "created_at" FROM "blob"'
            ' WHERE "sha256" > $1 ORDER BY "sha256" LIMIT $2',
            [last, _PAGE],
        ):
            for row in rows:
                yield BlobInfo(row["sha256"], row["size"], row["created_at"])
            last = rows[-1]["sha256"]

    async def sweep(self, older_than: datetime, *, dry_run: bool = False) -> int:
        """Nothing to sweep: an interrupted write is a transaction rolled back."""
        self._client()
        return 0

    async def close(self) -> None:
        """The database connection belongs to the process, not to the store."""
