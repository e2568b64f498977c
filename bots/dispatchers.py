"""The two bots' dispatchers, assembled from fresh routers (a router joins one dispatcher only,
so every call builds new ones), and their command menus."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand, BotCommandScopeChat, User

from bots import common
from bots.context import PersonMiddleware
from bots.errors import build_errors_router
from bots.media import VoiceToText
from bots.menu_keeper import MenuKeeper
from bots.residents import incident, menu, registration, report, requests
from bots.staff import (
    access,
    cards,
    corrections,
    desk,
    incidents,
    manager,
    registrations,
    work,
)
from bots.staff.desk import DeskAddress
from bots.staff.menus import TECHNICIAN_COMMANDS, set_person_menu
from core.clock import Clock
from core.directory.invites import staff_by_chat
from core.directory.residents import resident_by_chat
from core.i18n import (
    DEFAULT_LANGUAGE,
    N_,
    app_codes,
    available_languages,
    gettext,
    normalize_language,
)
from core.incidents.service import IncidentService
from core.operations.announcements import Announcer
from core.reports.figures import Reports
from core.storage.blobs import BlobStore
from core.storage.models import Person
from core.tickets.service import TicketService

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = (
    ("start", N_("Register, or show the menu")),
    ("menu", N_("Report a problem")),
    ("my", N_("My requests")),
    ("lang", N_("Language")),
    ("cancel", N_("Stop what I started")),
)
STAFF_COMMANDS = TECHNICIAN_COMMANDS
"""The staff bot's default menu; each linked person gets their role's (``bots.staff.menus``)."""


@dataclass(frozen=True)
class BotServices:
    """What the bots' handlers receive by name (aiogram workflow data)."""

    tickets: TicketService
    blobs: BlobStore
    clock: Clock
    report_window: timedelta = timedelta(minutes=10)
    """How long after a report further messages join it."""
    reports_per_hour: int = 10
    """New requests one resident may open in an hour (emergencies are never refused)."""
    voice_to_text: VoiceToText | None = None
    """Transcribes residents' voice notes (None: they are kept as audio only)."""
    reports: Reports | None = None
    announcer: Announcer | None = None
    incidents: IncidentService | None = None
    """Active incidents are shown to residents before they report (None: never)."""
    desk: DeskAddress | None = None
    """Where ``/desk`` sends staff (None: the desk has no public address)."""

    def dispatcher(self, storage: BaseStorage, isolation: BaseEventIsolation) -> Dispatcher:
        """A dispatcher that hands these services to handlers asking for them by name."""
        dispatcher = Dispatcher(storage=storage, events_isolation=isolation)
        dispatcher.workflow_data.update(
            tickets=self.tickets,
            blobs=self.blobs,
            clock=self.clock,
            report_window=self.report_window,
            reports_per_hour=self.reports_per_hour,
            voice_to_text=self.voice_to_text,
            reports=self.reports,
            announcer=self.announcer,
            incidents=self.incidents,
            desk=self.desk,
        )
        return dispatcher


def build_resident_dispatcher(
    services: BotServices, storage: BaseStorage, isolation: BaseEventIsolation
) -> Dispatcher:
    """The residents' building bot."""
    dispatcher = services.dispatcher(storage, isolation)
    dispatcher.update.outer_middleware(PersonMiddleware(resident_by_chat, "resident"))
    dispatcher.update.outer_middleware(MenuKeeper(set_resident_menu, resident_menu_by_default))
    dispatcher.include_routers(
        common.cancel_router(),
        common.membership_router(),
        build_errors_router(),
        registration.router(),
        menu.router(),
        common.language_router(),
        requests.router(),
        incident.router(),
        report.router(),
        report.keeper_router(),
        common.leftovers_router(N_("Please choose what your message is about: /menu")),
    )
    return dispatcher


def build_staff_dispatcher(
    services: BotServices, storage: BaseStorage, isolation: BaseEventIsolation
) -> Dispatcher:
    """The staff bot."""
    dispatcher = services.dispatcher(storage, isolation)
    dispatcher.update.outer_middleware(PersonMiddleware(staff_by_chat, "staff"))
    dispatcher.update.outer_middleware(MenuKeeper(set_staff_member_menu))
    dispatcher.include_routers(
        common.cancel_router(),
        common.membership_router(),
        build_errors_router(),
        access.foreign_group_router(),
        access.router(),
        common.language_router(),
        cards.router(),
        registrations.router(),
        work.router(),
        manager.router(),
        incidents.router(),
        corrections.router(),
        desk.router(),
        access.refusal_router(),
        common.leftovers_router(N_("Use the buttons on a card, or /help.")),
    )
    return dispatcher


def resident_menu_by_default(person: Person, user: User) -> bool:
    """Whether the resident bot's menu in ``user``'s app language (:func:`set_command_menus`)
    is ``person``'s: they chose no language, or the one their app shows the menu in."""
    if not person.language:
        return True
    return person.language == normalize_language(user.language_code)


async def set_resident_menu(bot: Bot, person: Person, user: User) -> None:
    """A resident's own menu in the language they chose; none of the chat's own when the
    bot's menu in their app's language is theirs."""
    scope = BotCommandScopeChat(chat_id=user.id)
    if resident_menu_by_default(person, user):
        await bot.delete_my_commands(scope=scope)
        return
    commands = [
        BotCommand(command=name, description=gettext(person.language, description))
        for name, description in RESIDENT_COMMANDS
    ]
    await bot.set_my_commands(commands, scope=scope)


async def set_staff_member_menu(bot: Bot, person: Person, user: User) -> None:
    """A member of staff's menu for their role, in their private chat."""
    await set_person_menu(bot, person, user.id)


async def set_command_menus(bot: Bot, commands: tuple[tuple[str, str], ...]) -> None:
    """The command menu in every catalog language (English for everyone else)."""
    for language in available_languages():
        menu = [
            BotCommand(command=name, description=gettext(language, description))
            for name, description in commands
        ]
        if language == DEFAULT_LANGUAGE:
            await bot.set_my_commands(menu)
            continue
        for code in app_codes(language):
            await bot.set_my_commands(menu, language_code=code)
