"""Per-update context for both bots: who is writing, in which language, and filters on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Message, TelegramObject, User

from core.i18n import normalize_language
from core.storage.models import Person
from core.tickets.commands import InboundRef
from core.tickets.service import TicketService

PersonLookup = Callable[[int], Awaitable[Person | None]]


class PersonMiddleware(BaseMiddleware):
    """Puts the person behind the update under ``key`` and ``person`` (None for strangers),
    and ``lang``.

    ``lang`` is the language the person chose, else their Telegram app's language.
    """

    def __init__(self, lookup: PersonLookup, key: str) -> None:
        self.lookup = lookup
        self.key = key

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        person = await self.lookup(user.id) if user is not None and not user.is_bot else None
        data[self.key] = data["person"] = person
        data["lang"] = (
            person.language
            if person is not None and person.language
            else normalize_language(user.language_code if user else None)
        )
        return await handler(event, data)


class InPrivateChat(Filter):
    """Passes updates of a private chat.

    Filters here are coroutines on purpose: aiogram runs plain callables, magic filters
    (``F.chat.type == ...``) included, in a worker thread, a hop that costs more than the check.
    """

    async def __call__(self, event: TelegramObject) -> bool:
        chat = getattr(event, "chat", None)
        return chat is not None and chat.type == ChatType.PRIVATE


class HasText(Filter):
    """Passes messages with text."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text)


class FromUser(Filter):
    """Passes messages with a sender and hands it to the handler as ``user``."""

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        return {"user": message.from_user} if message.from_user is not None else False


class IsStaff(Filter):
    """Passes updates from linked, active members of staff (see ``PersonMiddleware``)."""

    async def __call__(self, event: TelegramObject, staff: Person | None = None) -> bool:
        return staff is not None


class RepliesToTicket(Filter):
    """Passes a message that replies to a message of a ticket's thread; adds ``ticket``.

    The thread holds what the outbox delivered for the ticket in ``channel`` and the message
    that opened it (both as ``<chat id>:<message id>``).
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def __call__(self, message: Message, tickets: TicketService) -> bool | dict[str, Any]:
        replied = message.reply_to_message
        if replied is None:
            return False
        ref = f"{message.chat.id}:{replied.message_id}"
        ticket = await tickets.ticket_for_message(self.channel, ref)
        return {"ticket": ticket} if ticket is not None else False


def inbound_ref(channel: str, message: Message) -> InboundRef:
    """A Telegram message as a core inbound reference: a repeated delivery is recognised, and
    a reply to this message threads to its ticket."""
    return InboundRef(channel, f"{message.chat.id}:{message.message_id}")
