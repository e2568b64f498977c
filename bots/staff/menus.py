"""What each role of staff may do, as /help and as a command menu per person.

Menus are set directly with ``setMyCommands`` for each person's chat (not through the
outbox): a menu is state, not a message, so setting it again is harmless and a failure is
mended by the next start-up or the person's next ``/start``.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import BotCommand, BotCommandScopeChat

from core.directory.invites import linked_staff
from core.i18n import N_, gettext
from core.storage.models import Person, Role

log = logging.getLogger(__name__)

Commands = tuple[tuple[str, str], ...]

TECHNICIAN_COMMANDS: Commands = (
    ("mine", N_("My open work")),
    ("open", N_("Open requests")),
    ("ticket", N_("One request: /ticket 12")),
    ("note", N_("Internal note: /note 12 TEXT")),
    ("desk", N_("The desk: journal, tickets, calls")),
    ("lang", N_("Language")),
    ("cancel", N_("Stop what I started")),
    ("help", N_("What I can do")),
)
DISPATCHER_COMMANDS: Commands = (
    ("assign", N_("Assign: /assign 12 NAME")),
    ("edit", N_("Change a request: /edit 12 building OAK")),
    ("merge", N_("Merge a duplicate into a request: /merge 13 12")),
    ("overdue", N_("Overdue requests")),
    ("load", N_("Open work per technician")),
    ("announce", N_("Announce: /announce OAK TEXT")),
    ("incident", N_("Outages: /incident open OAK 14:00 TEXT")),
)
MANAGER_COMMANDS: Commands = (
    ("report", N_("Report: /report week OAK")),
    ("ratings", N_("Ratings per technician")),
    ("export", N_("Tickets as a spreadsheet: /export month")),
)
INTRO = N_(
    "Assignment cards arrive here: accept, decline, postpone or finish the work with their "
    "buttons. Reply to a card to write to the resident."
)


def commands_for(role: Role) -> Commands:
    """The commands of a role: technicians' work; dispatchers also coordinate; managers
    (and admins) also report."""
    if role == Role.DISPATCHER:
        return TECHNICIAN_COMMANDS[:-3] + DISPATCHER_COMMANDS + TECHNICIAN_COMMANDS[-3:]
    if role in (Role.MANAGER, Role.ADMIN):
        extra = DISPATCHER_COMMANDS + MANAGER_COMMANDS
        return TECHNICIAN_COMMANDS[:-3] + extra + TECHNICIAN_COMMANDS[-3:]
    return TECHNICIAN_COMMANDS


def help_text(person: Person, lang: str) -> str:
    """``/help`` for ``person``'s role, in ``lang``."""
    lines = [f"/{name}: {gettext(lang, text)}" for name, text in commands_for(person.role)]
    return "\n".join([gettext(lang, INTRO), "", *lines])


async def set_person_menu(bot: Bot, person: Person, chat_id: int | str) -> None:
    """The command menu of ``person``'s private chat: their role's commands, their language."""
    commands = [
        BotCommand(command=name, description=gettext(person.language, text))
        for name, text in commands_for(person.role)
    ]
    await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=int(chat_id)))


async def set_staff_menus(bot: Bot) -> None:
    """Every linked member of staff's menu (at start-up); one failure does not stop the rest."""
    for person, chat_id in await linked_staff():
        try:
            await set_person_menu(bot, person, chat_id)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("telegram: staff menu of person %s not set: %s", person.id, exc)
