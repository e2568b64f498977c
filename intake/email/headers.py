"""Reading header values as text: raw 8-bit bytes, RFC 2047 encoded words, addresses and
message identifiers, all without raising on malformed input."""

from __future__ import annotations

import base64
import binascii
import re
from email.errors import HeaderParseError
from email.header import decode_header
from email.utils import getaddresses

from intake.email.charsets import decode_text

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^\s<>,;\"()]+@[^\s<>,;\"()]+")
_RAW_BYTE = re.compile("[\udc80-\udcff]")  # an 8-bit byte the parser kept as a surrogate
_NULL_ADDRESS = re.compile(r"<\s*>")
_ATOM = r"[^\s\"(),:;<>@\[\]\\]+"  # a word of a display name ("." allowed, as getaddresses does)
_DOT_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
_PLAIN_ADDRESS = rf"{_DOT_ATOM}@{_DOT_ATOM}"
_ONE_ADDRESS = re.compile(  # 'a@b.example', 'Name <a@b.example>', '"Name, X" <a@b.example>'
    rf"[ \t]*(?:(?:(?P<words>{_ATOM}(?:[ \t]+{_ATOM})*)|\"(?P<quoted>[^\"\\\r\n]*)\")?[ \t]*"
    rf"<(?P<routed>{_PLAIN_ADDRESS})>|(?P<bare>{_PLAIN_ADDRESS}))[ \t]*"
)


def restore_bytes(value: str) -> bytes:
    """Return the original bytes of a header value the parser read as ASCII + surrogates."""
    return value.encode("utf-8", "surrogateescape")


def _unfolded(value: str, charset_hint: str | None) -> str:
    """The raw value as text (8-bit bytes decoded) on one line (folding undone)."""
    if _RAW_BYTE.search(value):
        value = decode_text(restore_bytes(value), charset_hint)
    return _FOLD.sub("", value)


def header_text(value: str, charset_hint: str | None = None) -> str:
    """Return a header value as one clean line of text.

    Raw 8-bit bytes are decoded (UTF-8, else ``charset_hint``, else a guess), folding is
    undone, encoded words are decoded and control characters become spaces.
    """
    if value.isascii() and "=?" not in value:  # nothing to decode, only spaces to tidy
        return " ".join((value if value.isprintable() else _CONTROL.sub(" ", value)).split())
    value = decode_encoded_words(_unfolded(value, charset_hint))
    value = _CONTROL.sub(" ", value.replace("\t", " "))
    return " ".join(value.split())


def decode_encoded_words(text: str) -> str:
    """Decode RFC 2047 encoded words, also when they are malformed in the usual ways.

    The standard library's decoder goes first: it is lenient where it matters (``=5F`` in
    Q-encoding is an underscore, base64 padding may be off) and joins words split inside a
    character. Its pieces are joined as written (``make_header`` would put a space between
    a word and the punctuation right after it: "... ?=. Mail failure."). Only when it fails
    (an unknown charset, broken base64, bytes that are not the declared charset) do our own
    rules decode the words one by one.
    """
    if "=?" not in text:
        return text
    if not text.isascii():  # the standard decoder would escape the text around the words
        return _decode_words_ourselves(text)
    try:
        return "".join(
            chunk if isinstance(chunk, str) else chunk.decode(charset or "ascii")
            for chunk, charset in decode_header(text)
        )
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return _decode_words_ourselves(text)


def _decode_words_ourselves(text: str) -> str:
    """Fallback: adjacent words in the same charset are joined before decoding (so that a
    character split across two survives); broken words are kept as written."""
    pieces: list[tuple[str | None, bytes | str]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[position : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        payload = _decode_word_payload(match.group(2).lower(), match.group(3))
        previous_is_word = bool(pieces) and pieces[-1][0] is not None
        adjacent = previous_is_word and payload is not None and (not gap or gap.isspace())
        if gap and not adjacent:
            pieces.append((None, gap))
        if payload is None:
            pieces.append((None, match.group(0)))
        elif adjacent and pieces[-1][0] == charset:
            joined = pieces[-1][1]
            assert isinstance(joined, bytes)
            pieces[-1] = (charset, joined + payload)
        else:
            pieces.append((charset, payload))
        position = match.end()
    pieces.append((None, text[position:]))
    return "".join(
        decode_text(chunk, charset) if isinstance(chunk, bytes) else chunk
        for charset, chunk in pieces
    )


def _decode_word_payload(encoding: str, payload: str) -> bytes | None:
    try:
        data = payload.encode("ascii")
    except UnicodeEncodeError:
        return None
    if encoding == "b":
        data = data.replace(b" ", b"")
        try:
            return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
        except (binascii.Error, ValueError):
            return None
    return re.sub(  # "_" is a space, but "=5F" an underscore: spaces first
        rb"=([0-9A-Fa-f]{2})",
        lambda hexpair: bytes([int(hexpair.group(1), 16)]),
        data.replace(b"_", b" "),
    )


def names_null_address(value: str | None) -> bool:
    """True when a header gives the null address ``<>``, as robots write "MAILER-DAEMON <>"."""
    return bool(value and _NULL_ADDRESS.search(value))


def parse_addresses(value: str | None, charset_hint: str | None = None) -> list[tuple[str, str]]:
    """Return ``(display name, lower-case address)`` pairs; entries without an address are
    dropped. Names are decoded after splitting so that an encoded comma cannot split them."""
    if not value:
        return []
    value = _unfolded(value, charset_hint)
    pairs = []
    for name, address in _one_address(value) or getaddresses([value]):
        address = address.strip().lower()
        if "@" not in address and address not in {"postmaster", "mailer-daemon"}:
            continue
        pairs.append((header_text(name), address))
    return pairs


def _one_address(value: str) -> list[tuple[str, str]] | None:
    """What ``getaddresses`` makes of a value that is one plain address with at most a
    simple display name (nearly every From and To), without its character-by-character
    parser; None for anything else."""
    match = _ONE_ADDRESS.fullmatch(value)
    if match is None:
        return None
    if match["bare"]:
        return [("", match["bare"])]
    quoted = match["quoted"]
    name = quoted if quoted is not None else " ".join((match["words"] or "").split())
    return [(name, match["routed"])]


def message_ids(value: str | None) -> list[str]:
    """Return the ``<id>`` tokens of a Message-ID, In-Reply-To or References value, in order.

    Identifiers missing their angle brackets are accepted when they contain an ``@``.
    """
    if not value:
        return []
    value = _FOLD.sub("", value)
    found = [f"<{token}>" for token in _MSG_ID.findall(value)]
    if not found:
        found = [f"<{token}>" for token in _BARE_ID.findall(value)]
    return found
