"""The language a mail is written in, so housedesk answers in it.

``Content-Language`` first (when it names a language housedesk speaks), then a light look
at the text: Chinese characters, Cyrillic, Polish or Norwegian letters and common words.
None when nothing is clear: the ticket then takes the building's language, else the default.
"""

from __future__ import annotations

import re

from core.i18n import ALIASES, available_languages
from intake.email.parse import ParsedMail

_HAN = re.compile(r"[\u4e00-\u9fff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_POLISH_LETTERS = re.compile(r"[ąćęłńśźżĄĆĘŁŃŚŹŻ]")
_NORDIC_LETTERS = re.compile(r"[æøåÆØÅ]")
_SWEDISH_LETTERS = re.compile(r"[äöÄÖ]")
_WORD = re.compile(r"[^\W\d_]+")
_POLISH_WORDS = frozenset(
    """jest nie się mam proszę dzień dobry mieszkanie mieszkaniu że czy jak już bardzo
    dziękuję pozdrawiam woda kran został""".split()  # noqa: SIM905 (a word list)
)
_NORWEGIAN_WORDS = frozenset(
    """jeg ikke det er og har hei takk leiligheten hilsen med hva kan vi dere fra vann
    kjøkkenet badet fungerer""".split()  # noqa: SIM905 (a word list)
)
_SAMPLE = 4000


def mail_language(mail: ParsedMail) -> str | None:
    """The catalog language of ``mail`` (``ru``, ``pl``, ``no``, ``zh``...), or None."""
    known = available_languages()
    for value in mail.header_values("Content-Language"):
        for tag in value.split(","):
            base = tag.strip().replace("_", "-").split("-")[0].lower()
            base = ALIASES.get(base, base)
            if base in known:
                return base
    found = text_language(f"{mail.subject}\n{mail.reply or mail.body}")
    return found if found in known else None


def text_language(text: str) -> str | None:
    """A guess from the letters and words of ``text``; None when nothing is clear."""
    text = text[:_SAMPLE]
    runs = _WORD.findall(text)
    letters = sum(map(len, runs))  # every letter is in exactly one run of letters
    if not letters:
        return None
    ascii_only = text.isascii()  # then none of the scripts and letters below occurs
    if not ascii_only:
        if _KANA.search(text):
            return None  # Japanese: housedesk has no catalog for it
        if len(_HAN.findall(text)) * 4 >= letters:
            return "zh"
        if len(_CYRILLIC.findall(text)) * 2 >= letters:
            return "ru"
    words = [w.lower() for w in runs]
    polish = 2 * len([w for w in words if w in _POLISH_WORDS])
    norwegian = 2 * len([w for w in words if w in _NORWEGIAN_WORDS])
    if not ascii_only:
        polish += len(_POLISH_LETTERS.findall(text))
        if not _SWEDISH_LETTERS.search(text):
            norwegian += len(_NORDIC_LETTERS.findall(text))
    if max(polish, norwegian) < 3:
        return None
    return "pl" if polish > norwegian else "no"
