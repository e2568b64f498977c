"""The incident tests use the bot tests' Bot API stand-in and brisk outbox."""

from __future__ import annotations

from tests.bots.conftest import botapi, settings

__all__ = ["botapi", "settings"]
