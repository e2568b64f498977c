"""A drop folder that a PBX writes voicemails into, polled every few seconds.

Files are grouped into messages by stem: Asterisk writes ``msg0001.wav`` (and possibly
``msg0001.WAV``, ``msg0001.gsm`` for other formats) plus ``msg0001.txt`` with ``callerid=``
and ``origmailbox=``; other PBXs may write ``<stem>.json`` with ``caller`` and ``called``.
A message is taken once its files are unchanged across two scans, or at once when a
``<stem>.done`` marker exists. One recording per message goes to the ingest callback (the
best format on offer); then the message's files move to ``processed/`` (accepted) or
``failed/`` with a ``.reason.txt`` (rejected), or stay for the next scan (deferred).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path

from intake.outcome import Accepted, Deferred, Outcome, Rejected
from intake.voicemail.item import VoicemailIngest, VoicemailItem, voicemail_source_id

log = logging.getLogger(__name__)

AUDIO_PREFERENCE = (
    ".wav",
    ".flac",
    ".WAV",  # Asterisk's wav49: GSM in a WAV container
    ".gsm",
    ".ulaw",
    ".alaw",
    ".ul",
    ".al",
    ".m4a",
    ".mp4",
    ".aac",
    ".mp3",
    ".ogg",
    ".oga",
    ".opus",
    ".amr",
    ".webm",
)
"""Accepted audio extensions, best first; when a message comes in several formats the
first one listed wins (exact case first, so ``.wav`` PCM beats Asterisk's GSM ``.WAV``)."""

_SIDECARS = (".json", ".txt")
_DONE = ".done"
_NO_NUMBER = {"", "unknown", "anonymous", "private", "restricted", "s"}
_ANGLE_NUMBER = re.compile(r"<([^<>]*)>")

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class FolderMessage:
    """The files of one voicemail in the drop folder."""

    stem: str
    audio: Path
    files: tuple[Path, ...]
    """Every file of the message: audio variants, sidecars and the done marker."""
    done: bool


@dataclass(frozen=True)
class ScanResult:
    """What happened to one message during a scan."""

    message: FolderMessage
    outcome: Outcome


class DropFolder:
    """Polls ``root`` for voicemails and hands each one to ``ingest`` exactly once."""

    def __init__(
        self, root: Path, ingest: VoicemailIngest, *, poll_interval_s: float = 5.0
    ) -> None:
        self.root = Path(root)
        self.processed_dir = self.root / "processed"
        self.failed_dir = self.root / "failed"
        self.poll_interval_s = poll_interval_s
        self._ingest = ingest
        self._previous: dict[str, Signature] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Scan every ``poll_interval_s`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.scan_once()
            except OSError as exc:
                log.warning("cannot scan the voicemail drop folder %s: %s", self.root, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_interval_s)

    async def scan_once(self) -> list[ScanResult]:
        """Take in every message that is ready now; return what happened to each."""
        groups, current = await asyncio.to_thread(_snapshot, self.root)
        results = []
        for stem, files in sorted(groups.items()):
            message = _message(stem, files)
            if message is None:
                continue
            if not message.done and self._previous.get(stem) != current[stem]:
                continue  # new or still being written: look again next scan
            outcome = await self._take(message)
            results.append(ScanResult(message, outcome))
        self._previous = current
        return results

    async def _take(self, message: FolderMessage) -> Outcome:
        try:
            item = await asyncio.to_thread(_read_item, message)
        except OSError as exc:
            log.warning("cannot read voicemail %s: %s", message.audio, exc)
            return Deferred(f"cannot read {message.audio.name}: {exc}")
        except ValueError as exc:
            reason = f"unreadable sidecar for {message.audio.name}: {exc}"
            await asyncio.to_thread(_move, message, self.failed_dir, message.stem, reason)
            return Rejected(reason)
        try:
            outcome = await self._ingest(item)
        except Exception:
            log.exception("voicemail ingest failed for %s", message.audio)
            return Deferred("temporary failure while taking in the voicemail")
        if isinstance(outcome, Accepted):
            await asyncio.to_thread(_move, message, self.processed_dir, item.source_id, None)
        elif isinstance(outcome, Rejected):
            await asyncio.to_thread(_move, message, self.failed_dir, item.source_id, outcome.reason)
        return outcome


def _snapshot(root: Path) -> tuple[dict[str, list[Path]], dict[str, Signature]]:
    """Group the visible files of ``root`` by stem and sign each group with sizes and times."""
    groups: dict[str, list[Path]] = {}
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue
            path = Path(entry.path)
            groups.setdefault(path.stem, []).append(path)
    return groups, {stem: _signature(files) for stem, files in groups.items()}


def _signature(files: list[Path]) -> Signature:
    signature = []
    for path in sorted(files):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        signature.append((path.name, info.st_size, info.st_mtime_ns))
    return tuple(signature)


def _message(stem: str, files: list[Path]) -> FolderMessage | None:
    ranked = [(rank, p) for p in files if (rank := _audio_rank(p.suffix)) is not None]
    if not ranked:
        return None
    audio = {p for _, p in ranked}
    mine = tuple(sorted(p for p in files if p in audio or p.suffix in (*_SIDECARS, _DONE)))
    done = any(p.suffix == _DONE for p in files)
    return FolderMessage(stem, min(ranked)[1], mine, done)


def _audio_rank(suffix: str) -> int | None:
    if suffix in AUDIO_PREFERENCE:
        return AUDIO_PREFERENCE.index(suffix)
    lowered = suffix.lower()
    return AUDIO_PREFERENCE.index(lowered) if lowered in AUDIO_PREFERENCE else None


def _read_item(message: FolderMessage) -> VoicemailItem:
    audio = message.audio.read_bytes()
    caller, called = _sidecar_numbers(message)
    return VoicemailItem(
        audio=audio,
        filename=message.audio.name,
        content_type=mimetypes.guess_type(message.audio.name)[0],
        caller=caller,
        called=called,
        source="folder",
        source_id=voicemail_source_id(audio, caller, called),
    )


def _sidecar_numbers(message: FolderMessage) -> tuple[str | None, str | None]:
    """Read caller and called number from ``<stem>.json`` or else ``<stem>.txt``.

    Raises ``ValueError`` for a JSON sidecar that does not parse.
    """
    by_suffix = {p.suffix: p for p in message.files}
    if ".json" in by_suffix:
        data = json.loads(by_suffix[".json"].read_text(encoding="utf-8", errors="replace"))
        if isinstance(data, dict):
            return _number(data.get("caller")), _number(data.get("called"))
    if ".txt" in by_suffix:
        values = _key_values(by_suffix[".txt"].read_text(encoding="utf-8", errors="replace"))
        caller = values.get("caller") or values.get("callerid")
        called = values.get("called") or values.get("origmailbox") or values.get("exten")
        return _number(caller), _number(called)
    return None, None


def _key_values(text: str) -> dict[str, str]:
    """Parse ``key=value`` lines (Asterisk's message .txt), skipping comments and sections."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in ";#[" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values.setdefault(key.strip().lower(), value.strip())
    return values


def _number(value: object) -> str | None:
    """Normalise a caller id (``"Jane" <5551234>`` -> ``5551234``); unknown -> ``None``."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    match = _ANGLE_NUMBER.search(text)
    if match:
        text = match.group(1).strip()
    return None if text.strip('"').lower() in _NO_NUMBER else text


def _move(message: FolderMessage, dest_dir: Path, tag: str, reason: str | None) -> None:
    """Move the message's files to ``dest_dir`` under ``<tag>-<name>`` (PBXs reuse names)."""
    dest_dir.mkdir(exist_ok=True)
    prefix = f"{tag[:12]}-"
    for path in message.files:
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, dest_dir / f"{prefix}{path.name}")
    if reason is not None:
        (dest_dir / f"{prefix}{message.stem}.reason.txt").write_text(reason + "\n", "utf-8")
