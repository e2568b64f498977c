"""Webhook mode of the Bot API stand-in: pushes a bot's queued updates to its webhook URL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from tests.fakes.botapi_queue import UpdateQueue
from tests.fakes.botapi_wire import MalformedCall, UploadedFile, read_call

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

ReplyHandler = Callable[[str, dict[str, Any], dict[str, UploadedFile]], Awaitable[None]]
"""Called with (method, params, files) when a webhook answers with a method call."""


class WebhookPusher:
    """POSTs updates one at a time, in order, with the secret header, as Telegram does.

    A 2xx answer confirms the update; its body may carry a method call, which is handed to
    ``on_reply``. Any other answer or a connection error is kept for getWebhookInfo and the
    update is retried after ``retry_delay`` seconds.
    """

    def __init__(
        self,
        *,
        queue: UpdateQueue,
        session: aiohttp.ClientSession,
        url: str,
        secret_token: str | None,
        on_reply: ReplyHandler,
        retry_delay: float,
    ) -> None:
        self.url = url
        self.secret_token = secret_token
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None
        self._queue = queue
        self._session = session
        self._on_reply = on_reply
        self._retry_delay = retry_delay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start pushing in the background."""
        self._task = asyncio.create_task(self._run(), name=f"webhook push to {self.url}")

    async def stop(self) -> None:
        """Stop pushing; an update being delivered stays queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def info(self) -> dict[str, Any]:
        """The webhook part of getWebhookInfo."""
        info: dict[str, Any] = {"url": self.url, "has_custom_certificate": False}
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        return info

    async def _run(self) -> None:
        while True:
            batch = await self._queue.wait_ready(limit=1, timeout=None)
            if not batch:
                return
            update = batch[0]
            if await self._deliver(update):
                self._queue.confirm(update["update_id"] + 1)
            else:
                await asyncio.sleep(self._retry_delay)

    async def _deliver(self, update: dict[str, Any]) -> bool:
        headers = {SECRET_HEADER: self.secret_token} if self.secret_token else {}
        try:
            async with self._session.post(self.url, json=update, headers=headers) as response:
                if not 200 <= response.status < 300:
                    self._fail(
                        f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
                    return False
                await self._handle_reply(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._fail(f"Connection failed: {exc!r}")
            return False
        return True

    async def _handle_reply(self, response: aiohttp.ClientResponse) -> None:
        try:
            params, files = await read_call(response.headers, response.content)
        except MalformedCall:
            return
        method = params.pop("method", None)
        if isinstance(method, str) and method:
            await self._on_reply(method, params, files)

    def _fail(self, message: str) -> None:
        self.last_error_date = int(time.time())
        self.last_error_message = message
