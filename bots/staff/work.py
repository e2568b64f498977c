"""Staff commands and replies: /mine, /open, /ticket, /assign, /note, and replying to a
card, which writes to the resident."""

from __future__ import annotations

from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bots.callbacks import ListPage
from bots.context import IsStaff, RepliesToTicket, inbound_ref
from bots.listing import Listing, page_markup, page_text, read_page
from bots.media import read_content
from bots.render import ticket_text
from core.actors import Actor
from core.directory.lookup import find_staff
from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.messaging.routes import Route
from core.storage.blobs import BlobStore
from core.storage.models import Person, Ticket
from core.tickets.access import SEES_ALL, require_role
from core.tickets.queries import parse_ref
from core.tickets.service import TicketService


def _two_parts(command: CommandObject, usage: str) -> tuple[str, str]:
    """The command's first word and the rest; ``usage`` (a msgid) when one is missing."""
    first, _, rest = (command.args or "").strip().partition(" ")
    if not first or not rest.strip():
        raise InvalidInput(usage, message=usage)
    return first, rest.strip()


async def mine(message: Message, staff: Person, lang: str, tickets: TicketService) -> None:
    page = await read_page(tickets, staff, Listing.MINE, 0)
    await message.answer(page_text(page, lang), reply_markup=page_markup(page, lang))


async def open_tickets(message: Message, staff: Person, lang: str, tickets: TicketService) -> None:
    page = await read_page(tickets, staff, Listing.OPEN, 0)
    await message.answer(page_text(page, lang), reply_markup=page_markup(page, lang))


async def turn_page(
    callback: CallbackQuery,
    callback_data: ListPage,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> None:
    """Show another page of /mine or /open in place of the one pressed."""
    await callback.answer()
    page = await read_page(tickets, staff, Listing(callback_data.listing), callback_data.page)
    if isinstance(callback.message, Message):
        with suppress(TelegramBadRequest):  # pressed twice: the page is shown already
            await callback.message.edit_text(
                page_text(page, lang), reply_markup=page_markup(page, lang)
            )


async def show(
    message: Message, command: CommandObject, staff: Person, lang: str, tickets: TicketService
) -> None:
    detail = await tickets.detail(command.args or "", staff)
    await message.answer(ticket_text(detail, detail.ticket.building, lang))


async def assign(
    message: Message, command: CommandObject, staff: Person, lang: str, tickets: TicketService
) -> None:
    require_role(staff, SEES_ALL)
    ref, who = _two_parts(command, N_("Usage: /assign 12 NAME"))
    assignee = await find_staff(who)
    await tickets.assign(ref, Actor.of(staff), assignee)
    await message.answer(
        gettext(
            lang,
            N_("{ref} is assigned to {name}; the card is on its way."),
            ref=f"#{parse_ref(ref)}",
            name=assignee.name,
        )
    )


async def note_on_card(
    message: Message,
    command: CommandObject,
    ticket: Ticket,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> None:
    await tickets.reply(ticket.id, Actor.of(staff), command.args or "", public=False)
    await message.answer(gettext(lang, N_("Internal note added to {ref}."), ref=ticket.ref))


async def note(
    message: Message, command: CommandObject, staff: Person, lang: str, tickets: TicketService
) -> None:
    ref, text = _two_parts(command, N_("Usage: /note 12 TEXT, or reply to a card with /note TEXT"))
    await tickets.reply(ref, Actor.of(staff), text, public=False)
    await message.answer(
        gettext(lang, N_("Internal note added to {ref}."), ref=f"#{parse_ref(ref)}")
    )


async def reply_to_card(
    message: Message,
    bot: Bot,
    ticket: Ticket,
    staff: Person,
    lang: str,
    tickets: TicketService,
    blobs: BlobStore,
) -> None:
    content = await read_content(message, bot, blobs)
    if content.empty:
        return
    sent = await tickets.reply(
        ticket.id,
        Actor.of(staff),
        content.text,
        attachments=content.attachments,
        inbound=inbound_ref(Route.STAFF_CHAT, message),
    )
    if sent is not None:
        await message.answer(gettext(lang, N_("Sent to the resident of {ref}."), ref=ticket.ref))


def router() -> Router:
    """Commands for every member of staff, and for managers and dispatchers."""
    work = Router(name="staff-work")
    work.message.filter(IsStaff())
    work.message.register(mine, Command("mine"))
    work.message.register(open_tickets, Command("open"))
    work.callback_query.filter(IsStaff())
    work.callback_query.register(
        turn_page, ListPage.filter(F.listing.in_({Listing.MINE, Listing.OPEN}))
    )
    work.message.register(show, Command("ticket"))
    work.message.register(assign, Command("assign"))
    work.message.register(note_on_card, Command("note"), RepliesToTicket(Route.STAFF_CHAT))
    work.message.register(note, Command("note"))
    work.message.register(reply_to_card, RepliesToTicket(Route.STAFF_CHAT))
    return work
