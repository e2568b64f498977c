"""Recognising delivery reports (bounces) and finding which of our mails failed.

Standard DSNs (RFC 3464: ``multipart/report; report-type=delivery-status``) are read from
their ``message/delivery-status`` part; the original Message-ID comes from the returned
``message/rfc822`` or ``text/rfc822-headers`` part. Non-standard bounces (Gmail's old plain
text, qmail, Exim without DSN, DragonFly) are recognised by a robot sender (or ``<>`` as the
From address), an empty Return-Path or ``X-Failed-Recipients`` together with a bounce subject
or wording, and read heuristically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from intake.email.headers import header_text, message_ids, names_null_address
from intake.email.parse import Attachment, ParsedMail, parse_message

_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_SMTP_REPLY = re.compile(r"\b[45]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\b)?.*")
_ADDRESS = re.compile(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+")
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*(<[^>\s]+>)", re.IGNORECASE | re.MULTILINE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery failure|failure notice|returned mail"
    r"|mail delivery failed|could not be delivered|nicht zustellbar|unzustellbar"
    r"|non remis|non distribuable|недоставлен|не доставлен|niedostarczon",
    re.IGNORECASE,
)
_BOUNCE_WORDING = re.compile(
    r"could not be delivered|delivery to the following recipient|permanent(?:ly)? fail"
    r"|wasn't able to deliver|was not delivered|undeliverable",
    re.IGNORECASE,
)
_ROBOT_SENDERS = ("mailer-daemon@", "postmaster@")
_REPORT_TYPES = {"message/delivery-status", "message/global-delivery-status"}
_RETURNED_TYPES = {"message/rfc822", "message/global", "text/rfc822-headers"}


@dataclass(frozen=True)
class BounceInfo:
    """What a delivery report says about one failed (or delayed) recipient."""

    original_message_id: str | None
    recipient: str | None
    status: str | None
    diagnostic: str | None
    action: str = "failed"

    @property
    def succeeded(self) -> bool:
        """True for a report of success, not of failure (RFC 3464 "delivered", "relayed",
        "expanded": some MTAs send one when asked for, or when relaying to a non-DSN host)."""
        return self.action in {"delivered", "relayed", "expanded"}

    @property
    def permanent(self) -> bool:
        """True when the sender should give up (failed, or a 5.x.x status)."""
        if self.status:
            return self.status.startswith("5")
        return self.action == "failed"


def bounce_info(mail: ParsedMail | bytes) -> BounceInfo | None:
    """Return what a delivery report says, or None when ``mail`` is not one."""
    if isinstance(mail, bytes):
        mail = parse_message(mail, max_attachment_bytes=len(mail))
    report = next((part for part in mail.attachments if part.content_type in _REPORT_TYPES), None)
    if report is not None:
        return _from_report(mail, report)
    if _looks_like_bounce(mail):
        return _from_wording(mail)
    return None


def _from_report(mail: ParsedMail, report: Attachment) -> BounceInfo:
    blocks = _field_blocks(report.data.decode("utf-8", "replace"))
    recipients = [block for block in blocks[1:] if "action" in block or "final-recipient" in block]
    chosen = next(
        (block for block in recipients if block.get("action", "").lower() == "failed"),
        recipients[0] if recipients else {},
    )
    recipient = _after_type(chosen.get("final-recipient") or chosen.get("original-recipient"))
    return BounceInfo(
        original_message_id=_returned_message_id(mail),
        recipient=(recipient or mail.header("X-Failed-Recipients") or "").lower() or None,
        status=chosen.get("status", "").split(" ")[0] or None,
        diagnostic=_after_type(chosen.get("diagnostic-code")),
        action=chosen.get("action", "failed").lower(),
    )


def _from_wording(mail: ParsedMail) -> BounceInfo:
    text = mail.body
    own_part = re.split(
        r"^.*(?:original message|copy of the message|below this line)",
        text,
        maxsplit=1,
        flags=re.IGNORECASE | re.MULTILINE,
    )[0]
    status = _STATUS.search(own_part)
    diagnostic = _SMTP_REPLY.search(own_part)
    failed = mail.header("X-Failed-Recipients")
    addresses = [a for a in _ADDRESS.findall(own_part) if a.lower() != mail.sender]
    recipient = failed or (addresses[0] if addresses else None)
    message_id = _returned_message_id(mail)
    if message_id is None:
        quoted = _MESSAGE_ID_LINE.search(text)
        message_id = quoted.group(1) if quoted else None
    return BounceInfo(
        original_message_id=message_id,
        recipient=recipient.strip().lower() if recipient else None,
        status=status.group(1) if status else None,
        diagnostic=diagnostic.group(0).strip() if diagnostic else None,
        action="delayed" if status and status.group(1).startswith("4") else "failed",
    )


def _looks_like_bounce(mail: ParsedMail) -> bool:
    robot = (mail.sender or "").startswith(_ROBOT_SENDERS) or names_null_address(
        mail.header("From")
    )
    empty_return_path = (mail.header("Return-Path") or "").strip() == "<>"
    failed_header = mail.header("X-Failed-Recipients") is not None
    if not (robot or empty_return_path or failed_header):
        return False
    return (
        failed_header
        or bool(_BOUNCE_SUBJECT.search(mail.subject))
        or bool(_BOUNCE_WORDING.search(mail.body))
    )


def _returned_message_id(mail: ParsedMail) -> str | None:
    for part in mail.attachments:
        if part.content_type in _RETURNED_TYPES:
            headers = BytesHeaderParser().parsebytes(part.data)
            ids = message_ids(headers.get("Message-ID"))
            if ids:
                return ids[0]
    return None


def _field_blocks(text: str) -> list[dict[str, str]]:
    """Split delivery-status text into blocks of lower-cased field name -> unfolded value."""
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        name = ""
        for line in chunk.split("\n"):
            if line[:1] in {" ", "\t"} and name:
                fields[name] += " " + line.strip()
            elif ":" in line:
                name, value = line.split(":", 1)
                name = name.strip().lower()
                fields[name] = value.strip()
        if fields:
            blocks.append({key: header_text(value) for key, value in fields.items()})
    return blocks


def _after_type(value: str | None) -> str | None:
    """``"rfc822; a@b"`` -> ``"a@b"``, ``"smtp; 550 ..."`` -> ``"550 ..."``."""
    if not value:
        return None
    return value.split(";", 1)[-1].strip() or None
