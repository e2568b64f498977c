"""Offline transcription with Vosk, off the event loop.

A Vosk ``Model`` (about 600 MB resident for the Korean small model) is loaded once per
process and shared by every thread; a ``KaldiRecognizer`` is not thread-safe, so each worker
thread keeps its own per model and ``Reset()``s it between files, which is about four times
faster than building a new recognizer per file. Decoding and recognition both run in a
bounded thread pool: Vosk and FFmpeg release the GIL, so two workers use two cores.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import vosk

from intake.speech.decode import (
    DEFAULT_MAX_DURATION_S,
    SAMPLE_RATE,
    decode_to_pcm16k,
    pcm16k_duration_s,
)
from intake.speech.models import DEFAULT_MODELS_DIR, InstalledModel, find_model

_CHUNK_BYTES = 16_000  # half a second of PCM per AcceptWaveform call

vosk.SetLogLevel(-1)


@dataclass(frozen=True)
class Transcript:
    """What was said in one recording."""

    text: str
    confidence: float
    """Mean Vosk word confidence in [0, 1]; 0.0 when nothing was recognised."""
    duration_s: float
    language: str
    model: str


@dataclass(frozen=True)
class Recognition:
    """Raw recogniser output for one PCM buffer."""

    text: str
    confidence: float


class ModelLoadError(RuntimeError):
    """A Vosk model directory exists but Vosk could not load it."""


_models: dict[Path, vosk.Model] = {}
_models_lock = threading.Lock()


def load_vosk_model(path: Path) -> vosk.Model:
    """Return the process-wide Vosk model for ``path``, loading it on first use."""
    with _models_lock:
        model = _models.get(path)
        if model is None:
            try:
                model = vosk.Model(str(path))
            except Exception as exc:  # vosk raises a bare Exception on a broken model
                raise ModelLoadError(f"Vosk could not load the model at {path}: {exc}") from exc
            _models[path] = model
        return model


def new_recognizer(model: vosk.Model) -> vosk.KaldiRecognizer:
    """Create a 16 kHz recogniser that reports per-word confidences."""
    recognizer = vosk.KaldiRecognizer(model, SAMPLE_RATE)
    recognizer.SetWords(True)
    return recognizer


def recognize_pcm(recognizer: vosk.KaldiRecognizer, pcm: bytes) -> Recognition:
    """Run ``pcm`` (16 kHz mono s16le) through ``recognizer`` and reset it for the next file."""
    texts: list[str] = []
    confidences: list[float] = []

    def collect(result_json: str) -> None:
        result = json.loads(result_json)
        if result.get("text"):
            texts.append(result["text"])
        confidences.extend(float(word["conf"]) for word in result.get("result", ()))

    try:
        for start in range(0, len(pcm), _CHUNK_BYTES):
            if recognizer.AcceptWaveform(pcm[start : start + _CHUNK_BYTES]):
                collect(recognizer.Result())  # an utterance ended at a pause
        collect(recognizer.FinalResult())
    finally:
        recognizer.Reset()
    confidence = sum(confidences) / len(confidences) if confidences else 0.0
    return Recognition(" ".join(texts), confidence)


class Transcriber:
    """Transcribes recordings with a bounded pool of worker threads.

    Create one per process, call :meth:`close` on shutdown.
    """

    def __init__(
        self,
        models_dir: Path = DEFAULT_MODELS_DIR,
        max_workers: int = 2,
        *,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
    ) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.models_dir = Path(models_dir)
        self.max_duration_s = max_duration_s
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="speech")
        self._local = threading.local()
        self._resolved: dict[str, InstalledModel] = {}

    def model_for(self, language: str) -> InstalledModel:
        """Return the model used for ``language`` (raises ``NoModelForLanguage``)."""
        model = self._resolved.get(language)
        if model is None:
            model = find_model(language, self.models_dir)
            self._resolved[language] = model
        return model

    def preload(self, language: str) -> InstalledModel:
        """Load the model for ``language`` now (blocking, about a second), not on first use."""
        model = self.model_for(language)
        load_vosk_model(model.path)
        return model

    async def transcribe(
        self, audio: bytes, language: str, filename_hint: str | None = None
    ) -> Transcript:
        """Decode and transcribe one recording.

        Raises ``NoModelForLanguage`` before any work when no model covers ``language``,
        ``AudioDecodeError`` for audio that cannot be decoded. A model not resolved yet is
        looked for on a worker thread (that reads every installed package's metadata).
        """
        model = self._resolved.get(language)
        if model is None:
            model = await asyncio.to_thread(self.model_for, language)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._transcribe_blocking, model, audio, filename_hint
        )

    def close(self) -> None:
        """Finish running work and stop the worker threads."""
        self._executor.shutdown(wait=True)

    def _transcribe_blocking(
        self, model: InstalledModel, audio: bytes, filename_hint: str | None
    ) -> Transcript:
        pcm = decode_to_pcm16k(audio, filename_hint, max_duration_s=self.max_duration_s)
        recognition = recognize_pcm(self._thread_recognizer(model.path), pcm)
        return Transcript(
            text=recognition.text,
            confidence=recognition.confidence,
            duration_s=pcm16k_duration_s(pcm),
            language=model.language,
            model=model.name,
        )

    def _thread_recognizer(self, model_path: Path) -> vosk.KaldiRecognizer:
        recognizers: dict[Path, vosk.KaldiRecognizer] | None = getattr(
            self._local, "recognizers", None
        )
        if recognizers is None:
            recognizers = self._local.recognizers = {}
        recognizer = recognizers.get(model_path)
        if recognizer is None:
            recognizer = recognizers[model_path] = new_recognizer(load_vosk_model(model_path))
        return recognizer


async def transcribe_file(
    path: Path, language: str, *, models_dir: Path = DEFAULT_MODELS_DIR
) -> Transcript:
    """Transcribe one audio file (for ``housedesk transcribe FILE --lang L``)."""
    path = Path(path)
    audio = await asyncio.to_thread(path.read_bytes)
    transcriber = Transcriber(models_dir, max_workers=1)
    try:
        return await transcriber.transcribe(audio, language, path.name)
    finally:
        transcriber.close()
