"""The residents' conversations as state groups (diagram: ``flows.mmd`` next to this file)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    """``/start``: which building (unless the deep link said), then which flat."""

    building = State()
    flat = State()


class Report(StatesGroup):
    """A new request: which flat (for several), then its messages: the first one creates the
    ticket, the next ones (within the report window) join it.

    Data: ``category``, ``building``, ``unit`` and ``started`` (when the topic was chosen).
    """

    flat = State()
    describing = State()


class Thread(StatesGroup):
    """A request chosen from "my requests": the next message is a comment on it (``ticket``)."""

    commenting = State()
