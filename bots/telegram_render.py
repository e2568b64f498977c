"""Render a channel-neutral outgoing message as the Telegram messages that show it.

One :class:`~core.messaging.message.OutgoingMessage` becomes an ordered list of
:class:`Part`, one Bot API call each, sent in that order:

* the text, split at paragraph, line or word boundaries into messages of at most
  :data:`TEXT_LIMIT` characters (counted as Telegram does, in UTF-16 code units);
* then the photos, in albums of at most :data:`ALBUM_LIMIT` (one photo alone is a photo);
* then the other files as documents, grouped the same way.

A text that fits a caption (:data:`CAPTION_LIMIT`) rides on the files instead of coming
first: on a single file, or on the first album when there are no buttons (albums cannot
carry a keyboard). The actions become an inline keyboard on the first part that can carry
one: the last text part, or the single captioned file.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bots.callbacks import pack_action
from core.messaging.message import Action, FileRef, InvalidMessageError, OutgoingMessage

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ALBUM_LIMIT = 10

Keyboard = dict[str, Any]
"""A Bot API ``InlineKeyboardMarkup`` as JSON: ``{"inline_keyboard": [[button, ...], ...]}``."""


class Method(StrEnum):
    """The Bot API methods a part is sent with."""

    SEND_MESSAGE = "sendMessage"
    SEND_PHOTO = "sendPhoto"
    SEND_DOCUMENT = "sendDocument"
    SEND_MEDIA_GROUP = "sendMediaGroup"
    EDIT_MESSAGE_TEXT = "editMessageText"


@dataclass(frozen=True)
class Part:
    """One Bot API call: a text message, or files with ``text`` as their caption."""

    method: Method
    text: str = ""
    files: tuple[FileRef, ...] = ()
    keyboard: Keyboard | None = None


def inline_keyboard(actions: tuple[tuple[Action, ...], ...]) -> Keyboard:
    """The inline keyboard offering ``actions``, one keyboard row per row of actions."""
    return {
        "inline_keyboard": [
            [{"text": action.label, "callback_data": pack_action(action)} for action in row]
            for row in actions
        ]
    }


def render(message: OutgoingMessage) -> list[Part]:
    """The parts that show ``message``, in sending order (an edit is one part: the text, cut
    to what one message holds, and its buttons)."""
    keyboard = inline_keyboard(message.actions) if message.actions else None
    if message.edits is not None:
        text = message.text[: _fitting(message.text, TEXT_LIMIT)]
        return [Part(Method.EDIT_MESSAGE_TEXT, text, keyboard=keyboard)]
    text = message.text if message.text.strip() else ""
    groups = _groups(message.files)
    one_file = len(message.files) == 1
    captioned = (
        bool(groups)
        and telegram_length(text) <= CAPTION_LIMIT
        and (one_file or (keyboard is None and len(message.files) <= ALBUM_LIMIT))
    )
    if captioned:
        first = _with_keyboard(_file_part(groups[0], text), keyboard)
        return [first, *(_file_part(group, "") for group in groups[1:])]
    texts = [Part(Method.SEND_MESSAGE, chunk) for chunk in split_text(text)] if text else []
    files = [_file_part(group, "") for group in groups]
    if keyboard is not None:
        if texts:
            texts[-1] = _with_keyboard(texts[-1], keyboard)
        elif files and len(files[0].files) == 1:
            files[0] = _with_keyboard(files[0], keyboard)
        else:
            raise InvalidMessageError("actions need a text or a single file to hang on")
    return [*texts, *files]


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units.

    Each cut is at the last paragraph break, else line break, else space in the second half
    of what fits (else anywhere in it), so pieces stay long; a word longer than ``limit`` is
    cut where the limit falls.
    """
    pieces: list[str] = []
    rest = text
    while telegram_length(rest) > limit:
        window = rest[: _fitting(rest, limit)]
        cut, separator = _cut(window)
        pieces.append(window[:cut].rstrip())
        rest = rest[cut + len(separator) :].lstrip("\n")
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]


def _cut(window: str) -> tuple[int, str]:
    """Where to cut ``window`` and the separator dropped there."""
    for least in (len(window) // 2, 1):
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut >= least:
                return cut, separator
    return len(window), ""


def telegram_length(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    count = min(len(text), limit)
    while (over := telegram_length(text[:count]) - limit) > 0:
        count -= (over + 1) // 2  # a character is at most two units
    return count


def _groups(files: tuple[FileRef, ...]) -> list[tuple[FileRef, ...]]:
    photos = tuple(f for f in files if f.is_image)
    others = tuple(f for f in files if not f.is_image)
    return [
        kind[start : start + ALBUM_LIMIT]
        for kind in (photos, others)
        for start in range(0, len(kind), ALBUM_LIMIT)
    ]


def _file_part(group: tuple[FileRef, ...], caption: str) -> Part:
    if len(group) > 1:
        return Part(Method.SEND_MEDIA_GROUP, caption, group)
    method = Method.SEND_PHOTO if group[0].is_image else Method.SEND_DOCUMENT
    return Part(method, caption, group)


def _with_keyboard(part: Part, keyboard: Keyboard | None) -> Part:
    return Part(part.method, part.text, part.files, keyboard)
