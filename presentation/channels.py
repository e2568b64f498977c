"""The words the outside world uses for channels: JSON, report keys, configuration.

Core calls the chat platform's channel ``chat``; what housedesk documents (the JSON
``channel``, reports' by-channel keys, the ``classify_channels`` setting) says ``telegram``.
This module is the one place that maps between the two.
"""

from __future__ import annotations

from core.storage.models import Channel

CHAT_WORD = "telegram"
"""The documented name of :attr:`Channel.CHAT`."""


def channel_word(channel: Channel | str) -> str:
    """The documented name of ``channel`` (``telegram`` for the chat channel)."""
    value = Channel(channel)
    return CHAT_WORD if value is Channel.CHAT else value.value


def channel_of_word(word: str) -> Channel:
    """The channel a documented name stands for (``telegram`` is the chat channel)."""
    return Channel.CHAT if word == CHAT_WORD else Channel(word)


def documented_data(data: dict[str, object]) -> dict[str, object]:
    """A timeline row's data with its ``channel`` (a created event's) as documented."""
    channel = data.get("channel")
    if channel == Channel.CHAT:
        return {**data, "channel": CHAT_WORD}
    return data
