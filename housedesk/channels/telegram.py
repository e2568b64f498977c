"""Start and stop the Telegram bots.

Each bot with a token gets a python-telegram-bot sender for the outbox (route
``resident_chat`` or ``staff_chat``) and an aiogram dispatcher for its conversations,
fed by long polling or by webhooks on housedesk's HTTP server. Webhook mode is the mode for
several processes: any of them takes any update (stored once by ``update_id`` in the inbox,
handled by whichever process claims its chat), and only the process that leads
``telegram-webhook`` tells Telegram the webhook's address. Polling is led by one process per
bot (``telegram-polling:<bot>``), so two processes never ask Telegram for updates at once.
Both send within one rate budget per bot (:mod:`bots.rate_budget`), answers to a person
before announcements. A bot without a token is off, in one log line, and everything else
runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiohttp import web
from telegram.error import InvalidToken
from tortoise import connections

from bots.answer_budget import BudgetedAnswers
from bots.dispatchers import (
    RESIDENT_COMMANDS,
    STAFF_COMMANDS,
    BotServices,
    build_resident_dispatcher,
    build_staff_dispatcher,
    set_command_menus,
)
from bots.fsm_storage import conversation_storage
from bots.inbox_feed import UpdateFeed
from bots.rate_budget import BudgetLimits, RateBudget, Window
from bots.response_types import build_response_types
from bots.shared_budget import SharedBotBudget
from bots.staff.desk import DeskAddress, set_desk_button
from bots.staff.menus import set_staff_menus
from bots.telegram_sender import TelegramSender
from core.messaging.inbox import InboxPolicy
from core.messaging.routes import Route
from housedesk.bootstrap import App
from housedesk.cluster.leadership import LeaderJob, Leadership, cancelled_on_resign
from housedesk.settings.config import DeskSettings
from housedesk.settings.telegram import TelegramSettings

log = logging.getLogger("housedesk")

DispatcherFactory = Callable[[BotServices, BaseStorage, BaseEventIsolation], Dispatcher]


@dataclass(frozen=True)
class BotKind:
    """One of the two bots: its name, outbox channel, conversations and command menu."""

    name: str
    channel: Route
    build: DispatcherFactory
    commands: tuple[tuple[str, str], ...]
    person_menus: Callable[[Bot], Awaitable[None]] | None = None
    """Sets each linked person's own menu at start-up (staff: per role)."""

    def token(self, settings: TelegramSettings) -> str | None:
        """The configured token, if any."""
        secret = settings.resident_token if self.name == "resident" else settings.staff_token
        return secret.get_secret_value() if secret else None

    @property
    def webhook_path(self) -> str:
        """Where housedesk's HTTP server takes this bot's webhook requests."""
        return f"/telegram/{self.name}"


BOT_KINDS = (
    BotKind("resident", Route.RESIDENT_CHAT, build_resident_dispatcher, RESIDENT_COMMANDS),
    BotKind("staff", Route.STAFF_CHAT, build_staff_dispatcher, STAFF_COMMANDS, set_staff_menus),
)


@dataclass
class RunningBot:
    """A bot that is up: its conversations and its outbox sender."""

    kind: BotKind
    bot: Bot
    dispatcher: Dispatcher
    sender: TelegramSender
    feed: UpdateFeed
    handling: asyncio.Task[None] | None = None


@dataclass
class TelegramChannel:
    """The running bots; :meth:`connect_webhooks` once the HTTP server listens."""

    settings: TelegramSettings
    storage: BaseStorage
    isolation: BaseEventIsolation
    leadership: Leadership
    bots: list[RunningBot] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    jobs: list[str] = field(default_factory=list)
    """The leader jobs this channel added (removed when it stops)."""

    def lead(self, name: str, job: LeaderJob) -> None:
        """Run ``job`` on the process that leads ``name``."""
        self.leadership.add(name, job)
        self.jobs.append(name)

    async def lead_webhooks(self, resign: asyncio.Event) -> None:
        """The leader's job: set the webhooks once (again after a hand-over) and hold the lead."""
        await self.connect_webhooks()
        await resign.wait()

    async def connect_webhooks(self) -> None:
        """Webhook mode: tell Telegram where to push each bot's updates (kept while down, so
        updates that arrive during a restart are delivered afterwards)."""
        if self.settings.mode != "webhook" or self.settings.webhook_url is None:
            return
        secret = self.settings.webhook_secret
        for running in self.bots:
            url = f"{self.settings.webhook_url}{running.kind.webhook_path}"
            try:
                await running.bot.set_webhook(
                    url,
                    secret_token=secret.get_secret_value() if secret else None,
                    allowed_updates=running.dispatcher.resolve_used_update_types(),
                )
            except (TelegramAPIError, TelegramNetworkError) as exc:
                log.error("telegram: %s bot cannot set its webhook: %s", running.kind.name, exc)

    async def stop(self) -> None:
        """Stop taking updates, then close the bots' connections and the senders."""
        bots, self.bots = self.bots, []
        self.stopping.set()
        for name in self.jobs:
            self.leadership.remove(name)
        for running in bots:
            await _stop_feed(running)
        for running in bots:
            await running.bot.session.close()
            await running.sender.stop()
        await self.storage.close()
        await self.isolation.close()


