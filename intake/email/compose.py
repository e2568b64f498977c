"""Building the outgoing mail for one channel-neutral outgoing message.

The message (``core.messaging.message.OutgoingMessage``) gives the subject, the text, the
Message-ID reserved for it (``message_id``), the message it answers (``answers``, which
becomes In-Reply-To) and the earlier ids of its conversation (``thread``, which with the
answered id makes References), whether it is automatic, and the files to attach. Its
actions (buttons in a chat) are left out: a mail cannot carry them, and the text core
writes already tells a mail reader how to answer.

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
relay accepts it without 8BITMIME. An automatic message is ``Auto-Submitted: auto-replied``
when it answers a mail and ``auto-generated`` otherwise (RFC 3834), and also gets
``X-Auto-Response-Suppress: All`` so Exchange does not answer it with out-of-office notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, parseaddr

from core.messaging.message import OutgoingMessage
from intake.email.automatic import LOOP_HEADER
from intake.email.filenames import safe_filename
from intake.email.headers import message_ids
from intake.email.subjects import base_subject
from intake.email.wording import Emergency, RatingLinks, mail_text

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
    outgoing: OutgoingMessage,
    *,
    to: str,
    from_address: str,
    files: Mapping[str, bytes],
    now: datetime | None = None,
    links: RatingLinks | None = None,
    emergency: Emergency | None = None,
) -> EmailMessage:
    """Build the mail showing ``outgoing`` to ``to``; ``ValueError`` when it cannot be sent.
    ``links``: signed rating links under a "done" mail; ``emergency``: the building's
    emergency phone in an acknowledgement (see :mod:`intake.email.wording`); ``files`` holds
    the bytes of the message's files by digest (``KeyError`` for one it lacks)."""
    recipient = parseaddr(to)[1]
    if "@" not in recipient:
        raise ValueError(f"no recipient address in {to!r}")
    own_ids = message_ids(outgoing.message_id or "")
    if len(own_ids) != 1:
        raise ValueError(f"message_id must be one <id@domain>, got {outgoing.message_id!r}")
    subject = " ".join(outgoing.subject.split())
    now = now or datetime.now(UTC)

    message = EmailMessage(policy=OUTGOING_POLICY)
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = own_ids[0]
    parent = message_ids(outgoing.answers or "")
    references = [ref for raw in outgoing.thread for ref in message_ids(raw)]
    if parent:
        message["In-Reply-To"] = parent[0]
        references = [ref for ref in references if ref != parent[0]] + [parent[0]]
    if references:
        message["References"] = " ".join(dict.fromkeys(references))
    message["Thread-Topic"] = base_subject(subject)
    message[LOOP_HEADER] = parseaddr(from_address)[1]
    if outgoing.automatic:
        message["Auto-Submitted"] = "auto-replied" if parent else "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
    text = mail_text(outgoing, now=now, links=links, emergency=emergency)
    message.set_content(text, charset="utf-8")
    if outgoing.language:  # after set_content, which drops Content-* headers
        message["Content-Language"] = outgoing.language
    for index, attachment in enumerate(outgoing.files, start=1):
        maintype, _, subtype = attachment.content_type.partition("/")
        if not maintype or not subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            files[attachment.sha256],
            maintype=maintype,
            subtype=subtype,
            filename=safe_filename(attachment.filename, attachment.content_type, index),
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
