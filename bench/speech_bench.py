"""Voicemail transcription speed: the full path against Vosk alone, and scaling with workers.

The corpus is the Korean samples in tests/data/speech/, encoded as OGG/Opus (what Telegram
voice notes are). Figures, each printed on one line with its target:

* real-time factor (processing seconds per audio second) of the full path, compressed
  bytes -> decode -> recognise, against Vosk alone on the same PCM in the same run, measured
  interleaved on one warmed-up recogniser; target: full path within 1.2x of Vosk alone;
* throughput in audio seconds per second through ``Transcriber`` with 1 and 2 workers
  (best of a few alternating runs); target: 2 workers >= 1.7x one worker. This needs two
  otherwise idle cores, so the load average is printed next to it;
* peak resident memory of a fresh worker process transcribing with one and with two threads
  (the threads share one model; each has its own recogniser).

Run with ``python -m bench.speech_bench`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import time
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av
import numpy as np

from intake.speech.decode import decode_to_pcm16k, pcm16k_duration_s
from intake.speech.models import DEFAULT_MODELS_DIR
from intake.speech.transcriber import (
    Transcriber,
    load_vosk_model,
    new_recognizer,
    recognize_pcm,
)

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech"
LANGUAGE = "ko"
MAX_FULL_PATH_RATIO = 1.2
MIN_SCALING = 1.7


def to_ogg_opus(pcm16k: bytes) -> bytes:
    """Encode 16 kHz mono s16 PCM as a 48 kHz OGG/Opus voice note."""
    samples = np.frombuffer(pcm16k, dtype=np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = 16000
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as muxer:
        stream = muxer.add_stream("libopus", rate=48000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            muxer.mux(stream.encode(resampled))
        muxer.mux(stream.encode(None))
    return out.getvalue()


def load_corpus() -> list[bytes]:
    """Return the Korean samples as OGG/Opus files."""
    corpus = []
    for path in sorted(SAMPLES_DIR.glob("ko[0-9].wav")):
        with wave.open(str(path), "rb") as wav:
            corpus.append(to_ogg_opus(wav.readframes(wav.getnframes())))
    if not corpus:
        raise SystemExit(f"no ko[0-9].wav samples in {SAMPLES_DIR}")
    return corpus


def verdict(ok: bool) -> str:
    return "target met" if ok else "TARGET MISSED"


def bench_full_path(transcriber: Transcriber, corpus: list[bytes], rounds: int) -> None:
    """Compare decode+recognise with recognise alone, interleaved file by file."""
    model = load_vosk_model(transcriber.model_for(LANGUAGE).path)
    recognizer = new_recognizer(model)
    decoded = [decode_to_pcm16k(data, "voice.ogg") for data in corpus]
    for pcm in decoded:  # warm up the recogniser's lazily built graph
        recognize_pcm(recognizer, pcm)
    audio_s = rounds * sum(pcm16k_duration_s(pcm) for pcm in decoded)
    full_s = vosk_s = 0.0
    for _ in range(rounds):
        for data, pcm in zip(corpus, decoded, strict=True):
            start = time.perf_counter()
            recognize_pcm(recognizer, decode_to_pcm16k(data, "voice.ogg"))
            middle = time.perf_counter()
            recognize_pcm(recognizer, pcm)
            full_s += middle - start
            vosk_s += time.perf_counter() - middle
    ratio = full_s / vosk_s
    print(f"real-time factor, full path (OGG/Opus bytes -> decode -> Vosk): {full_s / audio_s:.3f}")
    print(f"real-time factor, Vosk alone on the same PCM: {vosk_s / audio_s:.3f}")
    print(
        f"full path / Vosk alone: {ratio:.2f}x (target <= {MAX_FULL_PATH_RATIO}x) "
        f"{verdict(ratio <= MAX_FULL_PATH_RATIO)}"
    )


async def best_throughputs(
    models_dir: Path, corpus: list[bytes], rounds: int, repeats: int
) -> dict[int, tuple[float, float]]:
    """Best-of-``repeats`` audio seconds per second with 1 and with 2 worker threads.

    Each figure comes with the process's CPU seconds per wall second during that run: near
    2.0 with two workers means both threads computed in parallel (the GIL is not the limit).

    The two pool sizes are measured alternately so that a passing load on the machine
    does not land on one side only.
    """
    transcribers = {workers: Transcriber(models_dir, max_workers=workers) for workers in (1, 2)}
    best = dict.fromkeys(transcribers, (0.0, 0.0))
    try:
        for transcriber in transcribers.values():  # warm every worker's recogniser
            await asyncio.gather(*(transcriber.transcribe(d, LANGUAGE, "v.ogg") for d in corpus))
        batch = corpus * rounds
        for _ in range(repeats):
            for workers, transcriber in transcribers.items():
                start, cpu_start = time.perf_counter(), time.process_time()
                transcripts = await asyncio.gather(
                    *(transcriber.transcribe(data, LANGUAGE, "voice.ogg") for data in batch)
                )
                wall = time.perf_counter() - start
                cpu_per_wall = (time.process_time() - cpu_start) / wall
                rate = sum(t.duration_s for t in transcripts) / wall
                best[workers] = max(best[workers], (rate, cpu_per_wall))
    finally:
        for transcriber in transcribers.values():
            transcriber.close()
    return best


def worker_peak_rss_mb(models_dir: Path, corpus: list[bytes], workers: int) -> float:
    """Peak RSS of a fresh process that transcribes the corpus with ``workers`` threads."""

    async def transcribe_corpus_twice() -> None:
        transcriber = Transcriber(models_dir, max_workers=workers)
        try:
            for _ in range(2):
                await asyncio.gather(
                    *(transcriber.transcribe(d, LANGUAGE, "v.ogg") for d in corpus)
                )
        finally:
            transcriber.close()

    asyncio.run(transcribe_corpus_twice())
    # VmHWM, not getrusage: ru_maxrss survives exec and would report the parent's peak
    status = Path("/proc/self/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM:")).split()[1]) / 1024


def main() -> None:
    """Run the speech benchmark and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the corpus")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs, best kept")
    args = parser.parse_args()

    corpus = load_corpus()
    transcriber = Transcriber(args.models_dir, max_workers=1)
    start = time.perf_counter()
    model = transcriber.preload(LANGUAGE)
    print(f"model load: {time.perf_counter() - start:.1f} s ({model.name}, {model.source})")
    try:
        bench_full_path(transcriber, corpus, args.rounds)
    finally:
        transcriber.close()

    load = os.getloadavg()[0]
    print(f"load average before the worker runs: {load:.2f} (scaling needs 2 idle cores)")
    best = asyncio.run(best_throughputs(args.models_dir, corpus, args.rounds, args.repeats))
    (one, one_cpu), (two, two_cpu) = best[1], best[2]
    print(f"throughput, 1 worker: {one:.1f} audio-s/s (CPU busy {one_cpu:.2f} cores)")
    print(f"throughput, 2 workers: {two:.1f} audio-s/s (CPU busy {two_cpu:.2f} cores)")
    print(
        f"2 workers / 1 worker: {two / one:.2f}x (target >= {MIN_SCALING}x) "
        f"{verdict(two / one >= MIN_SCALING)}"
    )
    spawn = multiprocessing.get_context("spawn")  # fresh processes: nothing inherited
    for workers in (1, 2):
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            peak_mb = pool.submit(worker_peak_rss_mb, args.models_dir, corpus, workers).result()
        print(
            f"peak RSS of a worker process, one model and {workers} recogniser "
            f"thread{'s' if workers > 1 else ''}: {peak_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
