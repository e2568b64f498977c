"""Telegram outbox payloads that can never be delivered are refused before any call."""

from __future__ import annotations

from typing import Any

import pytest

from bots.telegram_payload import InvalidPayloadError, parse_payload
from core.messaging.delivery import PermanentDeliveryError

PHOTO = {"sha256": "0f" * 32, "filename": "leak.jpg", "content_type": "image/jpeg"}


def test_a_full_payload_is_read() -> None:
    parsed = parse_payload(
        {
            "method": "sendPhoto",
            "caption": "Leak",
            "reply_to_message_id": 12,
            "reply_markup": {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]},
            "files": [PHOTO],
        }
    )

    assert parsed.method == "sendPhoto"
    assert parsed.caption == "Leak"
    assert parsed.reply_to_message_id == 12
    assert parsed.files[0].sha256 == "0f" * 32
    assert parsed.files[0].filename == "leak.jpg"
    assert parsed.files[0].content_type == "image/jpeg"


def test_a_file_without_name_or_type_gets_safe_defaults() -> None:
    parsed = parse_payload({"method": "sendDocument", "files": [{"sha256": "a1" * 32}]})

    assert parsed.files[0].filename == "attachment"
    assert parsed.files[0].content_type == "application/octet-stream"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"method": "sendSticker", "text": "hi"}, "unsupported Telegram method"),
        ({"text": "hi"}, "unsupported Telegram method"),
        ({"method": "sendMessage", "text": "  "}, "non-empty text"),
        ({"method": "sendMessage", "text": 42}, "text must be str"),
        ({"method": "editMessageText", "text": "x"}, "message_id"),
        ({"method": "sendMessage", "text": "x", "reply_to_message_id": "7"}, "must be int"),
        ({"method": "sendMessage", "text": "x", "reply_to_message_id": True}, "must be int"),
        ({"method": "sendPhoto", "files": []}, "exactly one file"),
        ({"method": "sendPhoto", "files": [PHOTO, PHOTO]}, "exactly one file"),
        ({"method": "sendMediaGroup", "files": [PHOTO] * 11}, "1 to 10 files"),
        (
            {
                "method": "sendMediaGroup",
                "files": [PHOTO] * 2,
                "reply_markup": {"inline_keyboard": []},
            },
            "cannot carry a keyboard",
        ),
        ({"method": "sendDocument", "files": [{"sha256": "../../etc/passwd"}]}, "sha256"),
        (
            {"method": "sendMessage", "text": "x", "reply_markup": {"keyboard": []}},
            "inline_keyboard",
        ),
    ],
)
def test_an_undeliverable_payload_is_permanent(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidPayloadError, match=reason) as caught:
        parse_payload(payload)

    assert isinstance(caught.value, PermanentDeliveryError)
