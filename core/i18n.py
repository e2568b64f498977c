"""Translations for everything housedesk says to people.

Catalogs are gettext ``.po`` files under ``core/locale/<lang>.po`` (extracted with
``make i18n``); they are read with Babel at first use and compiled in memory, so nothing
compiled is committed. Each catalog's ``Plural-Forms`` header chooses the plural form.
A missing catalog or message falls back to English.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from gettext import NullTranslations
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"


@cache
def _translations(language: str) -> NullTranslations:
    """The catalog of ``language`` without its fuzzy and empty messages; English has none."""
    path = LOCALE_DIR / f"{language}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@cache
def _languages() -> tuple[str, ...]:
    others = sorted(p.stem for p in LOCALE_DIR.glob("*.po"))
    return (DEFAULT_LANGUAGE, *[lang for lang in others if lang != DEFAULT_LANGUAGE])


def available_languages() -> list[str]:
    """Languages with a catalog, English first (read once per process)."""
    return list(_languages())


ALIASES = {"nb": "no", "nn": "no"}
"""Language codes apps send for a catalog language of another code (Telegram's apps send
``nb`` for Norwegian)."""


def app_codes(language: str) -> tuple[str, ...]:
    """The codes an app may send for the catalog ``language``: its own and its aliases."""
    return (language, *(alias for alias, own in ALIASES.items() if own == language))


def normalize_language(code: str | None) -> str:
    """Map a Telegram/HTTP language code (``ru-RU``, ``nb``) to a catalog language."""
    if not code:
        return DEFAULT_LANGUAGE
    base = code.replace("_", "-").split("-")[0].lower()
    base = ALIASES.get(base, base)
    return base if base in _languages() else DEFAULT_LANGUAGE


def gettext(language: str | None, message: str, **params: object) -> str:
    """Translate ``message`` into ``language`` and fill ``{placeholders}`` from ``params``."""
    translated = _translations(normalize_language(language)).gettext(message)
    return translated.format(**params) if params else translated


def ngettext(language: str | None, singular: str, plural: str, n: int, **params: object) -> str:
    """The form of ``singular``/``plural`` that ``language`` uses for ``n``, filled from
    ``params``; ``{n}`` is the count unless ``params`` says otherwise."""
    translated = _translations(normalize_language(language)).ngettext(singular, plural, n)
    return translated.format(**{"n": n, **params})


def in_language(texts: Mapping[str, str], *languages: str | None) -> str:
    """The first non-empty text of ``texts`` (by language code) among ``languages``, then
    English; empty when none is there."""
    for language in (*languages, DEFAULT_LANGUAGE):
        if language and texts.get(language):
            return texts[language]
    return ""


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
