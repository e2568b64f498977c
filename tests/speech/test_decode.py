"""Decoding what PBXs and messengers send into 16 kHz mono PCM."""

from __future__ import annotations

import io
import os

import av
import numpy as np
import pytest

from intake.speech.decode import (
    AudioDecodeError,
    decode_to_pcm16k,
    pcm16k_duration_s,
)
from tests.speech.audio import encode, rms, sample_bytes, wav_pcm

KO5_DURATION_S = 3.82375

ENCODINGS = {
    # name: (container, codec, sample rate, channel layout, filename)
    "wav-mulaw-8k": ("wav", "pcm_mulaw", 8000, "mono", "msg.wav"),
    "wav-alaw-8k": ("wav", "pcm_alaw", 8000, "mono", "msg.wav"),
    "raw-ulaw-8k": ("mulaw", "pcm_mulaw", 8000, "mono", "msg0001.ulaw"),
    "wav-pcm-44k-stereo": ("wav", "pcm_s16le", 44100, "stereo", "msg.wav"),
    "ogg-opus": ("ogg", "libopus", 48000, "mono", "voice.ogg"),
    "mp3": ("mp3", "libmp3lame", 16000, "mono", "voice.mp3"),
    "m4a-aac": ("ipod", "aac", 16000, "mono", "voice.m4a"),
    "adts-aac": ("adts", "aac", 16000, "mono", "voice.aac"),
    "amr-nb": ("amr", "libopencore_amrnb", 8000, "mono", "voice.amr"),
    "flac": ("flac", "flac", 16000, "mono", "voice.flac"),
    "webm-opus": ("webm", "libopus", 48000, "mono", "voice.webm"),
}


def encoded_ko5(name: str) -> tuple[bytes, str]:
    container, codec, rate, layout, filename = ENCODINGS[name]
    return encode(wav_pcm("ko5.wav"), container, codec, rate, layout=layout), filename


def test_pcm_wav_passes_through_unchanged() -> None:
    pcm = decode_to_pcm16k(sample_bytes("ko5.wav"))

    assert pcm == wav_pcm("ko5.wav")
    assert pcm16k_duration_s(pcm) == pytest.approx(KO5_DURATION_S)


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_encoded_audio_decodes_to_16k_pcm_of_the_same_length(name: str) -> None:
    data, filename = encoded_ko5(name)

    pcm = decode_to_pcm16k(data, filename)

    assert pcm16k_duration_s(pcm) == pytest.approx(KO5_DURATION_S, abs=0.1)
    original = rms(wav_pcm("ko5.wav"))
    assert 0.5 * original < rms(pcm) < 1.5 * original  # speech, not silence or noise


@pytest.mark.parametrize(
    ("filename", "hint"),
    [("ko5_gsm.wav", None), ("ko5.gsm", "ko5.gsm")],
    ids=["wav-gsm610", "raw-gsm"],
)
def test_gsm_decodes_to_16k_pcm_of_the_same_length(filename: str, hint: str | None) -> None:
    pcm = decode_to_pcm16k(sample_bytes(filename), hint)

    assert pcm16k_duration_s(pcm) == pytest.approx(KO5_DURATION_S, abs=0.1)
    assert rms(pcm) > 0.5 * rms(wav_pcm("ko5.wav"))


def test_mp3_without_id3_tag_is_recognised_by_its_frame_sync() -> None:
    data, _ = encoded_ko5("mp3")
    assert data[:3] == b"ID3"
    tag_size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]  # syncsafe

    pcm = decode_to_pcm16k(data[10 + tag_size :])

    assert pcm16k_duration_s(pcm) == pytest.approx(KO5_DURATION_S, abs=0.1)


def test_lossless_g711_keeps_the_waveform() -> None:
    data, _ = encoded_ko5("wav-alaw-8k")

    pcm = decode_to_pcm16k(data)

    original = np.frombuffer(wav_pcm("ko5.wav"), dtype=np.int16).astype(float)
    decoded = np.frombuffer(pcm, dtype=np.int16).astype(float)
    n = min(len(original), len(decoded))
    assert np.corrcoef(original[:n], decoded[:n])[0, 1] > 0.9


@pytest.mark.parametrize(
    ("data", "hint", "message"),
    [
        (b"", None, "empty"),
        (os.urandom(4000), "voicemail.bin", "Unsupported or unrecognised audio format"),
        (b"%PDF-1.7\n" + os.urandom(2000), "invoice.pdf", "Unsupported"),
        (b"RIFF\x00\x10\x00\x00WAVE" + os.urandom(3000), None, "corrupt or not valid WAV"),
        (b"OggS" + os.urandom(500), None, "corrupt or not valid OGG"),
        (b"ID3" + os.urandom(3000), None, "corrupt or not valid MP3"),
    ],
    ids=["empty", "random", "pdf", "riff-garbage", "ogg-garbage", "id3-garbage"],
)
def test_bad_input_raises_a_readable_decode_error(
    data: bytes, hint: str | None, message: str
) -> None:
    with pytest.raises(AudioDecodeError, match=message) as caught:
        decode_to_pcm16k(data, hint)

    assert "Errno" not in str(caught.value)


def test_header_without_sound_is_an_error() -> None:
    truncated = sample_bytes("ko5_gsm.wav")[:100]

    with pytest.raises(AudioDecodeError, match="no decodable sound"):
        decode_to_pcm16k(truncated)


def test_truncated_recording_keeps_the_audio_before_the_cut() -> None:
    data, _ = encoded_ko5("mp3")

    pcm = decode_to_pcm16k(data[: len(data) // 2 + 17])  # cut inside an MP3 frame

    assert pcm16k_duration_s(pcm) == pytest.approx(KO5_DURATION_S / 2, abs=0.25)


@pytest.mark.parametrize(("name", "fill"), [("mp3", 0x00), ("adts-aac", 0xFF), ("amr-nb", 0xFF)])
def test_damage_in_the_middle_loses_only_the_damaged_frames(name: str, fill: int) -> None:
    data = bytearray(encoded_ko5(name)[0])
    middle = len(data) // 2
    data[middle : middle + 300] = bytes([fill]) * 300

    pcm = decode_to_pcm16k(bytes(data))

    assert 3.0 < pcm16k_duration_s(pcm) <= KO5_DURATION_S + 0.1


def test_recording_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(AudioDecodeError, match=r"longer than 0\.05 minutes"):
        decode_to_pcm16k(sample_bytes("ko5.wav"), max_duration_s=3.0)


def test_container_without_audio_is_refused() -> None:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as muxer:
        stream = muxer.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(3):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            muxer.mux(stream.encode(frame))
        muxer.mux(stream.encode(None))

    with pytest.raises(AudioDecodeError, match="no audio track"):
        decode_to_pcm16k(out.getvalue(), "clip.mp4")
