"""Every sample mail in tests/data/emails against its expectation in expected.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from intake.email.classify import MailKind, classify
from intake.email.html_text import html_to_text
from intake.email.parse import parse_message
from intake.email.quotes import strip_reply

EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
EXPECTED = tomllib.loads((EMAILS / "expected.toml").read_text(encoding="utf-8"))
OWN_ADDRESSES = {"help@housedesk.example"}


def test_every_sample_has_an_expectation_and_a_source() -> None:
    samples = {p.name for p in EMAILS.iterdir() if p.suffix in {".eml", ".txt", ".html"}}
    described = set(EXPECTED["messages"]) | set(EXPECTED["bodies"])
    sources = (EMAILS / "SOURCES.md").read_text(encoding="utf-8")

    assert samples == described
    assert [name for name in sorted(samples) if f"`{name}`" not in sources] == []


@pytest.mark.parametrize("name", sorted(EXPECTED["messages"]))
def test_message(name: str) -> None:
    expected: dict[str, Any] = EXPECTED["messages"][name]
    mail = parse_message((EMAILS / name).read_bytes(), max_attachment_bytes=5 * 1024 * 1024)
    result = classify(mail, OWN_ADDRESSES)

    assert result.kind == MailKind(expected["kind"]), result.reason
    assert mail.subject == expected["title"]
    assert (mail.sender or "") == expected["sender"]
    for phrase in expected["contains"]:
        assert phrase in mail.reply
    for phrase in expected["excludes"]:
        assert phrase not in mail.reply
    assert [part.filename for part in mail.attachments] == expected["attachments"]
    if "ticket" in expected:
        assert result.ticket_number == expected["ticket"]
    if result.kind is MailKind.BOUNCE:
        assert result.bounce is not None
        assert (result.bounce.original_message_id or "") == expected["bounce_message_id"]
        assert result.bounce.recipient == expected["bounce_recipient"]
        assert (result.bounce.status or "") == expected["bounce_status"]
        succeeded = expected.get("bounce_succeeded", False)
        assert result.bounce.succeeded == succeeded
        assert result.bounce.permanent != succeeded
    if "voicemail_caller" in expected:
        assert result.voicemail is not None
        assert result.voicemail.caller_number == expected["voicemail_caller"]
        assert result.voicemail.called_number == expected["voicemail_called"]
        assert result.voicemail.audio.data.startswith(b"RIFF")
    else:
        assert result.voicemail is None


@pytest.mark.parametrize("name", sorted(EXPECTED["bodies"]))
def test_reply_body(name: str) -> None:
    expected: dict[str, Any] = EXPECTED["bodies"][name]
    text = (EMAILS / name).read_text(encoding="utf-8")
    if expected.get("html"):
        text = html_to_text(text)

    reply = strip_reply(text)

    for phrase in expected["contains"]:
        assert phrase in reply
    for phrase in expected["excludes"]:
        assert phrase not in reply
