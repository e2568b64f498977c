"""Housedesk's Telegram side running against the Bot API stand-in, and people who use it."""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from aiohttp import web

from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from housedesk.channels.telegram import TelegramChannel, start_telegram
from housedesk.settings.telegram import TelegramSettings
from presentation.directory_file import import_directory_file
from tests.conftest import REPO
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import callback_update, message_update, private_chat, user
from tests.telegram.support import RESIDENT_BOT_TOKEN, STAFF_BOT_TOKEN

JSON = dict[str, Any]
RESIDENT = RESIDENT_BOT_TOKEN
STAFF = STAFF_BOT_TOKEN
WEBHOOK_SECRET = "housedesk-test-secret_42"
EXAMPLE_DIRECTORY = REPO / "examples" / "directory.toml"
Mode = Literal["polling", "webhook"]


async def load_example_directory() -> None:
    """Oak Court (English) and ЖК Липовый (Russian), their staff and categories."""
    await import_directory_file(EXAMPLE_DIRECTORY)


@dataclass
class Housedesk:
    """The running Telegram channel, outbox worker and (webhook mode) HTTP server."""

    app: App
    botapi: BotApiServer
    channel: TelegramChannel
    http_url: str


@asynccontextmanager
async def running_housedesk(
    app: App, botapi: BotApiServer, mode: Mode = "polling", **settings: Any
) -> AsyncIterator[Housedesk]:
    """Start both bots as ``housedesk run`` does, against the stand-in; stop them after."""
    for token, username in ((RESIDENT, "oak_resident_bot"), (STAFF, "oak_staff_bot")):
        if not known_bot(botapi, token):  # a restart keeps the bots' chats
            botapi.add_bot(token, username=username)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    http_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    telegram = TelegramSettings(
        api_base=botapi.url,
        resident_token=RESIDENT,
        staff_token=STAFF,
        mode=mode,
        webhook_url=http_url,
        webhook_secret=WEBHOOK_SECRET,
        polling_timeout_s=1,
        **settings,
    )
    routes: list[web.RouteDef] = []
    channel = await start_telegram(app, telegram, routes)
    runner = web.AppRunner(build_http_app(app, routes), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    stop = asyncio.Event()
    app.leadership.check_s = 0.5  # a lead lost with the database is taken back soon
    leading = asyncio.create_task(app.leadership.run(stop))  # polling, setting the webhook
    worker = asyncio.create_task(app.outbox.run(stop))
    try:
        yield Housedesk(app, botapi, channel, http_url)
    finally:
        stop.set()
        await leading
        await worker
        await channel.stop()
        await runner.cleanup()


def known_bot(botapi: BotApiServer, token: str) -> bool:
    """True when the stand-in already serves this token."""
    try:
        botapi.calls(token)
    except KeyError:
        return False
    return True


async def start_report(resident: TelegramUser, building: str, topic: str = "Technical") -> None:
    """Register ``resident`` to flat 12 of ``building`` and choose a topic from the menu."""
    resident.send(f"/start {building}")
    await resident.sees("Which flat")
    resident.send("12")
    menu = await resident.sees("You are registered")
    resident.press(menu, topic)
    await resident.sees("Describe the problem")


@dataclass
class TelegramUser:
    """A person talking to one bot through the stand-in, as a test drives them."""

    botapi: BotApiServer
    token: str
    user: JSON
    chat: JSON = field(default_factory=dict)
    _read: set[int] = field(default_factory=set)

    @classmethod
    def of(
        cls,
        botapi: BotApiServer,
        token: str,
        user_id: int,
        name: str,
        language: str = "en",
        chat: JSON | None = None,
    ) -> TelegramUser:
        """A user with a private chat (or ``chat``) with the bot of ``token``."""
        person = user(user_id, name, language_code=language)
        return cls(botapi, token, person, chat or private_chat(person))

    def send(self, text: str | None = None, **fields: Any) -> JSON:
        """A new message from this user (see ``message_update``); return it as queued."""
        update = message_update(self.user, self.chat, text, **fields)
        return dict(self.botapi.add_update(self.token, update)["message"])

    def press(self, message: JSON, label: str) -> None:
        """Press the inline button whose label contains ``label`` under ``message``."""
        self.press_data(message, button_data(message, label))

    def press_data(self, message: JSON, data: str) -> None:
        """Press a button with this callback data under ``message``."""
        update = callback_update(self.user, message["message_id"], data, chat=self.chat)
        self.botapi.add_update(self.token, update)

    def bot_messages(self) -> list[JSON]:
        """The bot's messages in this chat, oldest first."""
        return [m for m in self.botapi.messages(self.token, self.chat["id"]) if m["from"]["is_bot"]]

    async def sees(self, fragment: str, *, timeout: float = 5.0) -> JSON:
        """The first bot message not seen before whose text or caption has ``fragment``."""
        return await self.sees_where(lambda m: fragment in shown_text(m), fragment, timeout)

    async def sees_where(
        self, predicate: Callable[[JSON], bool], what: str = "a message", timeout: float = 5.0
    ) -> JSON:
        """The first bot message not seen before that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.bot_messages():
                if message["message_id"] not in self._read and predicate(message):
                    self._read.add(message["message_id"])
                    return message
            if time.monotonic() > deadline:
                shown = [shown_text(m)[:80] for m in self.bot_messages()[-6:]]
                raise AssertionError(f"{self.user['first_name']} never saw {what!r}; last: {shown}")
            await asyncio.sleep(0.02)


def timeline(detail: dict[str, object]) -> list[JSON]:
    """The events of ``TicketService.detail``."""
    return cast(list[JSON], detail["events"])


def shown_text(message: JSON) -> str:
    """What a person reads in a message: its text or its caption."""
    return str(message.get("text") or message.get("caption") or "")


def button_data(message: JSON, label: str) -> str:
    """The callback data of the button whose label contains ``label``."""
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        for button in row:
            if label in button["text"]:
                return str(button["callback_data"])
    labels = [
        b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row
    ]
    raise AssertionError(f"no button {label!r} under the message; buttons: {labels}")


async def eventually(
    check: Callable[[], Any], *, timeout: float = 5.0, what: str = "", interval: float = 0.02
) -> Any:
    """Poll an async or plain ``check`` every ``interval`` seconds until it returns
    something truthy, and return that; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(interval)
