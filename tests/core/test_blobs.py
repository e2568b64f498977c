"""Every blob store keeps one contract: local disk, PostgreSQL and S3 (moto's server as the
stand-in). The PostgreSQL case runs in the PostgreSQL pass (``--db=postgres``)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.storage.blobs import (
    CHUNK_BYTES,
    BlobMissing,
    BlobStore,
    BlobStoreUnusable,
    digest_of,
    one_chunk,
)
from core.storage.blobs.local import LocalBlobStore
from core.storage.blobs.postgres import PostgresBlobStore
from core.storage.blobs.s3 import S3BlobStore
from core.storage.durable import TEMP_PREFIX
from housedesk.blob_store import named_store
from housedesk.settings.config import ConfigError, Settings
from tests.servers.s3_standin import S3StandIn, s3_standin

__all__ = ["s3_standin"]

BIG = bytes(range(256)) * (3 * CHUNK_BYTES // 256 + 1001)
"""A little over three stream chunks."""


@pytest.fixture(
    params=["local", pytest.param("postgres", marks=pytest.mark.postgres), "s3"],
)
def made_store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    """Each store, empty (a plain fixture: the database fixtures start event loops)."""
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    if request.param == "postgres":
        request.getfixturevalue("db")
        return PostgresBlobStore()
    standin: S3StandIn = request.getfixturevalue("s3_standin")
    return S3BlobStore(standin.location(), scratch=tmp_path)


@pytest.fixture
async def store(made_store: BlobStore) -> AsyncIterator[BlobStore]:
    """The store, closed afterwards."""
    yield made_store
    await made_store.close()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_put_is_content_addressed_and_idempotent(store: BlobStore) -> None:
    first = await store.put(b"photo of the leak")
    again = await store.put(b"photo of the leak")

    assert first == again
    assert (first.sha256, first.size) == (hashlib.sha256(b"photo of the leak").hexdigest(), 17)
    assert await store.read(first.sha256) == b"photo of the leak"
    assert [info.sha256 async for info in store.blobs()] == [first.sha256]


async def test_big_blobs_stream_in_and_out_in_chunks(store: BlobStore) -> None:
    stored = await store.put_stream(pieces(BIG, 70_001))

    assert stored.sha256 == digest_of(BIG) and stored.size == len(BIG)
    chunks = [chunk async for chunk in store.stream(stored.sha256)]
    assert len(chunks) > 1 and max(len(chunk) for chunk in chunks) <= CHUNK_BYTES
    assert b"".join(chunks) == BIG
    assert await store.put_stream(one_chunk(BIG)) == stored  # the same bytes: one blob
    [listed] = [info async for info in store.blobs()]
    assert (listed.sha256, listed.size) == (stored.sha256, len(BIG))
    assert abs(listed.stored_at - datetime.now(UTC)) < timedelta(minutes=5)


async def test_exists_delete_and_a_missing_blob(store: BlobStore) -> None:
    kept = await store.put(b"kept")
    gone = await store.put(b"gone")

    await store.delete(gone.sha256)
    await store.delete(gone.sha256)  # again: nothing to do

    assert await store.exists(kept.sha256) and not await store.exists(gone.sha256)
    with pytest.raises(BlobMissing, match=f"{gone.sha256} is not in the {store.name} blob store"):
        await store.read(gone.sha256)
    assert [info.sha256 async for info in store.blobs()] == [kept.sha256]


async def test_names_never_come_from_outside(store: BlobStore) -> None:
    for bad in ("../../etc/passwd", "AB" * 32, ""):
        with pytest.raises(ValueError, match="not a sha256 digest"):
            await store.exists(bad)
        with pytest.raises(ValueError, match="not a sha256 digest"):
            await store.read(bad)


async def test_the_same_bytes_stored_at_once_are_one_blob(store: BlobStore) -> None:
    stored = await asyncio.gather(*(store.put_stream(pieces(BIG, 300_000)) for _ in range(3)))

    assert {s.sha256 for s in stored} == {digest_of(BIG)}
    assert [info.sha256 async for info in store.blobs()] == [digest_of(BIG)]
    assert await store.read(digest_of(BIG)) == BIG


async def test_sweep_removes_only_old_leftovers_of_interrupted_writes(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    kept = await store.put(b"a complete blob")
    (tmp_path / "ab").mkdir()
    old, fresh = tmp_path / "ab" / f"{TEMP_PREFIX}old", tmp_path / f"{TEMP_PREFIX}fresh"
    old.write_bytes(b"cut off")
    fresh.write_bytes(b"being written")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    cutoff = datetime.now(UTC) - timedelta(minutes=10)

    assert await store.sweep(cutoff, dry_run=True) == 1 and old.exists()
    assert await store.sweep(cutoff) == 1

    assert not old.exists() and fresh.exists()
    assert await store.read(kept.sha256) == b"a complete blob"
    assert store.path(kept.sha256).relative_to(tmp_path).parts[:2] == (
        kept.sha256[:2],
        kept.sha256[2:4],
    )


@pytest.mark.sqlite_only
async def test_the_postgres_store_is_refused_on_sqlite(db: str, tmp_path: Path) -> None:
    with pytest.raises(BlobStoreUnusable, match="needs a PostgreSQL database"):
        await PostgresBlobStore().put(b"photo")
    settings = Settings(database={"url": db}, blobs={"store": "postgres"})
    with pytest.raises(ConfigError, match='store = "postgres" needs a PostgreSQL database'):
        named_store(settings, "postgres")


def test_the_s3_secret_stays_out_of_reprs_and_settings_dumps() -> None:
    settings = Settings(
        blobs={"store": "s3", "s3": {"bucket": "desk", "secret_access_key": "hunter2-s3cret"}}
    )
    store = named_store(settings, "s3")
    assert isinstance(store, S3BlobStore)
    shown = f"{store!r} {store.location!r} {settings!r} {settings.model_dump()}"
    assert "hunter2-s3cret" not in shown and "desk" in shown
