"""The residents' conversations as state groups (diagram: ``flows.mmd`` next to this file)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    """``/start``: which building (unless the deep link said), then which flat."""

    building = State()
    flat = State()


class Report(StatesGroup):
    """A new request: its topic (when the resident wrote before choosing one), which flat (for
    several), then its messages: the first one creates the ticket, the next ones (within the
    report window) join it.

    Data: ``pending`` (messages sent before the topic, kept as Bot API JSON), ``category``,
    ``building``, ``unit``, ``started`` (when the topic was chosen) and ``auto_title`` (the
    ticket's title was made up, the next text replaces it).
    """

    topic = State()
    flat = State()
    incident = State()
    """An active incident where the resident lives is shown; waiting for their choice."""
    describing = State()


class Thread(StatesGroup):
    """A request the resident is writing to (``ticket``): chosen from "my requests", or just
    said to be not fixed; or just rated, when the next text comments on the rating."""

    commenting = State()
    rating_comment = State()
