"""A resident's requests as threads: list them, read one, comment, rate finished work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bots.callbacks import ListPage, Menu, MenuItem, PickRequest, ResidentAction, SkipComment
from bots.common import PRIVATE, REGISTER_FIRST
from bots.context import RepliesToTicket, inbound_ref
from bots.keyboards import request_choice, skip_button
from bots.listing import Listing, page_markup, page_text, read_page
from bots.media import VOICE_NOT_TRANSCRIBED, VoiceToText, read_content
from bots.render import ticket_text
from bots.residents.report import NOTHING_TO_KEEP, VOICE_KEPT
from bots.residents.states import Thread
from core.actors import Actor
from core.errors import DomainError
from core.i18n import N_, gettext
from core.messaging.message import Verb
from core.messaging.routes import Route
from core.storage.blobs import BlobStore
from core.storage.models import Person, Status, Ticket
from core.tickets.service import TicketService


async def _comment(
    message: Message,
    bot: Bot,
    lang: str,
    resident: Person,
    ticket_id: int,
    tickets: TicketService,
    blobs: BlobStore,
    voice_to_text: VoiceToText | None,
) -> None:
    content = await read_content(message, bot, blobs, voice_to_text=voice_to_text, language=lang)
    if content.empty:
        await message.answer(gettext(lang, NOTHING_TO_KEEP))
        return
    added = await tickets.reply(
        ticket_id,
        Actor.of(resident),
        content.described,
        attachments=content.attachments,
        inbound=inbound_ref(Route.RESIDENT_CHAT, message),
    )
    if added is None:
        return
    if content.untranscribed:
        await tickets.amend_report(
            ticket_id, Actor.of(resident), needs_attention=VOICE_NOT_TRANSCRIBED
        )
        await message.answer(gettext(lang, VOICE_KEPT))
        return
    await message.answer(gettext(lang, N_("Added to your request {ref}."), ref=f"#{ticket_id}"))


async def reply_in_thread(
    message: Message,
    ticket: Ticket,
    bot: Bot,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
    blobs: BlobStore,
    voice_to_text: VoiceToText | None = None,
) -> None:
    if resident is None:
        await message.answer(gettext(lang, REGISTER_FIRST))
        return
    await _comment(message, bot, lang, resident, ticket.id, tickets, blobs, voice_to_text)


async def _requests_page(
    lang: str, resident: Person, tickets: TicketService, number: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A page of the resident's requests: its text and its buttons (one per request)."""
    page = await read_page(tickets, resident, Listing.MY, number)
    if not page.tickets:
        return page_text(page, lang), None
    footer = gettext(lang, N_("Choose one to read it or to write to it:"))
    rows = request_choice(page.tickets).inline_keyboard
    return page_text(page, lang, footer), page_markup(page, lang, rows)


async def _show_requests(
    message: Message, lang: str, resident: Person, tickets: TicketService
) -> None:
    text, markup = await _requests_page(lang, resident, tickets, 0)
    await message.answer(text, reply_markup=markup)


async def my_page(
    callback: CallbackQuery,
    callback_data: ListPage,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
) -> None:
    """Another page of /my in place of the one pressed."""
    if resident is None or not isinstance(callback.message, Message):
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    await callback.answer()
    text, markup = await _requests_page(lang, resident, tickets, callback_data.page)
    with suppress(TelegramBadRequest):  # pressed twice: the page is shown already
        await callback.message.edit_text(text, reply_markup=markup)


async def my_command(
    message: Message,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
) -> None:
    await state.clear()
    if resident is None:
        await message.answer(gettext(lang, REGISTER_FIRST))
        return
    await _show_requests(message, lang, resident, tickets)


async def my_button(
    callback: CallbackQuery,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
) -> None:
    if resident is None or not isinstance(callback.message, Message):
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    await callback.answer()
    await state.clear()
    await _show_requests(callback.message, lang, resident, tickets)


async def pick(
    callback: CallbackQuery,
    callback_data: PickRequest,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
) -> None:
    if resident is None or not isinstance(callback.message, Message):
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    detail = await tickets.detail(callback_data.ticket_id, resident)
    await callback.answer()
    await state.set_state(Thread.commenting)
    await state.set_data({"ticket": callback_data.ticket_id})
    prompt = gettext(lang, N_("Write a message to add to {ref}, or /menu."), ref=detail.ticket.ref)
    await callback.message.answer(
        f"{ticket_text(detail, detail.ticket.building, lang)}\n\n{prompt}"
    )


async def comment(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
    blobs: BlobStore,
    voice_to_text: VoiceToText | None = None,
) -> None:
    ticket_id = await _ticket_in_hand(message, state, lang, resident)
    if ticket_id is None or resident is None:
        return
    async with _ending(state):
        await _comment(message, bot, lang, resident, ticket_id, tickets, blobs, voice_to_text)


