"""The journal's filter lists as HTML ``<option>`` elements, escaped once per list and
language instead of once per request: a page only marks the option chosen.

A list of the directory (buildings, staff, categories) is kept as a :class:`Choices` in the
directory's cache, so its HTML is read and escaped again exactly when the list is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from markupsafe import Markup, escape

from core.i18n import N_, gettext
from core.storage.models import Channel
from core.tickets.journal import OPEN
from core.tickets.workflow import STATUS_NAMES, status_name
from presentation.channels import channel_word
from presentation.reports.text import channel_name

Labelled = Callable[[str], Iterable[tuple[object, str]]]
"""A list's (value, label) pairs in a language."""


class Choices:
    """One filter's options, given by ``labelled``."""

    def __init__(self, labelled: Labelled) -> None:
        self._labelled = labelled
        self._escaped: dict[str, list[tuple[str, str, str]]] = {}

    def html(self, language: str, chosen: str | None) -> Markup:
        """The ``<option>`` elements in ``language``, the one of value ``chosen`` selected."""
        escaped = self._escaped.get(language)
        if escaped is None:
            escaped = self._escaped[language] = [
                (str(value), f'<option value="{escape(value)}"', f">{escape(label)}</option>")
                for value, label in self._labelled(language)
            ]
        return Markup(
            "".join(
                f"{start} selected{end}" if value == chosen else start + end
                for value, start, end in escaped
            )
        )


STATUSES = Choices(
    lambda language: [
        (OPEN, gettext(language, N_("open"))),
        *((status.value, status_name(status, language)) for status in STATUS_NAMES),
    ]
)
CHANNELS = Choices(
    lambda language: [
        (channel_word(channel), channel_name(channel.value, language)) for channel in Channel
    ]
)
