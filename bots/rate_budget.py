"""One rate budget per bot: every message a bot sends, direct answers and outbox rows alike.

Telegram lets a bot send about 30 messages a second overall, about one a second to one
private chat (short bursts are fine) and 20 a minute to one group; beyond that it answers
429 with ``retry_after``. A :class:`RateBudget` is shared by everything that sends with one
token (the aiogram bot answering updates and the outbox's python-telegram-bot sender), so
together they stay under those limits. Waiting senders are served by :class:`Urgency`
(an answer to a person before bulk traffic such as announcements), first come first served
within one priority; a send held back only by its own chat's limit never holds others up.
Bulk fills at most a third of the overall window (:attr:`BudgetLimits.bulk_share`): the
rest stays free for answers, which otherwise would wait whenever an announcement had just
filled the window (priority among waiting sends cannot help a send that arrives to a full
window). A third is the pace announcements are queued at (ten a second), so they lose nothing.
A 429 from Telegram pauses the whole budget for ``retry_after`` (:meth:`RateBudget.hold`).
With several processes, a :class:`SharedLimit` (:mod:`bots.shared_budget`) makes each message
the budget lets go also wait for the bot's budget shared by all of them.

A message counts against a window from the moment it may go until a window after its
request came back, so however long requests take on the way, Telegram never sees more than
the limit within one window.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

ChatId = int | str
log = logging.getLogger(__name__)


class SharedLimit(Protocol):
    """A budget shared with other processes (see :mod:`bots.shared_budget`)."""

    async def take(self, chat: ChatId | None) -> float:
        """Take one message to ``chat``; the seconds to wait before sending it."""
        ...

    async def hold(self, seconds: float) -> None:
        """Nothing is sent by any process for ``seconds``."""
        ...


class Urgency(IntEnum):
    """Who goes first when sends wait for the budget: lower first."""

    ANSWER = 0
    """A person waits for it: an answer to an update, a reply, an acknowledgement."""
    BULK = 1
    """Nobody waits for it in particular: announcements and other mass messages."""


@dataclass(frozen=True)
class Window:
    """At most ``limit`` messages in any ``seconds``."""

    limit: int
    seconds: float


@dataclass(frozen=True)
class BudgetLimits:
    """A bot's limits: overall, per private chat and per group or channel."""

    overall: Window = Window(30, 1.0)
    private_chat: Window = Window(10, 5.0)
    """A burst of ten, then two a second (Telegram tolerates short bursts over one a second)."""
    group: Window = Window(20, 60.0)
    bulk_share: float = 1 / 3
    """The share of the overall window bulk may fill: the rest is kept for answers, so a
    person never waits for a window that an announcement filled a moment before (during a
    burst of reports, answers alone take twenty or more of a bot's thirty a second)."""

    @property
    def bulk_limit(self) -> int:
        """How many of the overall window's messages may be bulk (at least one)."""
        return max(1, int(self.overall.limit * self.bulk_share))


_PRUNE_FROM = 1024
"""Chat windows kept before idle ones are forgotten (then twice as many as are left)."""
_MESSAGE_METHOD_PREFIXES = ("send", "edit", "copy", "forward")


def is_message_method(api_method: str) -> bool:
    """True for Bot API methods that post or change a message in a chat (they use the budget).

    ``sendChatAction`` shows "typing…" and is not a message.
    """
    name = api_method.lower()
    return name.startswith(_MESSAGE_METHOD_PREFIXES) and name != "sendchataction"


class _Stamp:
    """One message in a window: in flight (``inf``) until its request came back."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = math.inf


class _SlidingWindow:
    """The messages of the last ``window.seconds``, counted until a window after their
    request came back: Telegram got the request before that, so the limit holds there."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._sent: list[_Stamp] = []

    def wait(self, now: float, limit: int | None = None) -> float:
        """Seconds until one more message fits under ``limit`` (default: the window's own;
        0: now; ``inf``: when a request comes back)."""
        limit = self.window.limit if limit is None else limit
        self._sent = [s for s in self._sent if s.at > now - self.window.seconds]
        over = len(self._sent) - limit
        if over < 0:
            return 0.0
        freed_by = sorted(s.at for s in self._sent)[over]  # the stamp whose expiry makes room
        return freed_by + self.window.seconds - now

    def take(self) -> _Stamp:
        """Count one more message, in flight."""
        stamp = _Stamp()
        self._sent.append(stamp)
        return stamp

    def idle(self, now: float) -> bool:
        """True when nothing was sent within the window."""
        self.wait(now)
        return not self._sent


@dataclass
class _Waiter:
    priority: Urgency
    order: int
    chat: ChatId | None
    granted: asyncio.Future[list[_Stamp]]


