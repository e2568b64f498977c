"""Parsing one raw mail into a :class:`ParsedMail`, the input of every later stage.

Parsing is lenient: only bytes that cannot be a mail at all raise :class:`MalformedMail`.
Everything else yields a result, with a human-readable note for anything dropped.

Decisions worth knowing:

* Headers are read as raw bytes and decoded here (UTF-8, else the charset of the first
  text part, else a guess), so undeclared 8-bit headers and broken encoded words survive.
* A repeated header (two Message-IDs, two Subjects) resolves to its *first* occurrence,
  as most MTAs and mail clients do; :meth:`ParsedMail.header_values` shows all of them.
* A header section larger than ``max_header_bytes`` loses its largest fields until it
  fits (a monster References or X- header, not From or Subject); each drop is noted.
* The body prefers text/plain; HTML-only mail is turned into text. Other alternatives are
  discarded, but images inside them are still kept as inline attachments.
* Attachments larger than ``max_attachment_bytes`` are dropped and noted.
* MIME bombs degrade instead of crashing: parts nested deeper than 32 levels are skipped,
  and a structure too deep for Python's parser leaves only the headers (both noted).
"""

from __future__ import annotations

import email
import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32
from email.utils import parsedate_to_datetime
from functools import cached_property

from core.i18n import N_, gettext
from intake.email.charsets import decode_text
from intake.email.filenames import safe_filename
from intake.email.headers import header_text, message_ids, parse_addresses, restore_bytes
from intake.email.html_text import html_to_text
from intake.email.quotes import strip_reply

DEFAULT_MAX_HEADER_BYTES = 256 * 1024

_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_LEADING_NOISE = re.compile(rb"(?:[ \t]*\r?\n)*(?:From [^\n]*\n)?")
_BLANK_LINE = re.compile(rb"\n\r?\n")  # a line end and an empty line (no "\r?" first: slow)
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", re.IGNORECASE)
_BODY_TYPES = {"text/plain", "text/html"}
_EMBEDDED_MESSAGE_TYPES = {"message/rfc822", "message/global"}
_DELIVERY_STATUS_TYPES = {  # field blocks the parser splits up; kept re-serialised
    "message/delivery-status",
    "message/global-delivery-status",
    "message/disposition-notification",
}
_MAX_NESTING = 32
_DEFAULT_NAMES = {
    "text/rfc822-headers": "message-headers.txt",
    "message/global-headers": "message-headers.txt",
}


class MalformedMail(ValueError):
    """The bytes cannot be a mail at all (empty, or not starting with a header field)."""


@dataclass(frozen=True)
class Attachment:
    """One attachment or inline image, with a name that is safe to store and show."""

    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


TOO_DEEP = N_("The MIME structure is nested too deeply to read; only the headers are kept.")
DEEP_PARTS = N_("Parts nested deeper than {levels} levels were skipped.")
DROPPED_HEADER = N_(
    "Dropped the {name} header ({size}): the header section is over the {limit} limit."
)
DROPPED_ATTACHMENT = N_("Dropped attachment {name} ({size}): larger than the {limit} limit.")
"""What parsing may leave out of a mail, as staff are told."""


@dataclass(frozen=True)
class Note:
    """What parsing left out of a mail, told to staff with the mail's text in their language."""

    message: str
    params: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text(None)

    def text(self, language: str | None) -> str:
        """The note in ``language`` (None: English)."""
        return gettext(language, self.message, **self.params)


@dataclass(frozen=True)
class ParsedMail:
    """A mail as the rest of housedesk sees it: decoded text, addresses and parts."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: str | None
    sender_name: str
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    body: str
    reply: str
    attachments: tuple[Attachment, ...]
    notes: tuple[Note, ...]
    headers: tuple[tuple[str, str], ...]
    authenticated: bool = False
    """True once :mod:`intake.email.authentication` found the From domain authentic."""

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (decoded), or None."""
        values = self._values_by_name.get(name.lower())
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Return every decoded value of header ``name``, in message order."""
        return list(self._values_by_name.get(name.lower(), ()))

    @cached_property
    def _values_by_name(self) -> dict[str, list[str]]:
        """Lower-case header name -> its values in message order (classification asks a
        dozen names of every mail)."""
        by_name: dict[str, list[str]] = {}
        for key, value in self.headers:
            by_name.setdefault(key.lower(), []).append(value)
        return by_name


class _RawHeaders(Compat32):
    """Compat32 parsing, but header values are returned exactly as read (8-bit included)."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()


