"""A bot's updates go through the inbox: stored before they are confirmed, handled from there.

Long polling asks for the next updates only after the last batch is stored, so Telegram
redelivers whatever could not be stored; a webhook request is answered 200 only once its
update is stored (503 otherwise, and Telegram retries). The handling loop claims stored
updates (:func:`core.messaging.inbox.claim`: with several processes, any of them takes any
update, and a chat's updates are in one process's hands at a time) and feeds them to the
dispatcher, one chat's updates in order and chats side by side. When handling
fails while the database is away, nothing is counted: the loop waits, with backoff, until
the database answers and tries again. Other failures count towards quarantine.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Awaitable
from enum import Enum
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiohttp import web

from core.clock import Clock
from core.messaging import inbox
from core.messaging.inbox import InboxPolicy
from core.storage.db import ping
from core.storage.models import InboundUpdate

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BATCH = 100


class _Outcome(Enum):
    HANDLED = "handled"
    FAILED = "failed"
    OUTAGE = "outage"


class Backoff:
    """Doubling waits from ``first`` up to ``longest`` seconds, reset on success."""

    def __init__(self, first: float = 0.5, longest: float = 30.0) -> None:
        self.first, self.longest = first, longest
        self.current = first

    def next(self) -> float:
        """The wait now; the next one is twice as long."""
        wait, self.current = self.current, min(self.current * 2, self.longest)
        return wait

    def reset(self) -> None:
        """Back to the first, short wait."""
        self.current = self.first


class UpdateFeed:
    """Feeds one bot's dispatcher from the inbox (see the module's docstring)."""

    def __init__(
        self,
        name: str,
        bot: Bot,
        dispatcher: Dispatcher,
        clock: Clock,
        policy: InboxPolicy,
        *,
        idle_s: float = 5.0,
    ) -> None:
        self.name = name
        self.bot = bot
        self.dispatcher = dispatcher
        self.clock = clock
        self.policy = policy
        self.idle_s = idle_s
        self._wake = asyncio.Event()
        self._unreleased: list[InboundUpdate] = []

    # -- taking updates in -------------------------------------------------------------------

    async def poll(self, timeout: int) -> None:
        """Long-poll until cancelled, storing each batch before asking past it."""
        allowed = self.dispatcher.resolve_used_update_types()
        offset: int | None = None
        backoff = Backoff()
        while True:
            try:
                updates = await self.bot(
                    GetUpdates(offset=offset, timeout=timeout, allowed_updates=allowed),
                    request_timeout=timeout + 10,
                )
            except (TelegramAPIError, TelegramNetworkError) as exc:
                log.warning("telegram: %s bot cannot get updates: %s", self.name, exc)
                await asyncio.sleep(backoff.next())
                continue
            if not updates:
                backoff.reset()
                continue
            if not await self._store(updates):
                await asyncio.sleep(backoff.next())  # not confirmed: Telegram keeps them
                continue
            backoff.reset()
            offset = updates[-1].update_id + 1

    async def webhook(self, request: web.Request, secret: str | None) -> web.Response:
        """Take one webhook request: 200 once its update is stored, 503 when it cannot be."""
        given = request.headers.get(SECRET_HEADER, "")
        if secret is not None and not hmac.compare_digest(given.encode(), secret.encode()):
            return web.Response(status=401)
        try:
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
        except ValueError:
            return web.Response(status=400)
        if not await self._store([update]):
            return web.Response(status=503, headers={"Retry-After": "5"})
        return web.Response(status=200)

    async def _store(self, updates: list[Update]) -> bool:
        payloads = [
            (u.update_id, u.model_dump(mode="json", by_alias=True, exclude_unset=True))
            for u in updates
        ]
        try:
            await inbox.store(self.name, payloads, self.clock.now())
        except Exception as exc:  # whatever the database raised: confirm nothing
            log.warning(
                "telegram: %s bot cannot store %d update(s), Telegram will deliver them again: %s",
                self.name,
                len(updates),
                exc,
            )
            return False
        self._wake.set()
        return True

    # -- handling them -----------------------------------------------------------------------

    async def handle(self, stop: asyncio.Event) -> None:
        """Handle stored updates until ``stop``, the chats in hand finished first.

        Up to :data:`BATCH` chats are in hand at once, each chat's updates in order; a chat
        done makes room for the next update at once, so a chat whose answer waits (for the
        rate budget, say) never holds up the updates of others.
        """
        backoff = Backoff()
        chains: dict[asyncio.Task[_Outcome], list[InboundUpdate]] = {}
        renewal = asyncio.create_task(self._renew(chains))
        paused_until = 0.0
        try:
            while not stop.is_set():
                room = BATCH - len(chains) if time.monotonic() >= paused_until else 0
                if room > 0:
                    self._wake.clear()  # an update stored from now on sets it again
                    try:
                        await self._release()
                        rows = await inbox.claim(
                            self.name, self.clock.now(), self.policy.lease, room
                        )
                    except Exception as exc:
                        log.warning("telegram: %s bot inbox unreachable: %s", self.name, exc)
                        paused_until = time.monotonic() + backoff.next()
                        rows = []
                    for chain in _by_chat(rows):
                        chains[asyncio.create_task(self._handle_chain(chain))] = chain
                    room -= len(rows)
                for done in await self._next_done(stop, chains, room > 0, paused_until):
                    if done.result() is _Outcome.OUTAGE:
                        self._unreleased.extend(chains[done])  # given back once it answers
                        paused_until = time.monotonic() + backoff.next()
                    elif time.monotonic() >= paused_until:
                        backoff.reset()
                    del chains[done]
        finally:
            if chains:
                await asyncio.wait(chains)
            renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal
            self._unreleased.extend(row for rows in chains.values() for row in rows)
            with contextlib.suppress(Exception):
                await self._release()

    async def _next_done(
        self,
        stop: asyncio.Event,
        chains: dict[asyncio.Task[_Outcome], list[InboundUpdate]],
        room: bool,
        paused_until: float,
    ) -> set[asyncio.Task[_Outcome]]:
        """Wait for a chat to be done, for ``stop``, for a new update (if there is ``room``)
        or for the pause to end, at most :attr:`idle_s`; the chats done."""
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
        if room:
            waits.add(asyncio.ensure_future(self._wake.wait()))
        left = paused_until - time.monotonic()
        timeout = min(self.idle_s, left) if left > 0 else self.idle_s
        try:
            await asyncio.wait({*waits, *chains}, timeout=timeout, return_when=FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
        return {task for task in chains if task.done()}

    async def _release(self) -> None:
        """Give back the claims of a batch left unhandled (an outage: as soon as the database
        is back, so this process or another takes them again without waiting for the lease)."""
        if self._unreleased:
            await inbox.release(self._unreleased)
            self._unreleased = []

    async def _renew(self, chains: dict[asyncio.Task[_Outcome], list[InboundUpdate]]) -> None:
        """Keep the claim of the updates in hand (every third of a lease)."""
        while True:
            await asyncio.sleep(self.policy.lease_s / 3)
            rows = [row for chain in list(chains.values()) for row in chain]
            if not rows:
                continue
            try:
                await inbox.renew(rows, self.clock.now() + self.policy.lease)
            except Exception as exc:  # the claim may lapse: another process handles the rest
                log.warning("telegram: %s bot cannot renew its claim: %s", self.name, exc)

    async def _handle_chain(self, rows: list[InboundUpdate]) -> _Outcome:
        """One chat's updates in order; an outage stops the chain (order is kept)."""
        for row in rows:
            if await self._handle_one(row) is _Outcome.OUTAGE:
                return _Outcome.OUTAGE
        return _Outcome.HANDLED

    async def _handle_one(self, row: InboundUpdate) -> _Outcome:
        try:
            update = Update.model_validate(row.payload, context={"bot": self.bot})
            await self.dispatcher.feed_update(self.bot, update)
        except Exception as exc:
            if not await ping():
                log.warning(
                    "telegram: %s bot update %s waits for the database: %s",
                    self.name,
                    row.update_id,
                    exc,
                )
                return _Outcome.OUTAGE
            if isinstance(exc, TelegramAPIError):  # an answer not sent, after its retries
                log.warning(
                    "telegram: %s bot update %s not answered, tried again later: %s",
                    self.name,
                    row.update_id,
                    exc,
                )
            else:
                log.exception("telegram: %s bot update %s failed", self.name, row.update_id)
            return await self._record(
                inbox.record_failure(
                    row, f"{type(exc).__name__}: {exc}", self.clock.now(), self.policy
                ),
                _Outcome.FAILED,
            )
        return await self._record(inbox.mark_handled(row, self.clock.now()), _Outcome.HANDLED)

    async def _record(self, write: Awaitable[object], outcome: _Outcome) -> _Outcome:
        try:
            await write
        except Exception as exc:  # lost with the database: the update is handled again
            log.warning("telegram: %s bot cannot record an update: %s", self.name, exc)
            return _Outcome.OUTAGE
        return outcome


def _chat_key(row: InboundUpdate) -> object:
    """Whose conversation an update belongs to (rows stored before #19 carry no chat)."""
    return row.chat or inbox.chat_of(row.payload) or row.id


def _by_chat(rows: list[InboundUpdate]) -> list[list[InboundUpdate]]:
    chains: dict[object, list[InboundUpdate]] = {}
    for row in rows:
        chains.setdefault(_chat_key(row), []).append(row)
    return list(chains.values())
