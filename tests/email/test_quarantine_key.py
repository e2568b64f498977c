"""The quarantine's key of a mail is what the standard library's header parser reads: the
quick reading must not count a mail under another key, nor miss a field."""

from __future__ import annotations

import hashlib
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

import pytest

from intake.email.quarantine import mail_key

EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
MESSAGES = sorted(p.name for p in EMAILS.iterdir() if p.suffix == ".eml")


def parsed_key(raw: bytes) -> tuple[str, str, str]:
    """The key as the header parser gives it (what mail_key did before it read fields itself)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw, headersonly=True)
    sender = " ".join(str(headers.get("From", "")).split())
    subject = " ".join(str(headers.get("Subject", "")).split())
    message_id = str(headers.get("Message-ID", "")).strip()
    if message_id:
        basis = f"{message_id}\0{sender}".encode("utf-8", "surrogateescape")
    else:
        body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
        basis = f"{sender}\0{subject}\0".encode("utf-8", "surrogateescape") + body
    return hashlib.sha256(basis).hexdigest(), sender, subject


@pytest.mark.parametrize("name", MESSAGES)
def test_a_corpus_mail_has_the_parsers_key(name: str) -> None:
    raw = (EMAILS / name).read_bytes()

    assert mail_key(raw) == parsed_key(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"From sender@x.example Mon Dec  1 10:00:00 2026\nFrom: A <a@x.example>\nSubject: s\n\nb",
        b"Subject: one\r\nSubject: two\r\nFrom: b@x.example\r\nMessage-ID: <m@x>\r\n\r\nbody",
        b"From: =?utf-8?q?Z?=\r\n <z@x.example>\r\nMessage-ID:\r\n <folded@x>\r\n\r\nbody",
        b"From: caf\xc3\xa9 <c@x.example>\r\nSubject: \xd0\x9b\xd0\xb8\xd1\x84\xd1\x82\r\n\r\nb",
        b"From: a@x.example\r\nnot a field\r\nMessage-ID: <hidden@x>\r\n\r\nbody",
        b"X-Spam: yes\r\n\r\nFrom: in the body <b@x.example>\r\n",
        b"From: a@x.example\r\nSubject: s\r\nMessage-ID: <m@x>\r\n\tfolded\r\n"
        b"From: later@x.example\r\n\r\nbody",
        b"Subject: s\r\nFrom: a@x.example\r\r\n\r\nbody",
        b"From: a@x.example\nSubject: s\n\r\nbody",
    ],
    ids=[
        "mbox-line",
        "first-copy",
        "folded",
        "8-bit",
        "no-separator",
        "no-from",
        "all-three-then-more",
        "stray-cr",
        "lf-then-crlf",
    ],
)
def test_odd_header_sections_have_the_parsers_key(raw: bytes) -> None:
    assert mail_key(raw) == parsed_key(raw)
