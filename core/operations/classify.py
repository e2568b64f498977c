"""A keyword classifier for free text (email, voicemail transcripts) into a category.

Keywords are configured per language and category: ``{"ru": {"emergency": ["протеч*",
"запах газа"]}}``. A keyword is one or more words that must appear next to each other;
a word ending in ``*`` matches any word starting with it (``протеч*`` matches
``протечка`` and ``протечку``). Matching ignores case and treats ``ё`` as ``е``. When
several categories match, the most urgent one (lowest priority number) wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.directory.lookup import all_categories
from core.storage.models import Category

Keywords = Mapping[str, Mapping[str, Sequence[str]]]
"""language → category code → keywords."""

_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("ё", "е"))


@dataclass(frozen=True)
class Match:
    """One keyword found in the text, with the words that matched it."""

    language: str
    keyword: str
    found: str


@dataclass(frozen=True)
class Classification:
    """The chosen category (None: nothing matched) and what matched for it."""

    category: str | None
    matches: tuple[Match, ...] = ()

    @property
    def found(self) -> list[str]:
        """The words of the text that matched, in order, without repeats."""
        return list(dict.fromkeys(m.found for m in self.matches))


@dataclass(frozen=True)
class _Pattern:
    language: str
    category: str
    keyword: str
    words: tuple[str, ...]

    def find(self, words: Sequence[str]) -> str | None:
        size = len(self.words)
        for start in range(len(words) - size + 1):
            window = words[start : start + size]
            if all(_word_matches(p, w) for p, w in zip(self.words, window, strict=True)):
                return " ".join(window)
        return None


def _word_matches(pattern: str, word: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


class KeywordClassifier:
    """Chooses a category for a text from configured keyword lists."""

    def __init__(self, keywords: Keywords) -> None:
        self.patterns = [
            _Pattern(language, category, keyword, words)
            for language, categories in keywords.items()
            for category, entries in categories.items()
            for keyword in entries
            if (words := _keyword_words(keyword))
        ]

    def classify(self, text: str, categories: Sequence[Category]) -> Classification:
        """The most urgent of ``categories`` whose keywords occur in ``text``."""
        known = {c.code: c for c in categories}
        words = _words(text)
        found: dict[str, list[Match]] = {}
        for pattern in self.patterns:
            if pattern.category not in known:
                continue
            hit = pattern.find(words)
            if hit is not None:
                found.setdefault(pattern.category, []).append(
                    Match(pattern.language, pattern.keyword, hit)
                )
        if not found:
            return Classification(None)
        best = min(found, key=lambda code: (known[code].priority, -len(found[code]), code))
        return Classification(best, tuple(found[best]))

    async def categorize(self, text: str) -> Classification:
        """The classification of ``text`` among the directory's categories."""
        return self.classify(text, await all_categories())


def _keyword_words(keyword: str) -> tuple[str, ...]:
    words = []
    for part in keyword.casefold().replace("ё", "е").split():
        stem = "".join(_WORD.findall(part))
        if stem:
            words.append(stem + "*" if part.endswith("*") else stem)
    return tuple(words)
