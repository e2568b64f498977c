"""Assignment card buttons: accept, decline (with a reason), postpone (until when), done
(with a completion photo and a note)."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import asdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bots.callbacks import Postpone, TicketAction
from bots.context import HasText, IsStaff
from bots.keyboards import card_buttons, postpone_choice
from bots.media import read_content
from bots.staff.states import CardFlow
from core.actors import Actor
from core.clock import Clock
from core.i18n import N_, gettext
from core.messaging.message import Verb
from core.storage.blobs import BlobStore
from core.storage.models import Person, Status, Ticket
from core.tickets.cards import local_time
from core.tickets.commands import NewAttachment
from core.tickets.service import TicketService

MORNING = time(9, 0)
NIGHT_ENDS = timedelta(hours=5)
"""Before five in the morning it is still the night before: "tomorrow morning" at 01:15 on
Friday is Friday 09:00, the coming morning."""
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M", "%Y-%m-%d", "%d.%m.%Y")
DAY_FIRST = frozenset({"ru", "pl", "no"})
"""Languages whose readers write dates day first (``01.12.2026``); others write ISO dates."""


def postpone_target(now: datetime, zone: ZoneInfo, *, hours: int = 0, days: int = 0) -> datetime:
    """``hours`` from now, or ``days`` mornings ahead at nine, building time."""
    if days:
        day = (now.astimezone(zone) - NIGHT_ENDS).date() + timedelta(days=days)
        return datetime.combine(day, MORNING, tzinfo=zone).astimezone(UTC)
    return now + timedelta(hours=hours)


def example_moment(now: datetime, zone: ZoneInfo, lang: str) -> str:
    """Tomorrow at ten in the building's zone, written as the reader writes dates."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    pattern = "%d.%m.%Y 10:00" if lang in DAY_FIRST else "%Y-%m-%d 10:00"
    return day.strftime(pattern)


def parse_moment(text: str, zone: ZoneInfo) -> datetime | None:
    """``2026-12-01 10:00``, ``01.12.2026 10:00`` or a date alone (nine in the morning)."""
    for fmt in DATE_FORMATS:
        try:
            parsed = datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        if "%H" not in fmt:
            parsed = datetime.combine(parsed.date(), MORNING)
        return parsed.replace(tzinfo=zone).astimezone(UTC)
    return None