class RateBudget:
    """The shared rate budget of one bot token (see the module's docstring)."""

    def __init__(
        self, limits: BudgetLimits | None = None, shared: SharedLimit | None = None
    ) -> None:
        self.limits = limits or BudgetLimits()
        self.shared = shared
        self._holding: set[asyncio.Task[None]] = set()
        self._overall = _SlidingWindow(self.limits.overall)
        self._chats: dict[ChatId, _SlidingWindow] = {}
        self._waiting: list[_Waiter] = []
        self._order = itertools.count()
        self._held_until = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._prune_at = _PRUNE_FROM

    @property
    def waiting(self) -> int:
        """How many sends wait for their turn now."""
        return sum(1 for waiter in self._waiting if not waiter.granted.done())

    @asynccontextmanager
    async def turn(self, chat: ChatId | None, priority: Urgency) -> AsyncIterator[None]:
        """Wait until one message to ``chat`` (None: no chat limit) fits; send it inside.

        The message counts from now until a window after the block ends.
        """
        waiter = _Waiter(
            priority, next(self._order), chat, asyncio.get_running_loop().create_future()
        )
        bisect.insort(self._waiting, waiter, key=lambda w: (w.priority, w.order))
        self._grant()
        try:
            stamps = await waiter.granted
        except asyncio.CancelledError:  # a cancelled waiter is dropped by the next _grant
            if waiter.granted.done() and not waiter.granted.cancelled():
                self._release(waiter.granted.result())  # granted just as it was cancelled
            raise
        try:
            if self.shared is not None:
                await _shared_turn(self.shared, chat)
            yield
        finally:
            self._release(stamps)

    def _release(self, stamps: list[_Stamp]) -> None:
        now = time.monotonic()
        for stamp in stamps:
            stamp.at = now
        self._grant()

    def hold(self, seconds: float) -> None:
        """Telegram asked to wait (a 429): nothing is sent for ``seconds``."""
        self._held_until = max(self._held_until, time.monotonic() + seconds)
        self._grant()
        if self.shared is not None:
            task = asyncio.ensure_future(_hold_shared(self.shared, seconds))
            self._holding.add(task)
            task.add_done_callback(self._holding.discard)

    def _grant(self) -> None:
        """Let every waiter go whose limits allow it, by priority; wake again when one might."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        now = time.monotonic()
        next_wake = math.inf  # a request coming back wakes it too (_release)
        still: list[_Waiter] = []
        blocked = False
        for waiter in self._waiting:
            if waiter.granted.done():
                continue
            if blocked:
                still.append(waiter)
                continue
            limit = self.limits.bulk_limit if waiter.priority is Urgency.BULK else None
            shared = max(self._held_until - now, self._overall.wait(now, limit))
            if shared > 0:
                blocked = True  # nobody may jump the queue for the shared budget
                next_wake = min(next_wake, shared)
                still.append(waiter)
                continue
            own = self._chat_window(waiter.chat)
            chat_wait = own.wait(now) if own is not None else 0.0
            if chat_wait > 0:
                next_wake = min(next_wake, chat_wait)
                still.append(waiter)
                continue
            stamps = [self._overall.take()]
            if own is not None:
                stamps.append(own.take())
            waiter.granted.set_result(stamps)
        self._waiting = still
        self._forget_idle_chats(now)
        if still and next_wake < math.inf:
            self._timer = asyncio.get_running_loop().call_later(next_wake, self._grant)

    def _chat_window(self, chat: ChatId | None) -> _SlidingWindow | None:
        if chat is None:
            return None
        window = self._chats.get(chat)
        if window is None:
            private = isinstance(chat, int) and chat > 0
            window = _SlidingWindow(self.limits.private_chat if private else self.limits.group)
            self._chats[chat] = window
        return window

    def _forget_idle_chats(self, now: float) -> None:
        """Drop the windows of chats nothing was sent to lately (keeps memory bounded)."""
        if len(self._chats) < self._prune_at:
            return
        waiting = {w.chat for w in self._waiting}
        self._chats = {
            chat: window
            for chat, window in self._chats.items()
            if chat in waiting or not window.idle(now)
        }
        self._prune_at = max(_PRUNE_FROM, 2 * len(self._chats))


async def _shared_turn(shared: SharedLimit, chat: ChatId | None) -> None:
    """Wait for the budget shared with other processes (alone when it cannot be asked)."""
    try:
        wait = await shared.take(chat)
    except Exception as exc:  # the database is away: this process's budget still holds
        log.warning("telegram: shared rate budget unavailable: %s", exc)
        return
    if wait > 0:
        await asyncio.sleep(wait)


async def _hold_shared(shared: SharedLimit, seconds: float) -> None:
    try:
        await shared.hold(seconds)
    except Exception as exc:
        log.warning("telegram: cannot hold the shared rate budget: %s", exc)
