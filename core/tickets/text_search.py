"""The journal's text search over titles and descriptions, through a trigram index (see
migration 0013): SQLite's FTS5 table ``ticket_text``, PostgreSQL's pg_trgm indexes. Text
shorter than three characters has no trigram and is looked for row by row."""

from __future__ import annotations

from tortoise import connections

from core.storage.rawsql import fetch

MIN_INDEXED = 3
_SQLITE = (
    "SELECT rowid AS id FROM ticket_text WHERE ticket_text MATCH :text"
    " ORDER BY rowid DESC LIMIT :cap"
)
_SQLITE_SHORT = (
    "SELECT id FROM ticket WHERE title LIKE :like ESCAPE '!' OR description LIKE :like"
    " ESCAPE '!' ORDER BY id DESC LIMIT :cap"
)
_POSTGRES = (
    "SELECT id FROM ticket WHERE title ILIKE :like ESCAPE '!' OR description ILIKE :like"
    " ESCAPE '!' ORDER BY id DESC LIMIT :cap"
)


def _like(text: str) -> str:
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


async def tickets_mentioning(text: str, cap: int) -> list[int]:
    """The ids of the newest ``cap`` tickets whose title or description contains ``text``
    (any case), newest first."""
    text = text.strip()
    dialect = connections.get("default").capabilities.dialect
    if dialect == "sqlite" and len(text) >= MIN_INDEXED:
        phrase = '"' + text.replace('"', '""') + '"'
        rows = await fetch(_SQLITE, text=phrase, cap=cap)
    elif dialect == "sqlite":
        rows = await fetch(_SQLITE_SHORT, like=_like(text), cap=cap)
    else:
        rows = await fetch(_POSTGRES, like=_like(text), cap=cap)
    return [int(row["id"]) for row in rows]
