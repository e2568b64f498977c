"""The payload of a Telegram outbox delivery, checked before anything is sent.

The core writes it as a plain dict::

    {"method": "sendMessage" | "sendPhoto" | "sendDocument" | "sendMediaGroup"
               | "editMessageText",
     "text": str, "caption": str | None, "message_id": int (edits only),
     "reply_markup": {"inline_keyboard": [[{"text": .., "callback_data": ..}]]} | None,
     "reply_to_message_id": int | None,
     "files": [{"sha256": .., "filename": .., "content_type": ..}]}

A payload that breaks these rules can never be delivered, so it is a permanent error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.messaging.delivery import PermanentDeliveryError

METHODS = ("sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText")
MEDIA_GROUP_MAX = 10
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class InvalidPayloadError(PermanentDeliveryError):
    """The outbox row asks for something the Telegram sender can never do."""


@dataclass(frozen=True)
class FileRef:
    """An attachment in the blob store, uploaded under ``filename``."""

    sha256: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class TelegramPayload:
    """A validated Telegram delivery payload."""

    method: str
    text: str | None
    caption: str | None
    reply_markup: dict[str, Any] | None
    reply_to_message_id: int | None
    message_id: int | None
    files: tuple[FileRef, ...]


def parse_payload(payload: Mapping[str, Any]) -> TelegramPayload:
    """Check a payload dict and return it typed; raise :class:`InvalidPayloadError` if broken."""
    method = payload.get("method")
    if method not in METHODS:
        raise InvalidPayloadError(f"unsupported Telegram method {method!r}")
    parsed = TelegramPayload(
        method=method,
        text=_optional(payload, "text", str),
        caption=_optional(payload, "caption", str),
        reply_markup=_reply_markup(payload.get("reply_markup")),
        reply_to_message_id=_optional(payload, "reply_to_message_id", int),
        message_id=_optional(payload, "message_id", int),
        files=tuple(_file_ref(item) for item in payload.get("files") or ()),
    )
    _check_shape(parsed)
    return parsed


def _check_shape(parsed: TelegramPayload) -> None:
    if parsed.method in ("sendMessage", "editMessageText") and not (parsed.text or "").strip():
        raise InvalidPayloadError(f"{parsed.method} needs a non-empty text")
    if parsed.method == "editMessageText" and parsed.message_id is None:
        raise InvalidPayloadError("editMessageText needs the message_id to edit")
    if parsed.method in ("sendPhoto", "sendDocument") and len(parsed.files) != 1:
        raise InvalidPayloadError(f"{parsed.method} needs exactly one file")
    if parsed.method == "sendMediaGroup":
        if not 1 <= len(parsed.files) <= MEDIA_GROUP_MAX:
            raise InvalidPayloadError(f"sendMediaGroup needs 1 to {MEDIA_GROUP_MAX} files")
        if parsed.reply_markup is not None:
            raise InvalidPayloadError("Telegram media groups cannot carry a keyboard")


def _optional(payload: Mapping[str, Any], key: str, kind: type) -> Any:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidPayloadError(f"{key} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _reply_markup(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    rows = value.get("inline_keyboard") if isinstance(value, dict) else None
    if not isinstance(rows, list) or not all(
        isinstance(row, list) and all(isinstance(button, dict) for button in row) for row in rows
    ):
        raise InvalidPayloadError("reply_markup must be {'inline_keyboard': [[button, ...]]}")
    return value


def _file_ref(item: Any) -> FileRef:
    if not isinstance(item, dict) or not _SHA256.match(str(item.get("sha256", ""))):
        raise InvalidPayloadError(f"file entry without a sha256 digest: {item!r}")
    return FileRef(
        sha256=item["sha256"],
        filename=str(item.get("filename") or "attachment"),
        content_type=str(item.get("content_type") or "application/octet-stream"),
    )
