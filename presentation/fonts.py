"""The fonts charts and posters draw with: DejaVu Sans (shipped with matplotlib: Latin,
Cyrillic, Greek), then a CJK font where the system has one, so Chinese words are drawn
instead of empty boxes. ``make system-deps`` installs Debian's ``fonts-wqy-microhei``."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from matplotlib import font_manager

BASE_FAMILY = "DejaVu Sans"
CJK_FILES = (
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "DroidSansFallbackFull.ttf",
)
"""CJK font files looked for among the system's fonts, best first."""
CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
"""Chinese, Japanese and Korean characters (and their punctuation and full-width forms)."""


@cache
def cjk_font() -> Path | None:
    """The system's CJK font file, or None when it has none (looked up once)."""
    found = {Path(name).name: Path(name) for name in font_manager.findSystemFonts()}
    return next((found[name] for name in CJK_FILES if name in found), None)


@cache
def chart_families() -> tuple[str, ...]:
    """matplotlib's ``font.family`` for charts: DejaVu Sans, then the CJK font, which
    matplotlib uses for each glyph DejaVu Sans lacks (its font cache may predate the CJK
    font, so the font is added by its file)."""
    path = cjk_font()
    if path is None:
        return (BASE_FAMILY,)
    font_manager.fontManager.addfont(str(path))
    return (BASE_FAMILY, font_manager.FontProperties(fname=str(path)).get_name())


def has_cjk(text: str) -> bool:
    """True when ``text`` has a character DejaVu Sans cannot draw and a CJK font can."""
    return CJK.search(text) is not None
