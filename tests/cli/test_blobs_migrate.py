"""``housedesk blobs migrate --to s3`` moves the attachments while the service runs: copied and
checked, idempotent, resumable; after the switch the local copies go with ``housedesk gc``
and a blob written locally meanwhile stays readable until the next run copies it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.clock import FrozenClock
from core.storage.blobs.local import LocalBlobStore
from core.storage.blobs.s3 import S3BlobStore
from housedesk.bootstrap import App, bootstrap
from housedesk.cli.main import build_parser
from housedesk.settings.blobs import BlobSettings, S3Settings
from housedesk.settings.config import Settings
from tests.servers.s3_standin import KEY_ID, SECRET, S3StandIn, s3_standin

__all__ = ["s3_standin"]


async def housedesk(app: App, *argv: str) -> int:
    """Run one command as `housedesk ARGV` does, on the open test database."""
    args = build_parser().parse_args(list(argv))
    return int(await args.func(app, args))


def _with_store(app: App, store: str, bucket: str, standin: S3StandIn) -> Settings:
    s3 = {
        "endpoint_url": standin.url,
        "bucket": bucket,
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        "addressing_style": "path",
    }
    return app.settings.model_copy(update={"blobs": BlobSettings(store=store, s3=S3Settings(**s3))})


async def test_migrate_copies_checks_resumes_and_gc_drops_the_moved_local_copies(
    app: App,
    clock: FrozenClock,
    s3_standin: S3StandIn,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = s3_standin.new_bucket()
    local = LocalBlobStore(app.settings.storage.blobs_dir)
    photos = [await local.put(f"photo {n}".encode() * 1000) for n in range(3)]
    before = bootstrap(_with_store(app, "local", bucket, s3_standin), clock=clock)
    target = S3BlobStore(s3_standin.location(bucket))
    await target.put(f"photo {0}".encode() * 1000)  # a run that stopped after one blob

    assert await housedesk(before, "blobs", "migrate", "--to", "s3") == 0
    out = capsys.readouterr().out
    assert out.startswith("local -> s3: 2 blob(s) copied (14000 bytes), 1 already there, 0 failed")
    assert 'next: set [blobs] store = "s3"' in out
    assert await housedesk(before, "blobs", "migrate", "--to", "s3") == 0
    assert capsys.readouterr().out.startswith("local -> s3: 0 blob(s) copied (0 bytes), 3 already")

    after = bootstrap(_with_store(app, "s3", bucket, s3_standin), clock=clock)
    late = await local.put(b"written by a process still on the local store")
    assert await after.blobs.read(late.sha256) == b"written by a process still on the local store"
    assert [await after.blobs.read(p.sha256) for p in photos] == [
        f"photo {n}".encode() * 1000 for n in range(3)
    ]

    assert await housedesk(after, "gc") == 0
    assert "3 old local copy(ies) of moved blobs (1 not moved yet" in capsys.readouterr().out
    assert [info.sha256 async for info in local.blobs()] == [late.sha256]
    assert await housedesk(after, "blobs", "migrate", "--to", "s3") == 0
    assert capsys.readouterr().out.startswith("local -> s3: 1 blob(s) copied")
    assert await housedesk(after, "gc") == 0
    assert [info async for info in local.blobs()] == []
    assert await target.read(late.sha256) == b"written by a process still on the local store"
    await target.close()
    await after.blobs.close()
