"""The content-addressed blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.storage.blobs import TEMP_PREFIX, BlobStore


def test_put_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    first = store.put(b"photo of the leak")
    again = store.put(b"photo of the leak")
    assert first == again and first.sha256 == hashlib.sha256(b"photo of the leak").hexdigest()
    assert store.path(first.sha256).relative_to(tmp_path).parts[:2] == (
        first.sha256[:2],
        first.sha256[2:4],
    )
    assert store.read(first.sha256) == b"photo of the leak" and first.size == 17
    assert not list(tmp_path.rglob(f"{TEMP_PREFIX}*"))


def test_names_never_come_from_outside(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(ValueError, match="not a sha256 digest"):
        store.path("../../etc/passwd")
    with pytest.raises(FileNotFoundError):
        store.read("0" * 64)
