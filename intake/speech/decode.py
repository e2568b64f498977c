"""Decode voicemail audio (WAV, G.711, GSM, OGG/Opus, MP3, M4A/AAC, ...) to 16 kHz mono PCM.

The container format is chosen from the file's magic bytes (or, for headerless raw formats
such as ``.gsm`` and ``.ulaw``, from the file name), never by letting FFmpeg probe freely:
only the demuxers listed here are ever opened, so a crafted upload cannot reach FFmpeg's
playlist or network demuxers. Every failure surfaces as :class:`AudioDecodeError` whose
message can be shown to the person who sent the file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import PurePath

import av
import av.container
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream

SAMPLE_RATE = 16_000
"""Sample rate of the PCM that Vosk gets, in Hz."""

BYTES_PER_SECOND = SAMPLE_RATE * 2
"""Bytes of signed 16-bit mono PCM per second of audio."""

DEFAULT_MAX_DURATION_S = 600.0
"""Longest recording decoded by default (a voicemail is minutes, not hours)."""

_RAW_FORMATS = {
    ".gsm": "gsm",
    ".ulaw": "mulaw",
    ".ul": "mulaw",
    ".alaw": "alaw",
    ".al": "alaw",
}
"""Headerless formats that can only be recognised by their file name."""

_TELEPHONY_OPTIONS = {"sample_rate": "8000", "ch_layout": "mono"}
"""Raw G.711 carries no header; PBXs write it at 8 kHz mono (FFmpeg would assume 44.1 kHz)."""

_FORMAT_LABELS = {
    "wav": "WAV",
    "ogg": "OGG",
    "mov": "MP4/M4A",
    "flac": "FLAC",
    "matroska": "WebM",
    "amr": "AMR",
    "mp3": "MP3",
    "aac": "AAC",
    "gsm": "GSM",
    "mulaw": "G.711 mu-law",
    "alaw": "G.711 A-law",
}
"""How each accepted demuxer is named in messages to the sender."""


class AudioDecodeError(Exception):
    """The audio could not be decoded; ``str(error)`` is a user-facing explanation."""


def decode_to_pcm16k(
    data: bytes,
    filename_hint: str | None = None,
    *,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> bytes:
    """Decode an audio file to 16 kHz mono signed 16-bit little-endian PCM.

    ``filename_hint`` is only needed for headerless formats (``.gsm``, ``.ulaw``, ``.alaw``).
    Raises :class:`AudioDecodeError` for empty, corrupt, unsupported or over-long audio.
    """
    if not data:
        raise AudioDecodeError("The audio file is empty.")
    container_format = _container_format(data, filename_hint)
    max_bytes = int(max_duration_s * BYTES_PER_SECOND)
    pcm = bytearray()
    try:
        options = _TELEPHONY_OPTIONS if container_format in ("mulaw", "alaw") else None
        with av.open(
            io.BytesIO(data), mode="r", format=container_format, options=options
        ) as container:
            if not container.streams.audio:
                raise AudioDecodeError("The file contains no audio track.")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in _decoded_frames(container, container.streams.audio[0]):
                for out in resampler.resample(frame):
                    pcm += _frame_bytes(out)
                if len(pcm) > max_bytes:
                    raise AudioDecodeError(
                        f"The recording is longer than {max_duration_s / 60:g} minutes."
                    )
            for out in resampler.resample(None):
                pcm += _frame_bytes(out)
    except (av.FFmpegError, ValueError) as exc:
        raise AudioDecodeError(
            f"The audio file is corrupt or not valid {_FORMAT_LABELS[container_format]} audio."
        ) from exc
    if not pcm:
        raise AudioDecodeError("The audio file contains no decodable sound.")
    return bytes(pcm)


def pcm16k_duration_s(pcm: bytes) -> float:
    """Return the duration in seconds of PCM produced by :func:`decode_to_pcm16k`."""
    return len(pcm) / BYTES_PER_SECOND


def _container_format(data: bytes, filename_hint: str | None) -> str:
    """Name the FFmpeg demuxer for ``data`` from its magic bytes or, for raw formats, its name."""
    head = data[:12]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mov"  # the mov/mp4/m4a/3gp demuxer
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # also WebM
    if head[:5] == b"#!AMR":
        return "amr"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF:
        if head[1] & 0xF6 == 0xF0:
            return "aac"  # ADTS: 12-bit sync, layer bits 00
        if head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
            return "mp3"  # MPEG audio frame sync with a layer set
    suffix = PurePath(filename_hint).suffix.lower() if filename_hint else ""
    if suffix in _RAW_FORMATS:
        return _RAW_FORMATS[suffix]
    raise AudioDecodeError(
        "Unsupported or unrecognised audio format; send WAV, MP3, OGG/Opus, M4A, AMR or GSM."
    )


def _decoded_frames(
    container: av.container.InputContainer, stream: AudioStream
) -> Iterator[AudioFrame]:
    """Yield decoded frames, skipping packets the decoder rejects as damaged."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            continue  # one damaged packet; the decoder resynchronises on the next
        yield from frames


def _frame_bytes(frame: AudioFrame) -> bytes:
    """Return exactly the samples of a packed s16 mono frame (planes may carry padding)."""
    return bytes(frame.planes[0])[: frame.samples * 2]