async def _ticket_in_hand(
    message: Message, state: FSMContext, lang: str, resident: Person | None
) -> int | None:
    """The request the conversation is about; None (and a word to register, the
    conversation ended) for someone not registered."""
    ticket_id = int((await state.get_data())["ticket"])
    if resident is None:
        await state.clear()
        await message.answer(gettext(lang, REGISTER_FIRST))
        return None
    return ticket_id


@asynccontextmanager
async def _ending(state: FSMContext) -> AsyncIterator[None]:
    """End the conversation once the message is on the request, or refused for good. A
    failure that may pass (the database away, the process killed) keeps the conversation,
    so the update, handled again, still goes onto the request and is not taken for a new
    report."""
    try:
        yield
    except DomainError:
        await state.clear()
        raise
    await state.clear()


async def rate(
    callback: CallbackQuery,
    callback_data: ResidentAction,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
) -> None:
    if resident is None:
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    await tickets.rate(callback_data.ticket_id, Actor.of(resident), callback_data.score)
    await callback.answer(gettext(lang, N_("Thank you!")))
    await _drop_buttons(callback)
    if isinstance(callback.message, Message):
        await state.set_state(Thread.rating_comment)
        await state.set_data({"ticket": callback_data.ticket_id})
        thanks = gettext(
            lang,
            N_("Thank you for rating {ref}: {stars}"),
            ref=f"#{callback_data.ticket_id}",
            stars="★" * callback_data.score,
        )
        ask = gettext(lang, N_("Would you like to add a comment? Write it here, or press “Skip”."))
        await callback.message.answer(
            f"{thanks}\n{ask}", reply_markup=skip_button(callback_data.ticket_id, lang)
        )


async def rating_comment(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
    blobs: BlobStore,
    voice_to_text: VoiceToText | None = None,
) -> None:
    """The text after a rating comments on it; anything else goes onto the request."""
    ticket_id = await _ticket_in_hand(message, state, lang, resident)
    if ticket_id is None or resident is None:
        return
    async with _ending(state):
        if not message.text:
            await _comment(message, bot, lang, resident, ticket_id, tickets, blobs, voice_to_text)
            return
        await tickets.comment_rating(
            ticket_id,
            Actor.of(resident),
            message.text,
            inbound=inbound_ref(Route.RESIDENT_CHAT, message),
        )
    await message.answer(gettext(lang, N_("Thank you, we passed your comment on.")))


async def skip_comment(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    if await state.get_state() == Thread.rating_comment.state:
        await state.clear()
    await callback.answer(gettext(lang, N_("Thank you!")))
    await _drop_buttons(callback)


async def not_fixed(
    callback: CallbackQuery,
    callback_data: ResidentAction,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
) -> None:
    """Reopen the request; the resident's next message says what is still wrong."""
    if resident is None:
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    ref = f"#{callback_data.ticket_id}"
    await tickets.change_status(
        callback_data.ticket_id,
        Actor.of(resident),
        Status.REOPENED,
        told=gettext(lang, N_("You said it is not fixed.")),
    )
    await callback.answer(gettext(lang, N_("Sorry about that. We are on it again.")))
    await _drop_buttons(callback)
    await state.set_state(Thread.commenting)
    await state.set_data({"ticket": callback_data.ticket_id})
    if isinstance(callback.message, Message):
        await callback.message.answer(
            gettext(
                lang,
                N_(
                    "What is still wrong? Write it here (a photo or a voice note is fine "
                    "too) and I will add it to {ref}."
                ),
                ref=ref,
            )
        )


async def _drop_buttons(callback: CallbackQuery) -> None:
    """Take the buttons off the message that carried them (if it still has them)."""
    if isinstance(callback.message, Message):
        with suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)


async def edited(message: Message, lang: str) -> None:
    await message.answer(
        gettext(
            lang,
            N_("Edits do not reach the staff. Please send what changed as a new message."),
        )
    )


def router() -> Router:
    """``/my``, a chosen request, comments (also by replying, and after "not fixed"),
    ratings with an optional comment, edits."""
    requests = Router(name="resident-requests")
    requests.message.register(reply_in_thread, PRIVATE, RepliesToTicket(Route.RESIDENT_CHAT))
    requests.message.register(my_command, Command("my"), PRIVATE)
    requests.callback_query.register(my_button, Menu.filter(F.item == MenuItem.MY_REQUESTS))
    requests.callback_query.register(pick, PickRequest.filter())
    requests.callback_query.register(my_page, ListPage.filter(F.listing == Listing.MY))
    requests.message.register(comment, StateFilter(Thread.commenting), PRIVATE)
    requests.message.register(rating_comment, StateFilter(Thread.rating_comment), PRIVATE)
    requests.callback_query.register(rate, ResidentAction.filter(F.action == Verb.RATE))
    requests.callback_query.register(skip_comment, SkipComment.filter())
    requests.callback_query.register(not_fixed, ResidentAction.filter(F.action == Verb.REOPEN))
    requests.edited_message.register(edited, PRIVATE)
    return requests
