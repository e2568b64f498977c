"""Conversations both bots have: /cancel, /lang, being blocked, and what nobody asked for."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter, Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bots.callbacks import PickLanguage
from bots.context import InPrivateChat
from bots.keyboards import LANGUAGE_NAMES, language_choice, main_menu
from core.directory.residents import set_blocked, set_language
from core.i18n import N_, gettext, normalize_language
from core.storage.models import Person, Role

PRIVATE = InPrivateChat()
REGISTER_FIRST = N_("Please register first: open the link from your building's poster.")


async def cancel(message: Message, state: FSMContext, lang: str) -> None:
    """``/cancel`` leaves any conversation, whatever state it is in."""
    await state.clear()
    await message.answer(gettext(lang, N_("Cancelled.")))


def cancel_router() -> Router:
    """``/cancel``, before any conversation's own handlers."""
    router = Router(name="cancel")
    router.message.register(cancel, Command("cancel"))
    return router


async def blocked(event: ChatMemberUpdated) -> None:
    await set_blocked(event.from_user.id, True)


async def unblocked(event: ChatMemberUpdated) -> None:
    await set_blocked(event.from_user.id, False)


def membership_router() -> Router:
    """A private chat that blocks the bot is marked, and unmarked when it comes back."""
    router = Router(name="membership")
    router.my_chat_member.filter(PRIVATE)
    router.my_chat_member.register(blocked, ChatMemberUpdatedFilter(member_status_changed=KICKED))
    router.my_chat_member.register(unblocked, ChatMemberUpdatedFilter(member_status_changed=MEMBER))
    return router


async def ask_language(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, N_("Choose your language:")), reply_markup=language_choice())


async def language_chosen(
    callback: CallbackQuery, callback_data: PickLanguage, person: Person | None
) -> None:
    """Remember the language for the person writing (see ``PersonMiddleware``); a resident
    gets the menu in it (the command menu follows: ``bots.menu_keeper``)."""
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
            ),
            reply_markup=main_menu(lang) if person.role == Role.RESIDENT else None,
        )


def language_router() -> Router:
    """``/lang``: choose the language the bot speaks to you."""
    router = Router(name="language")
    router.message.register(ask_language, Command("lang"), PRIVATE)
    router.callback_query.register(language_chosen, PickLanguage.filter())
    return router


async def stale_button(callback: CallbackQuery, lang: str) -> None:
    await callback.answer(gettext(lang, N_("This button is no longer active.")))


async def group_chatter(message: Message) -> None:
    """Messages in groups are not for the bot unless they are commands or replies."""


def leftovers_router(hint: str) -> Router:
    """The last router: a polite ``hint`` for private messages nobody handled, a short note
    for stale buttons; group chatter and everything else is ignored."""
    router = Router(name="leftovers")

    @router.message(PRIVATE)
    async def unknown_message(message: Message, lang: str) -> None:
        await message.answer(gettext(lang, hint))

    router.callback_query.register(stale_button)
    router.message.register(group_chatter)
    return router
