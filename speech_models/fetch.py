"""Download, verify and install a Vosk model for one language.

The zip is streamed into a hidden temporary file inside the destination directory while its
sha256 is computed; size and digest must match the manifest before anything is unpacked.
Every member name is checked first (no absolute paths, no ``..``, no links, bounded total
size), the archive is unpacked into a hidden staging directory, and the model directory is
then renamed into place in one step, so a crash or a bad download never leaves a half-model
under a name that discovery would pick up.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from intake.speech.models import (
    DEFAULT_MODELS_DIR,
    MODEL_MARKER,
    InstalledModel,
    is_model_dir,
)
from speech_models.manifest import Manifest, ModelSpec, load_manifest

MAX_DOWNLOAD_BYTES = 4 * 1024**3
"""Ceiling on a download whose size the manifest does not pin."""

MAX_UNPACKED_BYTES = 8 * 1024**3
"""Ceiling on the unpacked size of any model archive (zip-bomb guard)."""

_READ_BYTES = 1024 * 1024
_TIMEOUT_S = 60.0

Progress = Callable[[int, int | None], None]
"""Called with (bytes downloaded so far, total bytes if known)."""


class ModelFetchError(Exception):
    """Installing a model failed; ``str(error)`` is one line fit for the terminal."""


class UnknownModelLanguage(ModelFetchError):
    """The manifest has no downloadable model for the language."""


class ModelDownloadError(ModelFetchError):
    """The download failed (offline, DNS, HTTP error, timeout, cut short)."""


class ModelVerificationError(ModelFetchError):
    """The downloaded file's size or sha256 differs from the manifest."""


class UnverifiedModelError(ModelFetchError):
    """The manifest pins no sha256 and unverified installs were not allowed."""


class UnsafeArchiveError(ModelFetchError):
    """The archive is not a plain Vosk model zip (path traversal, links, zip bomb, no model)."""


@dataclass(frozen=True)
class FetchResult:
    """The installed model and the digest of the archive it came from."""

    model: InstalledModel
    archive_sha256: str | None
    """Computed digest when downloaded now; the recorded one when it was already installed."""
    downloaded: bool


def fetch_model(
    language: str,
    dest_dir: Path = DEFAULT_MODELS_DIR,
    manifest: Manifest | None = None,
    *,
    allow_unverified: bool = False,
    progress: Progress | None = None,
) -> FetchResult:
    """Install the manifest's model for ``language`` under ``dest_dir/<name>``.

    Does nothing if it is already installed there. Refuses a model whose sha256 is not
    pinned unless ``allow_unverified`` (``--insecure-skip-verify``); the computed digest is
    returned either way so it can be pinned in the manifest.
    """
    spec = (manifest or load_manifest()).get(language)
    if spec is None or not spec.downloadable:
        reason = spec.note if spec and spec.note else "no downloadable model in the manifest"
        raise UnknownModelLanguage(f"cannot fetch a speech model for {language!r}: {reason}")
    dest_dir = Path(dest_dir)
    target = dest_dir / spec.name
    if is_model_dir(target):
        return FetchResult(_installed(spec, target), _recorded_sha256(target), downloaded=False)
    if not spec.sha256 and not allow_unverified:
        raise UnverifiedModelError(
            f"the manifest pins no sha256 for {spec.name}; refusing an unverified download "
            "(pass --insecure-skip-verify to install it and print its digest)"
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, archive_name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".zip")
    archive = Path(archive_name)
    staging = Path(tempfile.mkdtemp(dir=dest_dir, prefix=".staging-"))
    try:
        with os.fdopen(fd, "wb") as sink:
            digest = _download(spec, sink, progress)
        model_root = _unpack(archive, staging)
        _write_marker(model_root, spec, digest)
        try:
            model_root.rename(target)
        except OSError as exc:
            raise ModelFetchError(f"cannot install {spec.name} into {target}: {exc}") from exc
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return FetchResult(_installed(spec, target), digest, downloaded=True)


def _download(spec: ModelSpec, sink: BinaryIO, progress: Progress | None) -> str:
    """Stream ``spec.url`` into ``sink``; return the sha256 after checking size and digest."""
    limit = spec.size or MAX_DOWNLOAD_BYTES
    hasher = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(spec.url, timeout=_TIMEOUT_S) as response:
            announced = response.length
            if announced is not None and announced > limit:
                raise ModelVerificationError(
                    f"{spec.url} is {announced} bytes, expected {spec.size or f'<= {limit}'}"
                )
            while chunk := response.read(_READ_BYTES):
                received += len(chunk)
                if received > limit:
                    raise ModelVerificationError(
                        f"{spec.url} is larger than the expected {limit} bytes"
                    )
                hasher.update(chunk)
                sink.write(chunk)
                if progress:
                    progress(received, spec.size or announced)
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason, hint = str(exc), ""
        else:
            reason = str(getattr(exc, "reason", exc))
            hint = " (offline? fetch the zip elsewhere and unpack it into the models directory)"
        raise ModelDownloadError(
            f"cannot download {spec.name} from {spec.url}: {_one_line(reason)}{hint}"
        ) from exc
    if spec.size and received != spec.size:
        raise ModelVerificationError(
            f"{spec.url} gave {received} bytes, expected {spec.size} (download cut short?)"
        )
    digest = hasher.hexdigest()
    if spec.sha256 and digest != spec.sha256:
        raise ModelVerificationError(
            f"{spec.url} has sha256 {digest}, expected {spec.sha256}; not installed"
        )
    return digest


def _unpack(archive: Path, staging: Path) -> Path:
    """Safely unpack ``archive`` into ``staging`` and return the model's root directory."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            _check_members(members)
            for member in members:
                zf.extract(member, staging)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchiveError(f"the download is not a valid zip archive: {exc}") from exc
    candidates = [staging, *(p for p in staging.iterdir() if p.is_dir())]
    for candidate in candidates:
        if is_model_dir(candidate):
            return candidate
    raise UnsafeArchiveError("the archive holds no Vosk model (am/final.mdl and conf/ missing)")


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    total = 0
    for member in members:
        name = member.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or ".." in parts or (parts and ":" in parts[0]):
            raise UnsafeArchiveError(f"the archive has an unsafe member path: {name!r}")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise UnsafeArchiveError(f"the archive has a symbolic link: {name!r}")
        total += member.file_size
        if total > MAX_UNPACKED_BYTES:
            raise UnsafeArchiveError("the archive unpacks to more than the allowed size")


def _write_marker(model_root: Path, spec: ModelSpec, digest: str) -> None:
    marker = {
        "language": spec.language,
        "name": spec.name,
        "url": spec.url,
        "sha256": digest,
        "verified": digest == spec.sha256,
    }
    (model_root / MODEL_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def _recorded_sha256(model_dir: Path) -> str | None:
    try:
        marker = json.loads((model_dir / MODEL_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    digest = marker.get("sha256") if isinstance(marker, dict) else None
    return digest if isinstance(digest, str) else None


def _installed(spec: ModelSpec, path: Path) -> InstalledModel:
    return InstalledModel(spec.language, spec.name, path, "directory")


def _one_line(text: str) -> str:
    return " ".join(text.split())
