"""Building the outgoing mail for one outbox payload.

Payload: ``{"to", "subject", "text", "message_id", "in_reply_to", "references",
"auto_submitted", "attachments": [{"sha256", "filename", "content_type"}]}``.

Threading, as the three clients that matter need it:

* **Thunderbird** threads on ``References`` (then ``In-Reply-To``). ``References`` is the
  parent's References plus the parent's Message-ID; we make sure ``In-Reply-To`` is its last
  entry. Identifiers are never RFC 2047-encoded or split: Python's default folding encodes a
  long ``<id>`` in In-Reply-To/References, which silently breaks threading, so these two
  headers are folded here, one whole identifier per line when needed.
* **Gmail** groups a message into a conversation only when it references a message of the
  conversation *and* its subject matches after removing ``Re:``/``Fwd:``. Hence the subject
  of a ticket's mails must stay the same apart from the ``Re:`` (see ``subjects.py``).
* **Outlook/Exchange** group by conversation: the GUID in ``Thread-Index`` when present,
  otherwise the conversation topic (``Thread-Topic``, else the subject without prefixes),
  and they use In-Reply-To/References only to find a parent already in the mailbox. We send
  ``Thread-Topic`` (the subject without ``Re:``, identical for every mail of a ticket) and
  no ``Thread-Index``: a correct one extends the parent's index, which the outbox does not
  carry, while a fresh or made-up index per message would split the conversation.

Text is UTF-8 and the whole message is 7-bit clean (quoted-printable or base64), so any
relay accepts it without 8BITMIME. Mail marked ``auto_submitted`` also gets
``X-Auto-Response-Suppress: All`` so Exchange does not answer it with out-of-office notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr
from typing import Any

from core.storage.blobs import BlobStore
from intake.email.automatic import LOOP_HEADER
from intake.email.filenames import safe_filename
from intake.email.headers import message_ids
from intake.email.subjects import base_subject

_ID_LIST_HEADERS = {"in-reply-to", "references"}
_FOLD_WIDTH = 78


class _OutgoingPolicy(EmailPolicy):
    """SMTP line endings, 7-bit output, and identifier lists folded without encoding."""

    def fold(self, name: str, value: str) -> str:
        if name.lower() in _ID_LIST_HEADERS:
            return _fold_identifiers(name, str(value), self.linesep)
        return super().fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        if name.lower() in _ID_LIST_HEADERS:
            return _fold_identifiers(name, str(value), self.linesep).encode("ascii")
        return super().fold_binary(name, value)


OUTGOING_POLICY = _OutgoingPolicy(linesep="\r\n", cte_type="7bit")


def compose_message(
    payload: Mapping[str, Any],
    *,
    from_address: str,
    blobs: BlobStore,
    now: datetime | None = None,
) -> EmailMessage:
    """Build the mail for ``payload``; raises ``ValueError`` for a payload that cannot be sent."""
    recipient = parseaddr(str(payload.get("to") or ""))[1]
    if "@" not in recipient:
        raise ValueError(f"no recipient address in {payload.get('to')!r}")
    own_ids = message_ids(str(payload.get("message_id") or ""))
    if len(own_ids) != 1:
        raise ValueError(f"message_id must be one <id@domain>, got {payload.get('message_id')!r}")
    subject = " ".join(str(payload.get("subject") or "").split())

    message = EmailMessage(policy=OUTGOING_POLICY)
    message["From"] = from_address
    message["To"] = str(payload["to"])
    message["Subject"] = subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = own_ids[0]
    parent = message_ids(str(payload.get("in_reply_to") or ""))
    references = [ref for raw in payload.get("references") or [] for ref in message_ids(str(raw))]
    if parent:
        message["In-Reply-To"] = parent[0]
        references = [ref for ref in references if ref != parent[0]] + [parent[0]]
    if references:
        message["References"] = " ".join(dict.fromkeys(references))
    message["Thread-Topic"] = base_subject(subject)
    message[LOOP_HEADER] = parseaddr(from_address)[1]
    if payload.get("auto_submitted"):
        message["Auto-Submitted"] = str(payload["auto_submitted"])
        message["X-Auto-Response-Suppress"] = "All"
    message.set_content(str(payload.get("text") or ""), charset="utf-8")
    for index, attachment in enumerate(payload.get("attachments") or [], start=1):
        content_type = str(attachment.get("content_type") or "application/octet-stream")
        maintype, _, subtype = content_type.partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            blobs.read(str(attachment["sha256"])),
            maintype=maintype,
            subtype=subtype,
            filename=safe_filename(attachment.get("filename"), content_type, index),
        )
    return message


def _fold_identifiers(name: str, value: str, linesep: str) -> str:
    """Fold a list of ``<id>`` tokens at spaces only, never inside an identifier."""
    lines = [f"{name}:"]
    for token in value.split():
        if len(lines[-1]) + 1 + len(token) > _FOLD_WIDTH and lines[-1] != f"{name}:":
            lines.append("")
        lines[-1] += f" {token}"
    return linesep.join(lines) + linesep
