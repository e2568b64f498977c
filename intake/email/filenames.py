"""Safe attachment file names: no directories, no control or bidi characters, no reserved
device names, bounded length, and a sensible name when the mail gives none."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_NAME_CHARS = 120
MAX_NAME_BYTES = 200
_MAX_EXTENSION_CHARS = 10
_RESERVED = re.compile(r"^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)
_FORBIDDEN = re.compile(r'[<>:"|?*]')


def safe_filename(name: str | None, content_type: str, index: int) -> str:
    """Return a file name that is safe to store and show for attachment number ``index``."""
    text = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # Categories C* are control, format (incl. right-to-left overrides), private and
    # unassigned characters; U+FFFD marks bytes that could not be decoded.
    text = "".join(
        char for char in text if not unicodedata.category(char).startswith("C") and char != "\ufffd"
    )
    text = " ".join(_FORBIDDEN.sub("_", text).split()).strip(". ")
    if not text:
        extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
        return f"attachment-{index}{extension}"
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension) > _MAX_EXTENSION_CHARS or not extension.isalnum():
        stem, extension = text, ""
    if _RESERVED.match(stem):
        stem = f"_{stem}"
    suffix = f".{extension}" if extension else ""
    return _bounded(stem, suffix)


def _bounded(stem: str, suffix: str) -> str:
    while stem and (
        len(stem) + len(suffix) > MAX_NAME_CHARS
        or len((stem + suffix).encode("utf-8")) > MAX_NAME_BYTES
    ):
        stem = stem[:-1]
    return (stem.rstrip(". ") or "attachment") + suffix
