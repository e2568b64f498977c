"""Test helpers: the speech samples and encoding PCM into PBX/messenger formats with PyAV."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "speech"
KOREAN_SAMPLES = ("ko1", "ko2", "ko3", "ko4", "ko5")


def sample_bytes(name: str) -> bytes:
    """Return the bytes of a file in tests/data/speech/."""
    return (DATA_DIR / name).read_bytes()


def wav_pcm(name: str) -> bytes:
    """Return the PCM frames of a 16 kHz mono 16-bit WAV sample."""
    with wave.open(str(DATA_DIR / name), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        return wav.readframes(wav.getnframes())


def encode(
    pcm16k: bytes,
    container: str,
    codec: str,
    rate: int,
    *,
    layout: str = "mono",
) -> bytes:
    """Encode 16 kHz mono s16 PCM with FFmpeg's ``codec`` into a ``container`` at ``rate`` Hz."""
    samples = np.frombuffer(pcm16k, dtype=np.int16).reshape(1, -1)
    source = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    source.sample_rate = 16000
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, AudioStream)
        sample_formats = stream.codec_context.codec.audio_formats
        assert sample_formats, f"{codec} names no sample format"
        resampler = av.AudioResampler(format=sample_formats[0].name, layout=layout, rate=rate)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            muxer.mux(stream.encode(frame))
        muxer.mux(stream.encode(None))
    return out.getvalue()


def rms(pcm: bytes) -> float:
    """Root mean square of s16 PCM, to tell real sound from silence or noise."""
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples**2)))
