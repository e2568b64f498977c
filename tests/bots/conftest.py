"""Fixtures of the bot tests: the Bot API stand-in, and settings with a brisk outbox."""

from __future__ import annotations

import pytest

from housedesk.settings.config import Settings
from tests.fakes.botapi import botapi

__all__ = ["botapi", "settings"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, with an outbox worker that looks for work every 20 ms."""
    outbox = settings.outbox.model_copy(update={"poll_interval_s": 0.02})
    return settings.model_copy(update={"outbox": outbox})
