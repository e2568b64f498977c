"""Readable plain text from mail HTML: scripts, styles and comments dropped, blocks become
lines, ``<blockquote>`` content is prefixed with ``> `` so quote stripping works on it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIPPED = {"script", "style", "head", "title", "noscript", "template", "svg", "xml"}
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "hr"}
_LINES = {"div", "li", "tr", "dd", "dt", "dl", "section", "article", "header", "footer", "address"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "base", "col", "area", "wbr", "source"}
_SPACES = re.compile(r"[ \t\r\n\f\xa0\u200b]+")


def html_to_text(html: str) -> str:
    """Return the visible text of an HTML document as plain text."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return extractor.text()


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._lines: list[str] = []
        self._buffer: list[str] = []
        self._skip_depth = 0
        self._quote_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            if tag not in _VOID:
                self._skip_depth += 1
            return
        if tag == "br":
            self._end_line(force=True)
        elif tag == "blockquote":
            self._paragraph()
            self._quote_depth += 1
        elif tag in _PARAGRAPHS:
            self._paragraph()
            self._pre_depth += tag == "pre"
        elif tag in _LINES:
            self._end_line()
            if tag == "li":
                self._buffer.append("- ")
        elif tag in {"td", "th"}:
            self._buffer.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "blockquote":
            self._end_line()
            self._quote_depth = max(0, self._quote_depth - 1)
            self._paragraph()
        elif tag in _PARAGRAPHS:
            self._paragraph()
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
        elif tag in _LINES:
            self._end_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._end_line(force=True)
        elif tag == "hr":
            self._paragraph()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pre_depth:
            first, *rest = data.replace("\r\n", "\n").split("\n")
            self._buffer.append(first)
            for line in rest:
                self._end_line(force=True)
                self._buffer.append(line)
        else:
            self._buffer.append(_SPACES.sub(" ", data))

    def _end_line(self, *, force: bool = False) -> None:
        line = "".join(self._buffer)
        self._buffer = []
        line = line.rstrip() if self._pre_depth else line.strip()
        if line or force:
            self._lines.append("> " * self._quote_depth + line)

    def _paragraph(self) -> None:
        """End the line and leave one empty line (quoted at the current depth) after it."""
        self._end_line()
        if not self._lines:
            return
        separator = ("> " * self._quote_depth).rstrip()
        if self._lines[-1].strip("> "):
            self._lines.append(separator)
        elif self._lines[-1].count(">") > self._quote_depth:
            self._lines[-1] = separator

    def text(self) -> str:
        self._end_line()
        lines = [line.rstrip() for line in self._lines]
        while lines and not lines[-1].strip("> "):
            lines.pop()
        while lines and not lines[0].strip("> "):
            lines.pop(0)
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
