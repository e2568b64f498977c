"""Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph, ...) through aioboto3.

For large installations: one object per blob under ``<prefix>ab/cd/<digest>``, shared by
every process. A streamed write is spooled to an anonymous temporary file while its digest
is computed (the key is the digest), then uploaded, in parts when it is big; a read streams
the object's body. The secret key is kept out of every ``repr`` and log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aioboto3
from aiobotocore.config import AioConfig
from botocore.exceptions import ClientError

from core.storage.blobs import (
    CHUNK_BYTES,
    BlobInfo,
    BlobMissing,
    StoredBlob,
    check_digest,
    digest_of,
    joined,
)

_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class S3Location:
    """Where the blobs are and how to reach them."""

    bucket: str
    endpoint_url: str | None = None
    """None: AWS; otherwise the S3 API's URL (``http://minio.internal:9000``)."""
    region: str = "us-east-1"
    prefix: str = "housedesk/blobs/"
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    addressing_style: str = "auto"


class S3BlobStore:
    """Blobs as objects in one bucket; ``scratch`` holds streamed writes until uploaded."""

    name = "s3"

    def __init__(self, location: S3Location, scratch: Path | None = None) -> None:
        self.location = location
        self._scratch = scratch
        self._stack: AsyncExitStack | None = None
        self._s3: Any = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"S3BlobStore({self.location.endpoint_url or 'aws'}/{self.location.bucket})"

    def key(self, sha256: str) -> str:
        """The object key of a blob."""
        check_digest(sha256)
        return f"{self.location.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    async def _client(self) -> Any:
        async with self._opening:
            if self._s3 is None:
                where = self.location
                stack = AsyncExitStack()
                self._s3 = await stack.enter_async_context(
                    aioboto3.Session().client(
                        "s3",
                        endpoint_url=where.endpoint_url,
                        region_name=where.region,
                        aws_access_key_id=where.access_key_id,
                        aws_secret_access_key=where.secret_access_key,
                        config=AioConfig(
                            s3={"addressing_style": where.addressing_style},
                            retries={"max_attempts": 3, "mode": "standard"},
                        ),
                    )
                )
                self._stack = stack
            return self._s3

    async def put(self, data: bytes) -> StoredBlob:
        """Upload ``data`` unless its object is already there."""
        stored = StoredBlob(digest_of(data), len(data))
        if not await self.exists(stored.sha256):
            s3 = await self._client()
            await s3.put_object(Bucket=self.location.bucket, Key=self.key(stored.sha256), Body=data)
        return stored

    async def put_stream(self, chunks: AsyncIterable[bytes]) -> StoredBlob:
        """Spool the chunks to a temporary file, hashing them, then upload it under its digest."""
        digest, size = hashlib.sha256(), 0
        if self._scratch is not None:
            self._scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self._scratch) as spooled:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(spooled.write, chunk)
            stored = StoredBlob(digest.hexdigest(), size)
            if not await self.exists(stored.sha256):
                await asyncio.to_thread(spooled.seek, 0)
                s3 = await self._client()
                await s3.upload_fileobj(spooled, self.location.bucket, self.key(stored.sha256))
        return stored

    async def read(self, sha256: str) -> bytes:
        """All bytes of a blob."""
        return await joined(self.stream(sha256))

    async def stream(self, sha256: str) -> AsyncIterator[bytes]:
        """The object's body, a chunk at a time."""
        s3 = await self._client()
        try:
            answer = await s3.get_object(Bucket=self.location.bucket, Key=self.key(sha256))
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise BlobMissing(f"blob {sha256} is not in the s3 blob store") from None
            raise
        body = answer["Body"]
        try:
            async for chunk in body.iter_chunks(CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def exists(self, sha256: str) -> bool:
        """True when the blob's object is there (a HEAD request)."""
        s3 = await self._client()
        try:
            await s3.head_object(Bucket=self.location.bucket, Key=self.key(sha256))
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                return False
            raise
        return True

    async def delete(self, sha256: str) -> None:
        """Remove the blob's object."""
        s3 = await self._client()
        await s3.delete_object(Bucket=self.location.bucket, Key=self.key(sha256))

    async def blobs(self) -> AsyncIterator[BlobInfo]:
        """Every object under the prefix whose name is a digest."""
        s3 = await self._client()
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=self.location.prefix
        )
        async for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if self.key_of(name) == item["Key"]:
                    yield BlobInfo(name, item["Size"], item["LastModified"])

    def key_of(self, name: str) -> str | None:
        """The key a blob called ``name`` would have; None when ``name`` is no digest."""
        try:
            return self.key(name)
        except ValueError:
            return None

    async def sweep(self, older_than: datetime, *, dry_run: bool = False) -> int:
        """Abort multipart uploads under the prefix that were started before ``older_than``."""
        s3 = await self._client()
        answer = await s3.list_multipart_uploads(
            Bucket=self.location.bucket, Prefix=self.location.prefix
        )
        aborted = 0
        for upload in answer.get("Uploads", []):
            if upload["Initiated"] >= older_than:
                continue
            aborted += 1
            if not dry_run:
                await s3.abort_multipart_upload(
                    Bucket=self.location.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        return aborted

    async def close(self) -> None:
        """Close the HTTP client; the next call opens a new one."""
        stack, self._stack, self._s3 = self._stack, None, None
        if stack is not None:
            await stack.aclose()


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
