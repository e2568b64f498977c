"""Copying blobs from one store to another (``housedesk blobs migrate``).

Each blob is streamed from the source into the target, then read back from the target and
its digest checked; a copy that does not match is removed again and reported. A blob the
target already has is skipped: every store makes a blob visible only once it is complete
(a rename, a committed transaction, a finished upload), so a copy interrupted by a crash is
simply absent and the next run copies it. Running the copy again is therefore safe and
resumes where it stopped. Nothing is removed from the source (``housedesk gc`` does that
later, and only for blobs the target has).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from core.storage.blobs import BlobInfo, BlobMissing, BlobStore

log = logging.getLogger(__name__)


@dataclass
class CopyReport:
    """What one run copied."""

    copied: int = 0
    copied_bytes: int = 0
    present: int = 0
    failed: list[str] = field(default_factory=list)
    """Digests that could not be copied, with why."""

    def summary(self) -> str:
        """One line for the operator."""
        return (
            f"{self.copied} blob(s) copied ({self.copied_bytes} bytes), "
            f"{self.present} already there, {len(self.failed)} failed"
        )


async def copy_blobs(source: BlobStore, target: BlobStore) -> CopyReport:
    """Copy every blob of ``source`` that ``target`` lacks, verifying each copy."""
    report = CopyReport()
    async for info in source.blobs():
        if await target.exists(info.sha256):
            report.present += 1
            continue
        problem = await _copy_one(source, target, info)
        if problem:
            report.failed.append(f"{info.sha256}: {problem}")
            log.warning("blobs: cannot copy %s: %s", info.sha256, problem)
        else:
            report.copied += 1
            report.copied_bytes += info.size
    return report


async def _copy_one(source: BlobStore, target: BlobStore, info: BlobInfo) -> str:
    """Copy one blob; return why it failed, or "" when the target has a verified copy."""
    try:
        stored = await target.put_stream(source.stream(info.sha256))
    except BlobMissing:
        return f"removed from the {source.name} store meanwhile"
    if stored.sha256 != info.sha256:
        await target.delete(stored.sha256)
        return f"the {source.name} store holds other bytes under this name (damaged)"
    check = hashlib.sha256()
    async for chunk in target.stream(info.sha256):
        check.update(chunk)
    if check.hexdigest() != info.sha256:
        await target.delete(info.sha256)
        return f"the {target.name} store gave back other bytes than were written"
    return ""
