"""The channel-neutral outgoing message and its JSON form in outbox rows."""

from __future__ import annotations

from typing import Any

import pytest

from core.messaging.delivery import PermanentDeliveryError
from core.messaging.message import Action, FileRef, InvalidMessageError, OutgoingMessage, Verb

PHOTO = {"sha256": "0f" * 32, "filename": "leak.jpg", "content_type": "image/jpeg"}


def test_a_message_survives_the_outbox_row() -> None:
    message = OutgoingMessage(
        "Your request is done.",
        (FileRef("0f" * 32, "after.jpg", "image/jpeg"),),
        (
            tuple(Action("★" * n, Verb.RATE, 42, n) for n in range(1, 6)),
            (Action("Not fixed", Verb.REOPEN, 42),),
        ),
        subject="[T-42] Leak",
        message_id="<hd-42-1@example.org>",
        answers="<m1@tenant.example>",
        thread=("<m0@tenant.example>", "<m1@tenant.example>"),
        automatic=True,
        language="pl",
    )

    assert OutgoingMessage.from_payload(message.to_payload()) == message


def test_a_file_without_name_or_type_gets_safe_defaults() -> None:
    read = OutgoingMessage.from_payload({"v": 1, "text": "", "files": [{"sha256": "a1" * 32}]})

    assert read.files == (FileRef("a1" * 32, "attachment", "application/octet-stream"),)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"method": "sendMessage", "text": "hi"}, "not an outgoing message"),
        ({"v": 1, "text": "  "}, "needs a text or a file"),
        ({"v": 1, "text": 42}, "text must be str"),
        ({"v": 1, "text": "x", "files": [{"sha256": "../../etc/passwd"}]}, "sha256"),
        ({"v": 1, "text": "x", "actions": [[{"label": "Go", "verb": "fly", "ticket": 1}]]}, "verb"),
        (
            {"v": 1, "text": "x", "actions": [[{"label": "Go", "verb": "done", "ticket": "1"}]]},
            "integer",
        ),
        (
            {"v": 1, "text": "x", "actions": [[{"label": " ", "verb": "done", "ticket": 1}]]},
            "label",
        ),
        ({"v": 1, "text": "x", "actions": [[]]}, "non-empty rows"),
        ({"v": 1, "text": "x", "thread": [1]}, "thread must list strings"),
        ({"v": 1, "text": "x", "automatic": "yes"}, "automatic must be bool"),
    ],
)
def test_an_undeliverable_payload_is_permanent(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidMessageError, match=reason) as caught:
        OutgoingMessage.from_payload(payload)

    assert isinstance(caught.value, PermanentDeliveryError)
