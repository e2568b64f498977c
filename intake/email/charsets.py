"""Turning mail bytes into text, whatever charset they declare or fail to declare.

Order of trust: a 7-bit stateful charset that is declared (ISO-2022-JP, UTF-7) is applied
first; pure ASCII is ASCII; bytes that are valid UTF-8 are read as UTF-8 even when another
charset is declared (legacy text is practically never valid UTF-8 by accident, while UTF-8
labelled GB2312 or ISO-8859-1 is common); then the declared charset; then a guess from the
byte statistics (Cyrillic windows-1251 / KOI8-R, GB18030, else windows-1252). Decoding never
raises: the last step replaces undecodable bytes.
"""

from __future__ import annotations

import codecs
from contextlib import suppress

_ALIASES = {
    # Supersets that decode everything the narrower label promises, and more.
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-cyrillic": "mac-cyrillic",
    "unicode-1-1-utf-7": "utf-7",
}
_SEVEN_BIT_STATEFUL = {"iso2022_jp", "iso2022_jp_2", "iso2022_kr", "utf_7", "hz"}


def codec_name(charset: str | None) -> str | None:
    """Return Python's codec name for a MIME charset label, or None when it is unknown."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_text(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` using the declared charset as a hint; never raises."""
    codec = codec_name(declared)
    if codec in _SEVEN_BIT_STATEFUL:
        with suppress(UnicodeDecodeError):
            return data.decode(codec)
    if data.isascii():
        return data.decode("ascii")
    utf8 = _utf8_or_none(data)
    if utf8 is not None:
        return utf8
    if codec is not None and codec not in {"ascii", "utf-8"}:
        with suppress(UnicodeDecodeError):
            return data.decode(codec)
    return data.decode(_guess_legacy_codec(data), errors="replace")


def _utf8_or_none(data: bytes) -> str | None:
    """Decode UTF-8, tolerating only a sequence cut off at the very end of text that is
    otherwise proven UTF-8 (a file name truncated by the sender); else None."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        head = data[: error.start]
        if error.reason != "unexpected end of data" or error.start < len(data) - 3:
            return None
        if head.isascii():
            return None
        return head.decode("utf-8") + "\ufffd"


def _guess_legacy_codec(data: bytes) -> str:
    """Guess the 8-bit charset of text that is not UTF-8 and did not decode as declared."""
    high = [byte for byte in data if byte >= 0x80]
    latin_letters = sum(1 for byte in data if 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A)
    if len(high) <= latin_letters:
        return "cp1252"
    # Cyrillic letters occupy 0xC0-0xFF in both windows-1251 and KOI8-R; running text is
    # mostly lower case, which is 0xE0-0xFF in windows-1251 and 0xC0-0xDF in KOI8-R.
    cyrillic = [byte for byte in high if byte >= 0xC0]
    if len(cyrillic) >= 0.85 * len(high):
        lower_1251 = sum(1 for byte in cyrillic if byte >= 0xE0)
        return "cp1251" if 2 * lower_1251 >= len(cyrillic) else "koi8_r"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return "cp1252"
    return "gb18030"
