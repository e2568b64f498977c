"""Who may use the staff bot, and where: staff linked by an invite code or by the
directory's Telegram id, in a private chat or a staff group of the directory. Everyone else
gets a polite refusal and nothing else; another group gets one line and no data."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject, CommandStart, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bots.common import PRIVATE
from bots.context import FromUser, IsStaff
from bots.staff.menus import help_text, set_person_menu
from core.clock import Clock
from core.directory.invites import redeem_invite
from core.i18n import N_, gettext
from core.storage.models import Person, StaffChat

REFUSAL = N_(
    "Sorry, this bot is only for the staff of the management company. If you work with us, "
    "ask your manager for an invite code and send /start CODE."
)
NOT_A_STAFF_GROUP = N_("This group is not a staff group; write to me in a private chat.")


class InStaffPlace(Filter):
    """Passes updates from a private chat or a staff group of the directory."""

    async def __call__(self, event: TelegramObject) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        chat = getattr(message, "chat", None)
        if chat is None:
            return True  # a button under a message too old to tell: the checks in core decide
        if chat.type == ChatType.PRIVATE:
            return True
        return await StaffChat.exists(chat_id=chat.id)


async def link(
    message: Message,
    command: CommandObject,
    bot: Bot,
    user: User,
    staff: Person | None,
    lang: str,
    clock: Clock,
) -> None:
    if staff is None:  # a new link: the menu keeper does not know the person yet
        staff = await redeem_invite(command.args or "", user.id, clock)
        await set_person_menu(bot, staff, message.chat.id)
    welcome = gettext(lang, N_("Welcome, {name}!"), name=staff.name)
    await message.answer(welcome + "\n\n" + help_text(staff, lang))


async def start(message: Message, staff: Person | None, lang: str) -> None:
    if staff is None:
        await message.answer(gettext(lang, REFUSAL))
        return
    await message.answer(help_text(staff, lang))


def router() -> Router:
    """``/start CODE`` links a Telegram account; ``/start`` and ``/help`` explain the bot."""
    access = Router(name="staff-access")
    access.message.filter(PRIVATE)
    access.message.register(link, CommandStart(deep_link=True), FromUser())
    access.message.register(start, CommandStart())
    access.message.register(start, Command("help"))
    return access


async def refuse(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, REFUSAL))


async def refuse_button(callback: CallbackQuery, lang: str) -> None:
    await callback.answer(gettext(lang, REFUSAL), show_alert=True)


async def ignore(message: Message) -> None:
    """Group members who are not staff: not the bot's business."""


async def not_a_staff_group(message: Message, lang: str) -> None:
    """A command in a group the directory does not know: one line, no data."""
    if (message.text or "").startswith("/"):
        await message.answer(gettext(lang, NOT_A_STAFF_GROUP))


async def not_a_staff_group_button(callback: CallbackQuery, lang: str) -> None:
    await callback.answer(gettext(lang, NOT_A_STAFF_GROUP), show_alert=True)


def foreign_group_router() -> Router:
    """Before any staff command or button: groups that are not staff groups get one line
    for a command and nothing else."""
    foreign = Router(name="staff-foreign-group")
    foreign.message.filter(~InStaffPlace())
    foreign.callback_query.filter(~InStaffPlace())
    foreign.message.register(not_a_staff_group)
    foreign.callback_query.register(not_a_staff_group_button)
    return foreign


def refusal_router() -> Router:
    """For anyone who is not staff: a refusal in private, an alert on a button, silence in
    groups."""
    refusal = Router(name="staff-refusal")
    refusal.message.filter(~IsStaff())
    refusal.callback_query.filter(~IsStaff())
    refusal.message.register(refuse, PRIVATE)
    refusal.callback_query.register(refuse_button)
    refusal.message.register(ignore)
    return refusal
