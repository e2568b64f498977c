"""Outside values made to fit their column, the same way on every database.

SQLite stores a text of any length; PostgreSQL refuses one longer than its ``VARCHAR``.
Values that come from outside (a mail's Message-ID, a sender's name, a key built from an
address) are fitted before they are written, so a message is never refused for its length:
display texts are shortened with "…", identifiers are replaced by a stable digest so
that the same long value always maps to the same stored one (de-duplication and look-ups
keep working).
"""

from __future__ import annotations

import hashlib

from tortoise.models import Model

ELLIPSIS = "…"


def max_length(model: type[Model], field: str) -> int:
    """The longest text ``model.field`` holds."""
    return int(model._meta.fields_map[field].max_length)  # type: ignore[attr-defined]


def clipped(model: type[Model], field: str, text: str) -> str:
    """``text``, shortened with "…" if it is longer than ``model.field`` holds."""
    limit = max_length(model, field)
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def digest(value: str) -> str:
    """The SHA-256 of ``value`` (UTF-8), in hex: 64 characters."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def fitted_key(model: type[Model], field: str, key: str) -> str:
    """``key`` if it fits ``model.field``, else its start and its SHA-256 (the same key
    always gives the same result; different keys practically never share one)."""
    limit = max_length(model, field)
    if len(key) <= limit:
        return key
    return f"{key[: limit - 65]}#{digest(key)}"
