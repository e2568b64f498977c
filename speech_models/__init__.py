"""Vosk model manifest, download-and-install (``housedesk speech fetch``) and listing."""

from speech_models.fetch import (
    FetchResult,
    ModelDownloadError,
    ModelFetchError,
    ModelVerificationError,
    UnknownModelLanguage,
    UnsafeArchiveError,
    UnverifiedModelError,
    fetch_model,
)
from speech_models.listing import ModelStatus, list_models
from speech_models.manifest import Manifest, ManifestError, ModelSpec, load_manifest

__all__ = [
    "FetchResult",
    "Manifest",
    "ManifestError",
    "ModelDownloadError",
    "ModelFetchError",
    "ModelSpec",
    "ModelStatus",
    "ModelVerificationError",
    "UnknownModelLanguage",
    "UnsafeArchiveError",
    "UnverifiedModelError",
    "fetch_model",
    "list_models",
    "load_manifest",
]
