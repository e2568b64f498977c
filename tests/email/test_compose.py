"""compose_message: threading headers, loop and auto-reply marks, 7-bit output, attachments."""

from __future__ import annotations

import email
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.messaging.message import Action, FileRef, OutgoingMessage, Verb
from core.storage.blobs import digest_of
from intake.email.automatic import automatic_reason
from intake.email.compose import compose_message
from intake.email.parse import parse_message
from intake.email.rating import NOT_FIXED, RatingToken, verify
from intake.email.wording import RatingLinks

LONG_ID = "<" + "a" * 90 + "@mail.resident.example>"
FROM = "Housedesk <help@housedesk.example>"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


TO = "Иван Петров <ivan@resident.example>"
REPLY = OutgoingMessage(
    "Здравствуйте!\nСантехник придёт сегодня в 18:00.",
    subject="Re: [#43] Протечка в ванной, кв. 12",
    message_id="<out-43-2@housedesk.example>",
    answers=LONG_ID,
    thread=("<root-43@resident.example>", LONG_ID, "<out-43-1@housedesk.example>"),
)


def _compose(
    tmp_path: Path,
    to: str = TO,
    links: RatingLinks | None = None,
    contents: dict[str, bytes] | None = None,
    **changes: Any,
) -> bytes:
    message = compose_message(
        replace(REPLY, **changes),
        to=to,
        from_address=FROM,
        files=contents or {},
        now=NOW,
        links=links,
    )
    return message.as_bytes()


def test_threading_headers_are_exact_and_never_encoded(tmp_path: Path) -> None:
    raw = _compose(tmp_path)
    message = email.message_from_bytes(raw)

    assert message["Message-ID"] == "<out-43-2@housedesk.example>"
    assert message["In-Reply-To"] == LONG_ID
    assert message["References"].split() == [
        "<root-43@resident.example>",
        "<out-43-1@housedesk.example>",
        LONG_ID,  # the parent comes last
    ]
    assert b"=?" not in raw.split(b"\r\nReferences:")[1].split(b"\r\nThread-Topic")[0]
    assert message["Date"] == "Wed, 25 Nov 2026 12:00:00 +0000"
    assert message["X-Housedesk-Loop"] == "help@housedesk.example"


def test_reply_to_a_mail_without_references_still_references_it(tmp_path: Path) -> None:
    message = email.message_from_bytes(_compose(tmp_path, thread=(), answers="<first@r.ex>"))

    assert (message["In-Reply-To"], message["References"]) == ("<first@r.ex>", "<first@r.ex>")


def test_first_mail_of_a_ticket_has_no_reply_headers(tmp_path: Path) -> None:
    message = email.message_from_bytes(
        _compose(tmp_path, answers=None, thread=(), subject="[#43] Протечка в ванной")
    )

    assert message["In-Reply-To"] is None and message["References"] is None


def test_output_is_7bit_clean_with_short_lines_and_round_trips(tmp_path: Path) -> None:
    raw = _compose(tmp_path)
    mail = parse_message(raw, max_attachment_bytes=1024)

    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert mail.subject == "Re: [#43] Протечка в ванной, кв. 12"
    assert "Здравствуйте!\nСантехник придёт сегодня в 18:00." in mail.body
    assert mail.to == ("ivan@resident.example",)
    assert mail.header("Thread-Topic") == "[#43] Протечка в ванной, кв. 12"


def test_our_own_mail_coming_back_is_recognised_as_a_loop(tmp_path: Path) -> None:
    mail = parse_message(_compose(tmp_path), max_attachment_bytes=1024)

    assert automatic_reason(mail, {"help@housedesk.example"}) == "our own X-Housedesk-Loop header"


def test_automatic_mail_is_marked_as_a_reply_or_as_generated(tmp_path: Path) -> None:
    auto = email.message_from_bytes(_compose(tmp_path, automatic=True))
    notice = email.message_from_bytes(_compose(tmp_path, automatic=True, answers=None, thread=()))
    human = email.message_from_bytes(_compose(tmp_path))

    assert (auto["Auto-Submitted"], auto["X-Auto-Response-Suppress"]) == ("auto-replied", "All")
    assert (notice["Auto-Submitted"], notice["X-Auto-Response-Suppress"]) == (
        "auto-generated",
        "All",
    )
    assert (human["Auto-Submitted"], human["X-Auto-Response-Suppress"]) == (None, None)


def test_actions_are_left_out_and_the_language_is_named(tmp_path: Path) -> None:
    rate = ((Action("★★★★★", Verb.RATE, 43, 5), Action("Не исправлено", Verb.REOPEN, 43)),)
    raw = _compose(tmp_path, actions=rate, language="ru")
    mail = parse_message(raw, max_attachment_bytes=1024)

    assert "Сантехник придёт сегодня в 18:00." in mail.body
    assert "★" not in mail.body  # the buttons' labels are not shown
    assert "цифрой от 1 (плохо) до 5 (отлично)" in mail.body  # how to rate by reply
    assert "Не исправлено? Ответьте «не исправлено»" in mail.body
    assert mail.attachments == ()
    assert mail.header("Content-Language") == "ru"


def test_done_mail_carries_signed_rating_links(tmp_path: Path) -> None:
    rate = ((Action("★★★★★", Verb.RATE, 43, 5), Action("Not fixed", Verb.REOPEN, 43)),)
    links = RatingLinks("https://help.example/", b"secret")
    raw = _compose(tmp_path, actions=rate, language="en", links=links)
    body = parse_message(raw, max_attachment_bytes=1024).body

    assert "Reply to this mail with a digit from 1 (poor) to 5" in body
    five = re.search(r"^★★★★★ https://help\.example/rate/(\S+)$", body, re.M)
    broken = re.search(r"^Not fixed: https://help\.example/rate/(\S+)$", body, re.M)
    assert five and broken
    now = datetime(2026, 11, 25, 12, 1, tzinfo=UTC)
    assert verify(b"secret", five.group(1), now) == RatingToken(43, 5, NOW)
    assert verify(b"secret", broken.group(1), now) == RatingToken(43, NOT_FIXED, NOW)
    assert verify(b"other secret", five.group(1), now) is None


def test_attachments_are_attached_under_safe_names(tmp_path: Path) -> None:
    invoice, photo = b"%PDF-1.4 invoice", b"\xff\xd8\xff\xe0 photo"
    files = (
        FileRef(digest_of(invoice), "Счёт №5.pdf", "application/pdf"),
        FileRef(digest_of(photo), "../photo.jpg", "not a type"),
    )
    contents = {digest_of(invoice): invoice, digest_of(photo): photo}

    raw = _compose(tmp_path, files=files, contents=contents)
    mail = parse_message(raw, max_attachment_bytes=1024)

    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("Счёт №5.pdf", "application/pdf", b"%PDF-1.4 invoice"),
        ("photo.jpg", "application/octet-stream", b"\xff\xd8\xff\xe0 photo"),
    ]


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"to": "not an address"}, "no recipient address"),
        ({"to": ""}, "no recipient address"),
        ({"message_id": "out-1"}, "message_id must be one <id@domain>"),
        ({"message_id": "<a@x> <b@x>"}, "message_id must be one <id@domain>"),
        ({"message_id": None}, "message_id must be one <id@domain>"),
    ],
)
def test_unsendable_messages_are_refused(
    tmp_path: Path, changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        _compose(tmp_path, **changes)