async def accept(
    callback: CallbackQuery,
    callback_data: TicketAction,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> None:
    card = callback.message if isinstance(callback.message, Message) else None
    in_group = card is not None and card.chat.type != ChatType.PRIVATE
    ticket_id = callback_data.ticket_id
    await tickets.accept(ticket_id, Actor.of(staff), take_over=in_group)
    ref = f"#{ticket_id}"
    await callback.answer(gettext(lang, N_("{ref} is yours now, in progress."), ref=ref))
    if card is None:
        return
    with suppress(TelegramBadRequest):
        await card.edit_reply_markup(reply_markup=card_buttons(ticket_id, lang, accepted=True))
    if in_group:
        await card.answer(gettext(lang, N_("{ref} was taken by {name}."), ref=ref, name=staff.name))


async def decline(
    callback: CallbackQuery,
    callback_data: TicketAction,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> None:
    await tickets.check_action(callback_data.ticket_id, Actor.of(staff), Verb.DECLINE)
    await _ask(
        callback,
        state,
        CardFlow.decline_reason,
        callback_data.ticket_id,
        gettext(
            lang,
            N_("Why do you decline {ref}? Send the reason, or /cancel."),
            ref=f"#{callback_data.ticket_id}",
        ),
    )


async def decline_reason(
    message: Message, state: FSMContext, staff: Person, lang: str, tickets: TicketService
) -> None:
    ticket_id = (await state.get_data())["ticket"]
    await tickets.decline(ticket_id, Actor.of(staff), message.text or "")
    await state.clear()
    await message.answer(
        gettext(lang, N_("You declined {ref}. The dispatchers are told."), ref=f"#{ticket_id}")
    )


async def postpone(
    callback: CallbackQuery,
    callback_data: TicketAction,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
    clock: Clock,
) -> None:
    ticket = await tickets.check_action(callback_data.ticket_id, Actor.of(staff), Verb.POSTPONE)
    question = gettext(
        lang,
        N_("Until when do you postpone {ref}? Choose, or send a date like {example}."),
        ref=ticket.ref,
        example=example_moment(clock.now(), _zone(ticket), lang),
    )
    await _ask(
        callback,
        state,
        CardFlow.postpone_until,
        callback_data.ticket_id,
        question,
        postpone_choice(callback_data.ticket_id, lang),
    )


async def postpone_chosen(
    callback: CallbackQuery,
    callback_data: Postpone,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
    clock: Clock,
) -> None:
    ticket = await tickets.get_for(callback_data.ticket_id, staff)
    until = postpone_target(
        clock.now(), _zone(ticket), hours=callback_data.hours, days=callback_data.days
    )
    text = await _put_on_hold(ticket, until, state, staff, lang, tickets)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(text)


async def postpone_typed(
    message: Message,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
    clock: Clock,
) -> None:
    ticket = await tickets.get_for((await state.get_data())["ticket"], staff)
    until = parse_moment(message.text or "", _zone(ticket))
    if until is None:
        example = example_moment(clock.now(), _zone(ticket), lang)
        await message.answer(
            gettext(lang, N_("I could not read that date. Example: {example}"), example=example)
        )
        return
    await message.answer(await _put_on_hold(ticket, until, state, staff, lang, tickets))


async def done(
    callback: CallbackQuery,
    callback_data: TicketAction,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> None:
    await tickets.check_action(callback_data.ticket_id, Actor.of(staff), Verb.DONE)
    question = gettext(
        lang,
        N_(
            "Send a photo of the finished work with a short note as its caption, or just "
            "the note. /cancel to stop."
        ),
    )
    await _ask(callback, state, CardFlow.done_photo, callback_data.ticket_id, question)


async def done_photo(
    message: Message,
    bot: Bot,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
    blobs: BlobStore,
) -> None:
    content = await read_content(message, bot, blobs)
    if content.empty:
        await message.answer(gettext(lang, N_("Please send a photo or a short note.")))
        return
    if content.attachments and not content.text.strip():
        await state.update_data(files=[asdict(a) for a in content.attachments])
        await state.set_state(CardFlow.done_note)
        await message.answer(gettext(lang, N_("And a short note about what was done?")))
        return
    await _finish(message, state, staff, lang, tickets, content.text, content.attachments)


async def done_note(
    message: Message, state: FSMContext, staff: Person, lang: str, tickets: TicketService
) -> None:
    files = [NewAttachment(**f) for f in (await state.get_data()).get("files", [])]
    await _finish(message, state, staff, lang, tickets, message.text or "", files)


async def _ask(
    callback: CallbackQuery,
    state: FSMContext,
    step: State,
    ticket_id: int,
    question: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Enter ``step`` for the card's ticket and ask its question under the card."""
    await state.set_state(step)
    await state.set_data({"ticket": ticket_id})
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(question, reply_markup=markup)


def _zone(ticket: Ticket) -> ZoneInfo:
    """The time zone of the ticket's building (UTC without one)."""
    return ZoneInfo(ticket.building.timezone if ticket.building else "UTC")


async def _put_on_hold(
    ticket: Ticket,
    until: datetime,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> str:
    """Postpone ``ticket`` until ``until``, end the question; what to tell the staff member."""
    await tickets.postpone(ticket.id, Actor.of(staff), until)
    await state.clear()
    return gettext(
        lang,
        N_("{ref} is on hold until {when}. The resident is told."),
        ref=ticket.ref,
        when=local_time(until, ticket.building, lang),
    )


async def _finish(
    message: Message,
    state: FSMContext,
    staff: Person,
    lang: str,
    tickets: TicketService,
    note: str,
    files: list[NewAttachment],
) -> None:
    ticket_id = (await state.get_data())["ticket"]
    await tickets.change_status(
        ticket_id, Actor.of(staff), Status.DONE, note=note, attachments=files
    )
    await state.clear()
    await message.answer(
        gettext(
            lang,
            N_("{ref} is done. The resident gets your note and photo and can rate the work."),
            ref=f"#{ticket_id}",
        )
    )


def router() -> Router:
    """Card buttons and the questions they ask."""
    cards = Router(name="staff-cards")
    cards.message.filter(IsStaff())
    cards.callback_query.filter(IsStaff())
    cards.callback_query.register(accept, TicketAction.filter(F.action == Verb.ACCEPT))
    cards.callback_query.register(decline, TicketAction.filter(F.action == Verb.DECLINE))
    cards.message.register(decline_reason, StateFilter(CardFlow.decline_reason), HasText())
    cards.callback_query.register(postpone, TicketAction.filter(F.action == Verb.POSTPONE))
    cards.callback_query.register(postpone_chosen, Postpone.filter())
    cards.message.register(postpone_typed, StateFilter(CardFlow.postpone_until), HasText())
    cards.callback_query.register(done, TicketAction.filter(F.action == Verb.DONE))
    cards.message.register(done_photo, StateFilter(CardFlow.done_photo))
    cards.message.register(done_note, StateFilter(CardFlow.done_note), HasText())
    return cards
