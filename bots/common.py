"""Conversations both bots have: /cancel, /lang, being blocked, and what nobody asked for."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter, Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bots.callbacks import PickLanguage
from bots.context import InPrivateChat
from bots.keyboards import LANGUAGE_NAMES, language_choice
from core.directory.residents import set_blocked, set_language
from core.i18n import N_, gettext, normalize_language
from core.storage.models import Person

PRIVATE = InPrivateChat()
REGISTER_FIRST = N_("Please register first: open the link from your building's poster.")


def build_cancel_router() -> Router:
    """``/cancel`` leaves any conversation, whatever state it is in."""
    router = Router(name="cancel")

    @router.message(Command("cancel"))
    async def cancel(message: Message, state: FSMContext, lang: str) -> None:
        await state.clear()
        await message.answer(gettext(lang, N_("Cancelled.")))

    return router


def build_membership_router() -> Router:
    """A private chat that blocks the bot is marked, and unmarked when it comes back."""
    router = Router(name="membership")
    router.my_chat_member.filter(PRIVATE)

    @router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
    async def blocked(event: ChatMemberUpdated) -> None:
        await set_blocked(event.from_user.id, True)

    @router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    async def unblocked(event: ChatMemberUpdated) -> None:
        await set_blocked(event.from_user.id, False)

    return router


def build_language_router(person_key: str) -> Router:
    """``/lang``: choose the language; remembered for the person under ``person_key``."""
    router = Router(name="language")

    @router.message(Command("lang"), PRIVATE)
    async def ask(message: Message, lang: str) -> None:
        await message.answer(
            gettext(lang, N_("Choose your language:")), reply_markup=language_choice()
        )

    @router.callback_query(PickLanguage.filter())
    async def choose(callback: CallbackQuery, callback_data: PickLanguage, **data: Any) -> None:
        person: Person | None = data.get(person_key)
        lang = normalize_language(callback_data.code)
        if person is None:
            await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
            return
        await set_language(person, lang)
        await callback.answer()
        if callback.message is not None:
            await callback.message.answer(
                gettext(
                    lang,
                    N_("I will speak {name} from now on."),
                    name=LANGUAGE_NAMES.get(lang, lang),
                )
            )

    return router


def build_leftovers_router(hint: str) -> Router:
    """The last router: a polite ``hint`` for private messages nobody handled, a short note
    for stale buttons; group chatter and everything else is ignored."""
    router = Router(name="leftovers")

    @router.message(PRIVATE)
    async def unknown_message(message: Message, lang: str) -> None:
        await message.answer(gettext(lang, hint))

    @router.callback_query()
    async def stale_button(callback: CallbackQuery, lang: str) -> None:
        await callback.answer(gettext(lang, N_("This button is no longer active.")))

    @router.message()
    async def group_chatter(message: Message) -> None:
        """Messages in groups are not for the bot unless they are commands or replies."""

    return router
