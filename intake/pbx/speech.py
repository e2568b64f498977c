"""Text to a telephone-quality WAV with ``espeak-ng``, where it is installed.

``espeak-ng`` reads the text from its standard input (so no text is ever taken for an
option) and writes a 22 kHz WAV; PyAV resamples it to 8 kHz mono signed 16-bit PCM, the
``wav`` format Asterisk and most PBXs play as they are.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import wave

import av
from av.audio.resampler import AudioResampler

RATE = 8_000
"""Samples a second in the WAV returned: a telephone line's."""

VOICES = {"en": "en", "ru": "ru", "pl": "pl", "no": "nb", "zh": "cmn"}
"""The espeak-ng voice for each language housedesk speaks."""


class SpeechUnavailable(Exception):
    """No WAV can be made here (espeak-ng is missing or failed); the message says why."""


def espeak_available(binary: str = "espeak-ng") -> bool:
    """True when ``binary`` is on the PATH."""
    return shutil.which(binary) is not None


async def speak(
    text: str, language: str, *, binary: str = "espeak-ng", timeout_s: float = 15
) -> bytes:
    """``text`` read out in ``language`` as an 8 kHz mono WAV."""
    path = shutil.which(binary)
    if path is None:
        raise SpeechUnavailable(f"{binary} is not installed")
    process = await asyncio.create_subprocess_exec(
        path,
        "-v",
        VOICES.get(language, "en"),
        "--stdin",
        "--stdout",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        raw, errors = await asyncio.wait_for(process.communicate(text.encode()), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise SpeechUnavailable(f"{binary} took longer than {timeout_s:g} s") from None
    if process.returncode != 0 or not raw:
        detail = errors.decode(errors="replace").strip()[:200]
        raise SpeechUnavailable(f"{binary} failed ({process.returncode}): {detail}")
    return await asyncio.to_thread(_telephone_wav, raw)


def _telephone_wav(data: bytes) -> bytes:
    """Resample espeak-ng's WAV to :data:`RATE` Hz mono signed 16-bit."""
    resampler = AudioResampler(format="s16", layout="mono", rate=RATE)
    pcm = bytearray()
    with av.open(io.BytesIO(data), mode="r", format="wav") as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pcm += bytes(out.planes[0])[: out.samples * 2]
    for out in resampler.resample(None):
        pcm += bytes(out.planes[0])[: out.samples * 2]
    result = io.BytesIO()
    with wave.open(result, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(pcm))
    return result.getvalue()
