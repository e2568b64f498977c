"""Who may use the staff bot: staff linked by an invite code or by the directory's
Telegram id. Everyone else gets a polite refusal and nothing else."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message, User

from bots.common import PRIVATE
from bots.context import FromUser, IsStaff
from core.clock import Clock
from core.directory.invites import redeem_invite
from core.i18n import N_, gettext
from core.storage.models import Person

REFUSAL = N_(
    "Sorry, this bot is only for the staff of the management company. If you work with us, "
    "ask your manager for an invite code and send /start CODE."
)
HELP = N_(
    "Assignment cards arrive here: accept, decline, postpone or finish the work with their "
    "buttons. Reply to a card to write to the resident.\n"
    "/mine: my open work\n"
    "/open: open requests\n"
    "/ticket 12: one request with its history\n"
    "/assign 12 NAME: give a request to someone\n"
    "/note 12 TEXT: an internal note (or reply to a card with /note TEXT)\n"
    "/lang: language\n"
    "/cancel: stop what you started"
)


async def link(
    message: Message,
    command: CommandObject,
    user: User,
    staff: Person | None,
    lang: str,
    clock: Clock,
) -> None:
    if staff is None:
        staff = await redeem_invite(command.args or "", user.id, clock)
    await message.answer(
        gettext(lang, N_("Welcome, {name}!"), name=staff.name) + "\n\n" + gettext(lang, HELP)
    )


async def start(message: Message, staff: Person | None, lang: str) -> None:
    await message.answer(gettext(lang, HELP if staff is not None else REFUSAL))


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
