"""Telegram's flood control, as the Bot API stand-in plays it: 429 with ``retry_after``.

Telegram lets a bot send about 30 messages a second overall, about one a second to a private
chat (short bursts are fine) and 20 a minute to a group; beyond that it answers
``429 Too Many Requests: retry after N`` with ``parameters.retry_after``. The stand-in
counts the messages it accepted (``send*``, ``edit*``, ``copy*``, ``forward*`` except
``sendChatAction``) in sliding windows per bot and per chat. Off unless a test passes
``limits`` to ``BotApiServer`` (:data:`TELEGRAM_LIMITS` plays Telegram's).
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.botapi_errors import ApiError

FLOOD_FAULT = "flood_429"
"""``RecordedCall.fault`` of a call the stand-in's flood control refused."""


@dataclass(frozen=True)
class Limit:
    """At most ``count`` messages in any ``seconds``."""

    count: int
    seconds: float


@dataclass(frozen=True)
class RateLimits:
    """Flood-control limits of one bot: overall, per private chat and per group."""

    overall: Limit = Limit(30, 1.0)
    private_chat: Limit = Limit(10, 3.0)
    group: Limit = Limit(20, 60.0)


TELEGRAM_LIMITS = RateLimits()


def counts_as_message(method: str) -> bool:
    """True for methods Telegram's flood control counts."""
    name = method.lower()
    return name.startswith(("send", "edit", "copy", "forward")) and name != "sendchataction"


@dataclass
class FloodControl:
    """One bot's accepted messages, by send time, overall and per chat."""

    limits: RateLimits
    _overall: deque[float] = field(default_factory=deque)
    _chats: defaultdict[Any, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def admit(self, method: str, params: dict[str, Any], now: float) -> ApiError | None:
        """Count the call if it fits every limit, else the 429 it is answered with."""
        if not counts_as_message(method):
            return None
        chat = params.get("chat_id")
        windows = [(self._overall, self.limits.overall)]
        if chat is not None:
            private = isinstance(chat, int) and chat > 0
            windows.append(
                (self._chats[chat], self.limits.private_chat if private else self.limits.group)
            )
        wait = max(_wait(sent, limit, now) for sent, limit in windows)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            return ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        for sent, _ in windows:
            sent.append(now)
        return None


def _wait(sent: deque[float], limit: Limit, now: float) -> float:
    while sent and sent[0] <= now - limit.seconds:
        sent.popleft()
    return 0.0 if len(sent) < limit.count else sent[0] + limit.seconds - now


def busiest_second(times: list[float]) -> int:
    """The most of ``times`` (seconds, sorted) that fall within any one second."""
    busiest, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest
