"""What ``housedesk speech list`` shows: installed models and the ones that can be fetched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from intake.speech.models import DEFAULT_MODELS_DIR, installed_models
from speech_models.manifest import Manifest, load_manifest


@dataclass(frozen=True)
class ModelStatus:
    """One row of the model list."""

    language: str
    name: str
    installed_at: Path | None
    """Model directory when installed, else ``None``."""
    source: str
    """``directory`` or ``package`` when installed; ``manifest`` for a fetchable model."""
    download_size: int = 0
    note: str = ""

    def line(self) -> str:
        """Render the row as one line of terminal output."""
        if self.installed_at is not None:
            return (
                f"{self.language:<4} {self.name:<32} installed ({self.source}) {self.installed_at}"
            )
        if self.name:
            size = f"{self.download_size / 1e6:.0f} MB" if self.download_size else "size unknown"
            return f"{self.language:<4} {self.name:<32} not installed, fetch downloads {size}"
        return f"{self.language:<4} {'-':<32} {self.note}"


def list_models(
    models_dir: Path = DEFAULT_MODELS_DIR, manifest: Manifest | None = None
) -> list[ModelStatus]:
    """List every installed model, then each manifest language that has none installed."""
    manifest = manifest or load_manifest()
    installed = installed_models(models_dir)
    rows = [ModelStatus(m.language, m.name, m.path, m.source) for m in installed]
    covered = {m.language for m in installed}
    for language, spec in sorted(manifest.models.items()):
        if language not in covered:
            rows.append(ModelStatus(language, spec.name, None, "manifest", spec.size, spec.note))
    return rows
