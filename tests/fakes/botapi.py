"""A Telegram Bot API stand-in for tests: real HTTP on 127.0.0.1, several bots at once.

aiogram and python-telegram-bot talk to it exactly as to Telegram, pointed at :attr:`url`
(aiogram: ``TelegramAPIServer.from_base(url)``; PTB: ``base_url=url + "/bot"``,
``base_file_url=url + "/file/bot"``). It serves ``/bot<token>/<method>`` (JSON, urlencoded or
multipart bodies, uploads kept byte for byte) and ``/file/bot<token>/<file_path>``.

Tests drive it through the test API: register bots with :meth:`BotApiServer.add_bot`, queue
updates (built with ``tests.fakes.botapi_updates``) with :meth:`~BotApiServer.add_update`,
inspect :meth:`~BotApiServer.calls` and :meth:`~BotApiServer.messages`, and inject failures
with :meth:`~BotApiServer.fail_next`. With ``limits`` (``TELEGRAM_LIMITS`` from
``tests.fakes.botapi_limits``) it answers messages beyond Telegram's rate limits with 429 and
``retry_after``, as Telegram does; without, it never does. Like Telegram, it serves one
getUpdates per bot at a time: a second one ends the long poll already waiting with 409
Conflict (:meth:`~BotApiServer.poll_conflicts` counts them). Webhook URLs may be plain
``http`` (Telegram demands ``https``).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web

from tests.fakes.botapi_account import ACCOUNT_METHODS, BotAccount
from tests.fakes.botapi_errors import ApiError, Fault, InjectedFault, bad_request
from tests.fakes.botapi_limits import FLOOD_FAULT, FloodControl, RateLimits, counts_as_message
from tests.fakes.botapi_queue import UpdateQueue
from tests.fakes.botapi_webhook import WebhookPusher
from tests.fakes.botapi_wire import MalformedCall, RecordedCall, UploadedFile, read_call

JSON = dict[str, Any]
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_SERVER_METHODS = ("getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo")
_MAX_UPLOAD = 50 * 1024 * 1024
_POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class _Bot:
    """Everything the stand-in keeps for one token."""

    account: BotAccount
    queue: UpdateQueue = field(default_factory=UpdateQueue)
    calls: list[RecordedCall] = field(default_factory=list)
    faults: defaultdict[str, deque[InjectedFault]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    webhook: WebhookPusher | None = None
    flood: FloodControl | None = None
    long_poll: asyncio.Future[None] | None = None
    """Set when a newer getUpdates ends the one waiting now."""
    poll_conflicts: int = 0


class BotApiServer:
    """The Bot API stand-in; use as ``async with BotApiServer() as server`` or the fixture."""

    def __init__(
        self, *, webhook_retry_delay: float = 0.1, limits: RateLimits | None = None
    ) -> None:
        self._webhook_retry_delay = webhook_retry_delay
        self._limits = limits
        self._bots: dict[str, _Bot] = {}
        self._method_names = {name.lower(): name for name in (*_SERVER_METHODS, *ACCOUNT_METHODS)}
        self._closing = asyncio.Event()
        self._call_recorded = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("BotApiServer is not started")
        return self._url

    async def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def stop(self) -> None:
        """Release long polls and held requests, stop webhook pushes, close the port."""
        self._closing.set()
        for bot in self._bots.values():
            bot.queue.close()
            if bot.webhook is not None:
                await bot.webhook.stop()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = self._session = self._url = None

    async def __aenter__(self) -> BotApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test API ---------------------------------------------------------------------------

    def add_bot(
        self, token: str, *, username: str | None = None, first_name: str = "Housedesk Test Bot"
    ) -> JSON:
        """Register a bot token (others are answered 401) and return the bot's User object."""
        if not _TOKEN.match(token):
            raise ValueError(f"not a bot token: {token!r}")
        account = BotAccount(token, username=username, first_name=first_name)
        flood = FloodControl(self._limits) if self._limits is not None else None
        self._bots[token] = _Bot(account=account, flood=flood)
        return dict(account.user)

    def add_update(self, token: str, update: JSON) -> JSON:
        """Queue an update for the bot and return it as it will be delivered.

        It gets the next ``update_id``; message ids and referenced messages are filled in
        from the bot's chats (see ``BotAccount.register_update``).
        """
        bot = self._bot(token)
        update = copy.deepcopy(update)
        bot.account.register_update(update)
        return bot.queue.push(update)

    def add_file(
        self,
        token: str,
        data: bytes,
        *,
        file_path: str | None = None,
        filename: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> str:
        """Store a file as if a user had sent it to the bot; return its file_id."""
        account = self._bot(token).account
        return account.add_file(
            data, file_path=file_path, filename=filename, content_type=content_type
        ).file_id

    def calls(self, token: str, method: str | None = None) -> list[RecordedCall]:
        """The calls the bot made, oldest first, optionally only those of one method."""
        calls = self._bot(token).calls
        return [call for call in calls if method is None or call.method == method]

    async def wait_for_call(
        self,
        token: str,
        method: str,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 2.0,
    ) -> RecordedCall:
        """The first call of ``method`` (matching ``predicate``), waiting for it if needed."""
        bot = self._bot(token)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    recorded = self._call_recorded
                    for call in bot.calls:
                        if call.method == method and (predicate is None or predicate(call)):
                            return call
                    await recorded.wait()
        except TimeoutError:
            seen = [call.method for call in bot.calls[-10:]]
            raise TimeoutError(
                f"no matching {method} call within {timeout}s; last calls: {seen}"
            ) from None

    def messages(self, token: str, chat_id: int) -> list[JSON]:
        """The messages now in a chat, oldest first (edits applied, deleted ones gone)."""
        return self._bot(token).account.messages(chat_id)

    def commands(
        self, token: str, language_code: str = "", scope: JSON | None = None
    ) -> list[JSON]:
        """The command menu setMyCommands stored for a scope and language."""
        return self._bot(token).account.commands(language_code, scope)

    def sent_times(self, token: str) -> list[float]:
        """When each message the stand-in accepted from the bot arrived (monotonic seconds)."""
        return [
            call.at
            for call in self._bot(token).calls
            if call.fault is None and call.via == "http" and counts_as_message(call.method)
        ]

    def flood_refusals(self, token: str) -> int:
        """How many calls of the bot the flood control answered with 429."""
        return sum(1 for call in self._bot(token).calls if call.fault == FLOOD_FAULT)

    def poll_conflicts(self, token: str) -> int:
        """How many long polls a concurrent getUpdates on the same bot ended with 409."""
        return self._bot(token).poll_conflicts

    def pending_updates(self, token: str) -> int:
        """How many updates are queued and not yet confirmed."""
        return len(self._bot(token).queue)

    def fail_next(
        self,
        token: str,
        method: str,
        kind: Fault | str,
        *,
        count: int = 1,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with a failure instead of running them.

        ``kind`` is a :class:`Fault` or its value: ``"429"`` (with ``retry_after``), ``"500"``,
        ``"502"`` (JSON), ``"502_html"`` (a proxy's page), ``"timeout"`` (held until the client
        gives up or the server stops), ``"403"`` (blocked), ``"400"`` (chat not found).
        ``description`` replaces Telegram's usual wording.
        """
        fault = InjectedFault(Fault(kind), retry_after=retry_after, description=description)
        self._bot(token).faults[self._canonical(method)].extend([fault] * count)

    def clear_faults(self, token: str, method: str) -> None:
        """Forget the failures of ``method`` not used yet: its next calls run again."""
        self._bot(token).faults[self._canonical(method)].clear()

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        bot = self._bots.get(request.match_info["token"])
        if bot is None:
            return ApiError(401, "Unauthorized").response()
        method = self._canonical(request.match_info["method"])
        try:
            params, files = await read_call(request.headers, request.content, request.query)
        except MalformedCall as exc:
            return bad_request(str(exc)).response()
        faults = bot.faults[method]
        fault = faults.popleft() if faults else None
        refusal = None
        if fault is None and bot.flood is not None:
            refusal = bot.flood.admit(method, params, time.monotonic())
        fault_name = fault.kind.value if fault is not None else None
        if refusal is not None:
            fault_name = FLOOD_FAULT
        self._record(bot, RecordedCall(method, params, files, fault=fault_name))
        if fault is not None and fault.kind is Fault.TIMEOUT:
            await self._closing.wait()
            raise web.HTTPServiceUnavailable()
        if fault is not None:
            return fault.response()
        if refusal is not None:
            return refusal.response()
        try:
            result = await self._execute(bot, method, params, files)
        except ApiError as exc:
            return exc.response()
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        bot = self._bots.get(request.match_info["token"])
        stored = bot and bot.account.file_at(request.match_info["file_path"])
        if not stored:
            return ApiError(404, "Not Found").response()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _execute(
        self, bot: _Bot, method: str, params: JSON, files: dict[str, UploadedFile]
    ) -> Any:
        match method:
            case "getUpdates":
                return await self._get_updates(bot, params)
            case "setWebhook":
                return await self._set_webhook(bot, params)
            case "deleteWebhook":
                return await self._delete_webhook(bot, params)
            case "getWebhookInfo":
                return self._webhook_info(bot)
        return bot.account.call(method, params, files)

    async def _get_updates(self, bot: _Bot, params: JSON) -> list[JSON]:
        if bot.webhook is not None:
            raise ApiError(409, _WEBHOOK_CONFLICT)
        if "allowed_updates" in params:
            bot.queue.allowed_updates = list(params["allowed_updates"] or [])
        if bot.long_poll is not None and not bot.long_poll.done():
            bot.long_poll.set_result(None)  # Telegram ends the earlier poll: two pollers
            bot.poll_conflicts += 1
        ended = bot.long_poll = asyncio.get_running_loop().create_future()
        try:
            bot.queue.confirm(int(params.get("offset") or 0))
            limit = min(max(int(params.get("limit") or 100), 1), 100)
            timeout = max(float(params.get("timeout") or 0), 0.0)
            waiting = asyncio.ensure_future(bot.queue.wait_ready(limit, timeout))
            try:
                await asyncio.wait({waiting, ended}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
            if not waiting.cancelled() and waiting.done():
                return waiting.result()
            raise ApiError(409, _POLL_CONFLICT)
        finally:
            if bot.long_poll is ended:
                bot.long_poll = None

    async def _set_webhook(self, bot: _Bot, params: JSON) -> bool:
        url = str(params.get("url") or "")
        await self._delete_webhook(bot, params)
        if not url:
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if "allowed_updates" in params:
            bot.queue.allowed_updates = list(params["allowed_updates"] or [])
        if self._session is None:
            raise RuntimeError("BotApiServer is not started")
        bot.webhook = WebhookPusher(
            queue=bot.queue,
            session=self._session,
            url=url,
            secret_token=params.get("secret_token") or None,
            on_reply=lambda method, reply_params, reply_files: self._run_webhook_reply(
                bot, method, reply_params, reply_files
            ),
            retry_delay=self._webhook_retry_delay,
        )
        bot.webhook.start()
        return True

    async def _delete_webhook(self, bot: _Bot, params: JSON) -> bool:
        if bot.webhook is not None:
            await bot.webhook.stop()
            bot.webhook = None
        if params.get("drop_pending_updates"):
            bot.queue.drop_all()
        return True

    def _webhook_info(self, bot: _Bot) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False}
        if bot.webhook is not None:
            info = bot.webhook.info()
            info["max_connections"] = 40
            if bot.queue.allowed_updates:
                info["allowed_updates"] = list(bot.queue.allowed_updates)
        info["pending_update_count"] = len(bot.queue)
        return info

    async def _run_webhook_reply(
        self, bot: _Bot, method: str, params: JSON, files: dict[str, UploadedFile]
    ) -> None:
        """Execute a method call returned in a webhook response; Telegram ignores its errors."""
        method = self._canonical(method)
        self._record(bot, RecordedCall(method, params, files, via="webhook_reply"))
        with contextlib.suppress(ApiError):
            bot.account.call(method, params, files)

    # -- helpers ----------------------------------------------------------------------------

    def _bot(self, token: str) -> _Bot:
        try:
            return self._bots[token]
        except KeyError:
            raise KeyError(f"unknown bot token {token!r}: call add_bot first") from None

    def _canonical(self, method: str) -> str:
        """Bot API method names are case-insensitive; record them in their documented case."""
        return self._method_names.get(method.lower(), method)

    def _record(self, bot: _Bot, call: RecordedCall) -> None:
        bot.calls.append(call)
        self._call_recorded.set()
        self._call_recorded = asyncio.Event()


@pytest_asyncio.fixture
async def botapi() -> AsyncIterator[BotApiServer]:
    """A started :class:`BotApiServer`, stopped after the test."""
    async with BotApiServer() as server:
        yield server
