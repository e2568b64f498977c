"""What a Telegram message brings: its text and its files, stored in the blob store.

Files are downloaded through the bot that received them (a file id belongs to one bot) and
kept under their sha256; the other bot uploads them again from there. Captions count as text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.types import Location, Message, Venue

from core.i18n import N_
from core.storage.blobs import BlobStore
from core.tickets.commands import NewAttachment

log = logging.getLogger(__name__)

VOICE_NOT_TRANSCRIBED = N_("voice note not transcribed: listen to it")
"""What staff read on a ticket whose voice note nobody could transcribe."""

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF8", "image/gif", "gif"),
)


VoiceToText = Callable[[bytes, str], Awaitable[tuple[str, str]]]
"""Transcribes a voice note: ``(ogg bytes, language) -> (text, problem)``.

Wired by the composition root to the offline speech service; ``problem`` says why there is
no text (no model for the language, audio that cannot be decoded), else it is empty.
"""


@dataclass(frozen=True)
class Content:
    """The text and stored files of one message."""

    text: str = ""
    attachments: list[NewAttachment] = field(default_factory=list)
    kind: str = "text"
    """What the message mainly is: text, photo, document, voice, video, audio, location."""
    note: str = ""
    """Why a voice note has no transcript, for the operator's log (never shown to anyone)."""

    @property
    def described(self) -> str:
        """The text, as it goes onto the ticket."""
        return self.text

    @property
    def untranscribed(self) -> bool:
        """A voice note kept as audio only: a person must listen to it."""
        return self.kind == "voice" and bool(self.note)

    @property
    def empty(self) -> bool:
        """True for messages with nothing housedesk keeps (stickers, polls, games)."""
        return not self.text.strip() and not self.attachments


async def read_content(
    message: Message,
    bot: Bot,
    blobs: BlobStore,
    *,
    voice_to_text: VoiceToText | None = None,
    language: str = "en",
) -> Content:
    """Store the message's files and collect its text (a location becomes a map link).

    With ``voice_to_text``, a voice note's transcript (in ``language``) joins the text.
    """
    text = message.text or message.caption or ""
    if message.location is not None:
        line = location_line(message.location, message.venue)
        return Content(f"{text}\n{line}".strip(), kind="location")
    if message.photo:
        largest = message.photo[-1]
        data = await _download(bot, largest.file_id)
        content_type, suffix = _sniff_image(data)
        name = f"photo_{message.message_id}.{suffix}"
        return Content(text, [await _store(blobs, data, content_type, name)], "photo")
    if message.voice is not None:
        data = await _download(bot, message.voice.file_id)
        note = await _store(
            blobs, data, message.voice.mime_type or "audio/ogg", f"voice_{message.message_id}.ogg"
        )
        spoken, problem = await voice_to_text(data, language) if voice_to_text else ("", "")
        if problem:
            log.warning("voice note %s kept as audio: %s", message.message_id, problem)
        return Content("\n".join(p for p in (text, spoken) if p), [note], "voice", problem)
    for kind, item in (
        ("document", message.document),
        ("video", message.video),
        ("audio", message.audio),
    ):
        if item is not None:
            data = await _download(bot, item.file_id)
            name = item.file_name or f"{kind}_{message.message_id}"
            mime = item.mime_type or "application/octet-stream"
            return Content(text, [await _store(blobs, data, mime, name)], kind)
    return Content(text)


def location_line(location: Location, venue: Venue | None = None) -> str:
    """A shared location as one line of text with a map link."""
    lat, lon = location.latitude, location.longitude
    link = (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"
    )
    place = f"{venue.title}: " if venue is not None else ""
    return f"📍 {place}{lat:.6f}, {lon:.6f} {link}"


async def _download(bot: Bot, file_id: str) -> bytes:
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    return buffer.getvalue()


async def _store(blobs: BlobStore, data: bytes, content_type: str, name: str) -> NewAttachment:
    stored = await blobs.put(data)
    return NewAttachment(stored.sha256, stored.size, content_type, name)


def _sniff_image(data: bytes) -> tuple[str, str]:
    """Telegram re-encodes photos as JPEG; trust the bytes, not an assumption."""
    for signature, content_type, suffix in _SIGNATURES:
        if data.startswith(signature):
            return content_type, suffix
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return "image/jpeg", "jpg"