def parse_message(
    raw: bytes, *, max_attachment_bytes: int, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
) -> ParsedMail:
    """Parse one raw RFC 5322 message; raises :class:`MalformedMail` only for non-mail."""
    raw = _without_envelope_noise(raw)
    notes: list[Note] = []
    head, separator, rest = _split_header_section(raw)
    if len(head) > max_header_bytes:
        head = _shrink_header_section(head, max_header_bytes, notes)
    try:
        message = email.message_from_bytes(head + separator + rest, policy=_POLICY)
        body_readable = True
    except RecursionError:
        message = BytesHeaderParser(policy=_POLICY).parsebytes(head)
        body_readable = False
        notes.append(Note(TOO_DEEP))

    charset_hint = None if raw.isascii() else _first_charset(message)  # only 8-bit needs it
    fields = message.items()
    headers = tuple([(name, header_text(value, charset_hint)) for name, value in fields])
    first = {name.lower(): value for name, value in reversed(fields)}  # the first one wins

    senders = parse_addresses(first.get("from"), charset_hint)
    reply_to = parse_addresses(first.get("reply-to"), charset_hint)
    collector = _PartCollector(max_attachment_bytes, charset_hint)
    if body_readable:
        collector.walk(message, text_wanted=True)
    notes.extend(collector.notes)
    body = "\n\n".join(collector.texts).strip("\n")
    references = tuple(dict.fromkeys(message_ids(first.get("references"))))

    return ParsedMail(
        message_id=next(iter(message_ids(first.get("message-id"))), None),
        in_reply_to=next(iter(message_ids(first.get("in-reply-to"))), None),
        references=references,
        sender=senders[0][1] if senders else None,
        sender_name=senders[0][0] if senders else "",
        reply_to=reply_to[0][1] if reply_to else None,
        to=_addresses(message, "to", charset_hint),
        cc=_addresses(message, "cc", charset_hint),
        subject=next((text for name, text in headers if name.lower() == "subject"), ""),
        date=_date(first.get("date")),
        body=body,
        reply=strip_reply(body) or body,
        attachments=tuple(collector.attachments),
        notes=tuple(notes),
        headers=headers,
    )


def _without_envelope_noise(raw: bytes) -> bytes:
    """Drop leading blank lines and an mbox ``From `` line; reject what is not a mail."""
    noise = _LEADING_NOISE.match(raw)
    raw = raw[noise.end() :] if noise else raw
    if not raw:
        raise MalformedMail("empty message")
    if not _HEADER_LINE.match(raw):
        raise MalformedMail("message does not start with a header field")
    return raw


def _split_header_section(raw: bytes) -> tuple[bytes, bytes, bytes]:
    match = _BLANK_LINE.search(raw)
    if match is None:
        return raw, b"", b""
    head_end = match.start() + 1
    return raw[:head_end], raw[head_end : match.end()], raw[match.end() :]


def _shrink_header_section(head: bytes, limit: int, notes: list[Note]) -> bytes:
    """Drop the largest header fields until the section fits in ``limit`` bytes."""
    fields: list[bytes] = []
    for line in head.splitlines(keepends=True):
        if fields and line[:1] in {b" ", b"\t"}:
            fields[-1] += line
        else:
            fields.append(line)
    total = sum(map(len, fields))
    by_size = sorted(range(len(fields)), key=lambda index: (len(fields[index]), index))
    dropped: set[int] = set()
    while total > limit and by_size:
        index = by_size.pop()
        dropped.add(index)
        total -= len(fields[index])
        name = fields[index].split(b":", 1)[0].decode("ascii", "replace")
        size, most = _human_size(len(fields[index])), _human_size(limit)
        notes.append(Note(DROPPED_HEADER, {"name": name, "size": size, "limit": most}))
    return b"".join(field for index, field in enumerate(fields) if index not in dropped)


def _first_charset(message: Message) -> str | None:
    """The first declared charset in document order (a hint for undeclared 8-bit headers)."""
    stack = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        charset = part.get_content_charset()
        if charset:
            return charset
        payload = part.get_payload()
        if isinstance(payload, list) and depth < _MAX_NESTING:
            stack.extend((sub, depth + 1) for sub in reversed(payload) if isinstance(sub, Message))
    return None


def _addresses(message: Message, name: str, charset_hint: str | None) -> tuple[str, ...]:
    found: list[str] = []
    for value in message.get_all(name) or []:
        found.extend(address for _, address in parse_addresses(value, charset_hint))
    return tuple(dict.fromkeys(found))


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    with suppress(TypeError, ValueError, IndexError, OverflowError):
        return parsedate_to_datetime(header_text(value))
    return None