async def start_telegram(
    app: App, settings: TelegramSettings, http_routes: list[web.RouteDef]
) -> TelegramChannel:
    """Start the bots that have a token; in webhook mode add their routes to ``http_routes``
    (before the HTTP server is built). Polling, and setting the webhooks, are leader jobs
    (:attr:`App.leadership`), started once the HTTP server listens."""
    if any(kind.token(settings) is not None for kind in BOT_KINDS):
        await build_response_types()  # before start-up's heap is frozen, off the loop
    storage, isolation = conversation_storage(app.clock, settings.redis_url)
    channel = TelegramChannel(settings, storage, isolation, app.leadership)
    services = BotServices(
        tickets=app.tickets,
        blobs=app.blobs,
        clock=app.clock,
        report_window=timedelta(minutes=settings.report_window_minutes),
        reports_per_hour=settings.reports_per_hour,
        voice_to_text=app.voice_to_text,
        reports=app.operations.reports,
        announcer=app.operations.announcer,
        incidents=app.incidents,
        desk=desk_address(app.settings.desk),
    )
    for kind in BOT_KINDS:
        running = await _start_bot(app, settings, kind, services, storage, isolation)
        if running is None:
            continue
        channel.bots.append(running)
        running.handling = asyncio.create_task(
            running.feed.handle(channel.stopping), name=f"telegram {kind.name} updates"
        )
        if settings.mode == "webhook":
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
            http_routes.append(web.post(kind.webhook_path, _webhook_route(running.feed, secret)))
        else:
            poll = functools.partial(_poll, running, settings.polling_timeout_s)
            channel.lead(f"telegram-polling:{kind.name}", cancelled_on_resign(poll))
    if settings.mode == "webhook" and settings.webhook_url is not None and channel.bots:
        channel.lead("telegram-webhook", channel.lead_webhooks)
    return channel


async def _start_bot(
    app: App,
    settings: TelegramSettings,
    kind: BotKind,
    services: BotServices,
    storage: BaseStorage,
    isolation: BaseEventIsolation,
) -> RunningBot | None:
    token = kind.token(settings)
    if token is None:
        app.channel_states[kind.channel] = "off"
        log.info("telegram: %s bot is off (no %s_token)", kind.name, kind.name)
        return None
    limits = BudgetLimits(overall=Window(settings.messages_per_second, 1.0))
    budget = RateBudget(limits, shared=_shared_budget(token, limits))
    sender = TelegramSender(token, settings.api_base, app.blobs, budget=budget)
    try:
        await sender.start()
    except InvalidToken:
        app.channel_states[kind.channel] = "off (token rejected)"
        log.error("telegram: %s bot is off: Telegram rejected its token", kind.name)
        return None
    app.outbox.register(kind.channel, sender)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base))
    session.middleware(BudgetedAnswers(budget))
    bot = Bot(token, session=session)
    dispatcher = kind.build(services, storage, isolation)
    name = kind.name
    try:
        await set_command_menus(bot, kind.commands)
        if kind.person_menus is not None:
            await kind.person_menus(bot)
        if kind.name == "staff" and services.desk is not None:
            await set_desk_button(bot, services.desk, app.settings.service.default_language)
        name = f"{kind.name} bot @{(await bot.me()).username}"
    except (TelegramAPIError, TelegramNetworkError) as exc:
        log.warning("telegram: %s bot cannot reach Telegram yet (menus not set): %s", name, exc)
        name = f"{kind.name} bot"
    app.channel_states[kind.channel] = f"up ({settings.mode})"
    log.info("telegram: %s is up (%s)", name, settings.mode)
    policy = InboxPolicy(max_attempts=settings.update_max_attempts, lease_s=settings.update_lease_s)
    feed = UpdateFeed(kind.name, bot, dispatcher, app.clock, policy)
    return RunningBot(kind, bot, dispatcher, sender, feed)


def _shared_budget(token: str, limits: BudgetLimits) -> SharedBotBudget | None:
    """On PostgreSQL the bot's budget is shared by every process (several may run)."""
    if connections.get("default").capabilities.dialect != "postgres":
        return None
    return SharedBotBudget(token.split(":", 1)[0], limits)  # the bot's public id, not its token


async def _poll(running: RunningBot, timeout: int) -> None:
    """Long-poll until stopped; a webhook left from webhook mode would block getUpdates."""
    with contextlib.suppress(TelegramAPIError, TelegramNetworkError):
        await running.bot.delete_webhook(drop_pending_updates=False)
    await running.feed.poll(timeout)


def _webhook_route(
    feed: UpdateFeed, secret: str | None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def take(request: web.Request) -> web.Response:
        return await feed.webhook(request, secret)

    return take


async def _stop_feed(running: RunningBot) -> None:
    """Finish the update in hand (polling stopped with its lead: unconfirmed updates are
    delivered again)."""
    if running.handling is not None:
        await running.handling


def desk_address(settings: DeskSettings) -> DeskAddress | None:
    """Where ``/desk`` sends staff (None: the desk has no public address)."""
    if not settings.public_url:
        return None
    return DeskAddress(settings.public_url.rstrip("/"), timedelta(minutes=settings.link_minutes))
