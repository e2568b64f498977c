"""The journal's text search over titles and descriptions, through a trigram index (see
migration 0013): SQLite's FTS5 table ``ticket_text``, PostgreSQL's pg_trgm indexes. Text
shorter than three characters has no trigram and is looked for row by row."""

from __future__ import annotations

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


def mentioning_sql(text: str, cap: int, dialect: str) -> tuple[str, dict[str, object]]:
    """The ids of the newest ``cap`` tickets whose title or description contains ``text``
    (any case), as a query on ``dialect`` to use as a subquery, and its parameters."""
    text = text.strip()
    if dialect == "sqlite" and len(text) >= MIN_INDEXED:
        return _SQLITE, {"text": '"' + text.replace('"', '""') + '"', "cap": cap}
    return (_SQLITE_SHORT if dialect == "sqlite" else _POSTGRES), {"like": _like(text), "cap": cap}
