"""The staff bot's conversations as state groups (diagram: ``flows.mmd`` next to this file)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class CardFlow(StatesGroup):
    """What a card button asks next. Data: ``ticket``; for ``done_note`` also ``photo``."""

    decline_reason = State()
    postpone_until = State()
    done_photo = State()
    done_note = State()
