"""``/desk`` in the staff bot: the dispatcher's desk as a Mini App, and a single-use link to
sign in to it from a browser. The chat's menu button opens the desk too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Command
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    Message,
    WebAppInfo,
)

from bots.context import InPrivateChat, IsStaff
from core.clock import Clock
from core.directory.desk_sessions import issue_link
from core.i18n import N_, gettext, ngettext
from core.storage.models import Person

log = logging.getLogger(__name__)
BUTTON = N_("Desk")


@dataclass(frozen=True)
class DeskAddress:
    """Where staff reach the desk (``https://…/desk``), and how long a sign-in link lasts."""

    url: str
    link_ttl: timedelta

    @property
    def launch_url(self) -> str:
        """The page the Mini App opens: it signs in with the launch data."""
        return f"{self.url}/signin"

    def link(self, code: str) -> str:
        """A single-use sign-in link."""
        return f"{self.url}/signin/link/{code}"


async def set_desk_button(
    bot: Bot, desk: DeskAddress, language: str | None, chat_id: int | None = None
) -> None:
    """The chat's menu button opens the desk (``chat_id`` None: every private chat's that has
    none of its own); a failure leaves the commands menu."""
    button = MenuButtonWebApp(
        text=gettext(language, BUTTON), web_app=WebAppInfo(url=desk.launch_url)
    )
    try:
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
    except (TelegramAPIError, TelegramNetworkError) as exc:
        log.warning("telegram: desk menu button not set for a chat: %s", exc)


async def open_desk(
    message: Message, bot: Bot, staff: Person, lang: str, clock: Clock, desk: DeskAddress | None
) -> None:
    """Answer with the desk's Mini App button and a browser sign-in link."""
    if desk is None:
        await message.answer(gettext(lang, N_("The desk is not set up here yet.")))
        return
    code = await issue_link(staff, clock.now(), desk.link_ttl)
    minutes = round(desk.link_ttl.total_seconds() / 60)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=gettext(lang, N_("Open the desk")),
                    web_app=WebAppInfo(url=desk.launch_url),
                )
            ],
            [
                InlineKeyboardButton(
                    text=gettext(lang, N_("Sign in on a computer")), url=desk.link(code)
                )
            ],
        ]
    )
    text = ngettext(
        lang,
        "The dispatcher's desk. The sign-in link works once, for {n} minute.",
        "The dispatcher's desk. The sign-in link works once, for {n} minutes.",
        minutes,
    )
    await message.answer(text, reply_markup=keyboard, disable_web_page_preview=True)
    await set_desk_button(bot, desk, lang, message.chat.id)


def router() -> Router:
    """``/desk`` for linked staff, in private chats (where Mini Apps open)."""
    desk = Router(name="staff-desk")
    desk.message.register(open_desk, Command("desk"), IsStaff(), InPrivateChat())
    return desk
