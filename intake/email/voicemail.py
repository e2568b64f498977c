"""Recognising voicemail-to-email notifications from PBXs (Asterisk/FreePBX, 3CX, others).

Asterisk's app_voicemail sets ``X-Asterisk-CallerID`` / ``X-Asterisk-CallerIDName`` (and,
with IMAP storage, ``X-Asterisk-VM-Caller-ID-Num`` / ``X-Asterisk-VM-Extension``); its
default subject is "[PBX]: New message 1 in mailbox 100" and its body says "... from
5551234 ...". 3CX and most other PBXs only say it in the subject or body ("New voicemail
from 5551234 on ext 100", "Caller: ...", "Extension: ..."), so those are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.email.parse import Attachment, ParsedMail

_AUDIO_EXTENSIONS = {"wav", "gsm", "mp3", "ogg", "oga", "opus", "m4a", "aac", "amr", "flac"}
_NUMBER = r"(\+?\d[\d\s().-]{1,30}\d|\d)"
_CALLER_PATTERNS = (
    re.compile(
        r"^\s*(?:caller(?:\s*id)?|from|calling number|caller number)\s*:\s*(.+)$",
        re.IGNORECASE | re.MULTILINE,
    ),
    re.compile(r"\bfrom\s+(?:\"[^\"]*\"\s*)?<?" + _NUMBER + r">?", re.IGNORECASE),
)
_CALLED_PATTERNS = (
    re.compile(r"\b(?:mailbox|extension|ext\.?)\s*:?\s*#?(\d{1,10})\b", re.IGNORECASE),
    re.compile(
        r"^\s*(?:to|called number|dialed number)\s*:\s*" + _NUMBER, re.IGNORECASE | re.MULTILINE
    ),
)
_VOICEMAIL_WORDING = re.compile(r"voice\s*-?\s*mail|voice message|new message", re.IGNORECASE)


@dataclass(frozen=True)
class VoicemailParts:
    """The recording and the numbers of a voicemail notification."""

    audio: Attachment
    caller_number: str | None
    caller_name: str | None
    called_number: str | None


def voicemail_from_mail(mail: ParsedMail) -> VoicemailParts | None:
    """Return the voicemail in ``mail``, or None when it is not a voicemail notification."""
    audio = next((part for part in mail.attachments if _is_audio(part)), None)
    if audio is None:
        return None
    asterisk_number = mail.header("X-Asterisk-CallerID") or mail.header(
        "X-Asterisk-VM-Caller-ID-Num"
    )
    if asterisk_number is None and not _VOICEMAIL_WORDING.search(f"{mail.subject}\n{mail.body}"):
        return None
    text = f"{mail.subject}\n{mail.body}"
    caller_number = _digits(asterisk_number) or _first(_CALLER_PATTERNS, text)
    called = _digits(mail.header("X-Asterisk-VM-Extension")) or _first(_CALLED_PATTERNS, text)
    caller_name = mail.header("X-Asterisk-CallerIDName") or mail.header(
        "X-Asterisk-VM-Caller-ID-Name"
    )
    return VoicemailParts(
        audio=audio,
        caller_number=caller_number,
        caller_name=caller_name if caller_name and caller_name != caller_number else None,
        called_number=called,
    )


def _is_audio(part: Attachment) -> bool:
    extension = part.filename.rsplit(".", 1)[-1].lower() if "." in part.filename else ""
    return part.content_type.startswith("audio/") or extension in _AUDIO_EXTENSIONS


def _first(patterns: tuple[re.Pattern[str], ...], text: str) -> str | None:
    for pattern in patterns:
        for match in pattern.finditer(text):
            number = _digits(match.group(1))
            if number:
                return number
    return None


def _digits(value: str | None) -> str | None:
    """Keep a phone number's digits (and a leading +); None when there are no digits."""
    if not value:
        return None
    match = re.search(r"\+?\d[\d\s().-]*", value)
    if match is None:
        return None
    number = re.sub(r"[^\d+]", "", match.group(0))
    return number if len(number.lstrip("+")) >= 2 else None