class _PartCollector:
    """Walks the MIME tree, collecting body texts and attachments."""

    def __init__(self, max_attachment_bytes: int, charset_hint: str | None) -> None:
        self.texts: list[str] = []
        self.attachments: list[Attachment] = []
        self.notes: list[Note] = []
        self._limit = max_attachment_bytes
        self._charset_hint = charset_hint
        self._seen = 0
        self._decoded: dict[int, str] = {}  # id(part) -> its text

    def walk(self, part: Message, *, text_wanted: bool, depth: int = 0) -> None:
        if depth > _MAX_NESTING:
            note = Note(DEEP_PARTS, {"levels": _MAX_NESTING})
            if note not in self.notes:
                self.notes.append(note)
            return
        content_type = part.get_content_type()
        if content_type in _EMBEDDED_MESSAGE_TYPES:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                self._attach(part, payload[0].as_bytes(), default_name="message.eml")
            else:
                self._attach(part, _payload_bytes(part), default_name="message.eml")
        elif content_type in _DELIVERY_STATUS_TYPES:
            self._attach(part, _delivery_status_bytes(part), default_name="delivery-status.txt")
        elif part.is_multipart():
            self._walk_multipart(part, content_type, text_wanted=text_wanted, depth=depth + 1)
        elif _is_body_text(part, content_type):
            if text_wanted:
                text = self._text_of(part, content_type)
                if text.strip():
                    self.texts.append(text)
        else:
            self._attach(part, _payload_bytes(part), default_name=_DEFAULT_NAMES.get(content_type))

    def _walk_multipart(
        self, part: Message, content_type: str, *, text_wanted: bool, depth: int
    ) -> None:
        subparts = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        if not subparts:
            return
        if content_type == "multipart/alternative":
            chosen = self._preferred_alternative(subparts) if text_wanted else None
            for sub in subparts:
                self.walk(sub, text_wanted=sub is chosen, depth=depth)
        elif content_type in {"multipart/related", "multipart/report"}:
            self.walk(subparts[0], text_wanted=text_wanted, depth=depth)
            for sub in subparts[1:]:
                self.walk(sub, text_wanted=False, depth=depth)
        else:
            for sub in subparts:
                self.walk(sub, text_wanted=text_wanted, depth=depth)

    def _preferred_alternative(self, subparts: list[Message]) -> Message:
        """Pick the alternative to read: non-empty text/plain, else the richest (last) one."""
        for sub in subparts:
            if (
                sub.get_content_type() == "text/plain"
                and _is_body_text(sub, "text/plain")
                and self._text_of(sub, "text/plain").strip()
            ):
                return sub
        return subparts[-1]

    def _text_of(self, part: Message, content_type: str) -> str:
        """A body part's text, decoded once (the chosen text/plain alternative is read twice)."""
        key = id(part)
        if key not in self._decoded:
            self._decoded[key] = _decoded_text(part, content_type)
        return self._decoded[key]

    def _attach(self, part: Message, data: bytes, default_name: str | None = None) -> None:
        self._seen += 1
        content_type = part.get_content_type()
        name = part.get_filename()
        name = header_text(name, self._charset_hint) if name else default_name
        filename = safe_filename(name, content_type, self._seen)
        if len(data) > self._limit:
            size, most = _human_size(len(data)), _human_size(self._limit)
            self.notes.append(
                Note(DROPPED_ATTACHMENT, {"name": repr(filename), "size": size, "limit": most})
            )
            return
        content_ids = message_ids(part.get("Content-ID"))
        content_id = content_ids[0][1:-1] if content_ids else None
        disposition = part.get_content_disposition()
        self.attachments.append(
            Attachment(
                filename=filename,
                content_type=content_type,
                data=data,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
                content_id=content_id,
            )
        )


def _is_body_text(part: Message, content_type: str) -> bool:
    return (
        content_type in _BODY_TYPES
        and part.get_content_disposition() != "attachment"
        and not _has_filename(part)
    )


def _has_filename(part: Message) -> bool:
    """Whether ``part.get_filename()`` gives a name, without parsing the parameters when
    there is no Content-Disposition and no Content-Type parameter can be a ``name``."""
    if "content-disposition" not in part and "name" not in part.get("content-type", "").lower():
        return False
    return bool(part.get_filename())


def _payload_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _decoded_text(part: Message, content_type: str) -> str:
    data = _payload_bytes(part)
    charset = part.get_content_charset()
    if content_type == "text/html":
        if charset is None and (meta := _META_CHARSET.search(data[:4096])):
            charset = meta.group(1).decode("ascii")
        return html_to_text(decode_text(data, charset))
    return decode_text(data, charset).replace("\r\n", "\n").replace("\r", "\n")


def _delivery_status_bytes(part: Message) -> bytes:
    """Re-serialise a delivery-status part (the parser splits it into field blocks)."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return _payload_bytes(part)
    blocks = [
        "\n".join(f"{name}: {value}" for name, value in block.items())
        for block in payload
        if isinstance(block, Message)
    ]
    return restore_bytes("\n\n".join(blocks) + "\n")


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
