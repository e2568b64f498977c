"""The model manifest: which Vosk model to download for each language, and its checksum."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from intake.speech.models import normalize_language

MANIFEST_PATH = Path(__file__).with_name("manifest.toml")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """The manifest file is malformed."""


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model (or a note that none is published for the language)."""

    language: str
    name: str
    url: str
    sha256: str
    """Lower-case hex digest of the zip; empty when not pinned yet."""
    size: int
    """Size of the zip in bytes; 0 when unknown."""
    license: str = ""
    note: str = ""

    @property
    def downloadable(self) -> bool:
        """Whether a download URL is known for this language."""
        return bool(self.url)


@dataclass(frozen=True)
class Manifest:
    """All model specs, keyed by normalised language."""

    models: dict[str, ModelSpec]

    def get(self, language: str) -> ModelSpec | None:
        """Return the spec for ``language`` (``en-US``, ``no`` and ``cn`` are accepted)."""
        return self.models.get(normalize_language(language))


def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    """Read and validate a manifest TOML file (the packaged one by default)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"cannot read model manifest {path}: {exc}") from exc
    tables = data.get("models")
    if not isinstance(tables, dict):
        raise ManifestError(f"model manifest {path} has no [models.<language>] tables")
    models = {}
    for key, table in tables.items():
        spec = _spec(key, table, path)
        models[spec.language] = spec
    return Manifest(models)


def _spec(key: str, table: object, path: Path) -> ModelSpec:
    if not isinstance(table, dict):
        raise ManifestError(f"{path}: [models.{key}] must be a table")
    try:
        spec = ModelSpec(
            language=normalize_language(key),
            name=str(table["name"]),
            url=str(table["url"]),
            sha256=str(table["sha256"]).lower(),
            size=int(table["size"]),
            license=str(table.get("license", "")),
            note=str(table.get("note", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: [models.{key}] is missing or has a bad field: {exc}") from exc
    if spec.sha256 and not _SHA256.match(spec.sha256):
        raise ManifestError(f"{path}: [models.{key}] sha256 is not 64 hex digits")
    if spec.url and (not spec.url.startswith("https://") or not spec.name):
        raise ManifestError(f"{path}: [models.{key}] needs an https:// url and a name")
    if spec.name and ("/" in spec.name or spec.name.startswith(".")):
        raise ManifestError(f"{path}: [models.{key}] name must be a plain directory name")
    return spec
