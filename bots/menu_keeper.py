"""Each person's command menu kept in their role and language.

A chat's menu (``setMyCommands`` for that chat) is set again after an update from a person
whose role or language is not the one this process last set it for: after ``/lang``, or
after the directory changed their role. A process that starts sets each menu once more on
the person's first update.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import TelegramObject, User

from core.storage.models import Person, Role

log = logging.getLogger(__name__)

MenuSetter = Callable[[Bot, Person, int], Awaitable[None]]
"""Sets ``person``'s menu in their private chat (the chat id is their user id)."""


class MenuKeeper(BaseMiddleware):
    """Outer middleware, after ``PersonMiddleware``: see the module docstring."""

    def __init__(self, set_menu: MenuSetter) -> None:
        self.set_menu = set_menu
        self.shown: dict[int, tuple[Role, str | None]] = {}
        self.locks: dict[int, asyncio.Lock] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        result = await handler(event, data)
        person: Person | None = data.get("person")
        user: User | None = data.get("event_from_user")
        if person is None or user is None or self.shown.get(user.id) == _menu_of(person):
            return result
        async with self.locks.setdefault(user.id, asyncio.Lock()):
            # read again: another update of the same person may have changed it meanwhile
            person = await Person.get_or_none(id=person.id)
            if person is not None and self.shown.get(user.id) != _menu_of(person):
                await self._set(data["bot"], person, user.id)
        return result

    async def _set(self, bot: Bot, person: Person, chat_id: int) -> None:
        try:
            await self.set_menu(bot, person, chat_id)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("telegram: menu of person %s not set: %s", person.id, exc)
        else:
            self.shown[chat_id] = _menu_of(person)


def _menu_of(person: Person) -> tuple[Role, str | None]:
    """What a person's menu depends on."""
    return person.role, person.language
