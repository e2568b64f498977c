"""Translations for everything housedesk says to people.

Catalogs are gettext ``.po`` files under ``core/locale/<lang>.po`` (extracted with
``make i18n``); they are read with Babel at first use, so nothing compiled is committed.
A missing catalog or message falls back to English.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"


@cache
def _catalog(language: str) -> dict[str, str]:
    path = LOCALE_DIR / f"{language}.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


@cache
def _languages() -> tuple[str, ...]:
    others = sorted(p.stem for p in LOCALE_DIR.glob("*.po"))
    return (DEFAULT_LANGUAGE, *[lang for lang in others if lang != DEFAULT_LANGUAGE])


def available_languages() -> list[str]:
    """Languages with a catalog, English first (read once per process)."""
    return list(_languages())


def normalize_language(code: str | None) -> str:
    """Map a Telegram/HTTP language code (``ru-RU``, ``nb``) to a catalog language."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.replace("_", "-").split("-")[0].lower()
    if base in ("nb", "nn"):
        base = "no"
    return base if base in _languages() else DEFAULT_LANGUAGE


def gettext(language: str | None, message: str, **params: object) -> str:
    """Translate ``message`` into ``language`` and fill ``{placeholders}`` from ``params``."""
    translated = _catalog(normalize_language(language)).get(message, message)
    return translated.format(**params) if params else translated


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


def format_duration(seconds: float | None, language: str | None) -> str:
    """``42 min``, ``3 h 5 min`` or ``2 d 4 h`` in ``language``; a dash for no value."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return gettext(language, N_("{m} min"), m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return gettext(language, N_("{h} h {m} min"), h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return gettext(language, N_("{d} d {h} h"), d=days, h=hours)
