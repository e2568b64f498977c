"""Each person's command menu kept in their role and language.

A chat's menu (``setMyCommands`` for that chat) is set again after an update from a person
whose role or language is not the one this process last set it for: after ``/lang``, or
after the directory changed their role. A process that starts sets each menu once more on
the person's first update, unless the bot's menu for everyone already is that person's
(``shown_by_default``: a resident whose chosen language is their Telegram app's, whom the
menus set once per language at start-up fit): no Bot API call and no read per new resident.
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

MenuSetter = Callable[[Bot, Person, User], Awaitable[None]]
"""Sets ``person``'s menu in their private chat with ``user`` (its id is the user's)."""
ShownByDefault = Callable[[Person, User], bool]
"""Whether the bot's menu for everyone (no menu of the chat's own) is ``person``'s."""


class MenuKeeper(BaseMiddleware):
    """Outer middleware, after ``PersonMiddleware``: see the module docstring."""

    def __init__(
        self, set_menu: MenuSetter, shown_by_default: ShownByDefault | None = None
    ) -> None:
        self.set_menu = set_menu
        self.shown_by_default = shown_by_default
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
        if user.id not in self.shown and self._by_default(person, user):
            self.shown[user.id] = _menu_of(person)
            return result
        async with self.locks.setdefault(user.id, asyncio.Lock()):
            # read again: another update of the same person may have changed it meanwhile
            person = await Person.get_or_none(id=person.id)
            if person is not None and self.shown.get(user.id) != _menu_of(person):
                await self._set(data["bot"], person, user)
        return result

    def _by_default(self, person: Person, user: User) -> bool:
        return self.shown_by_default is not None and self.shown_by_default(person, user)

    async def _set(self, bot: Bot, person: Person, user: User) -> None:
        try:
            await self.set_menu(bot, person, user)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("telegram: menu of person %s not set: %s", person.id, exc)
        else:
            self.shown[user.id] = _menu_of(person)


def _menu_of(person: Person) -> tuple[Role, str | None]:
    """What a person's menu depends on."""
    return person.role, person.language
