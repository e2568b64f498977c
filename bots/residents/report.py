"""A new request: the first message creates it, what follows soon after joins it.

Every message is taken in once (the core recognises ``<chat>:<message>``), so an update
delivered twice makes one ticket. The reference and a short summary reach the resident
through the outbox, like every other message about a ticket.
"""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bots.common import PRIVATE, REGISTER_FIRST
from bots.context import inbound_ref
from bots.keyboards import main_menu
from bots.media import Content, VoiceToText, read_content
from bots.residents.states import Report
from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code, category_by_code
from core.i18n import N_, gettext
from core.messaging.routes import Route
from core.storage.blobs import BlobStore
from core.storage.models import Channel, Person
from core.tickets.commands import InboundRef, NewTicket
from core.tickets.service import TicketService

TITLE_LENGTH = 80
KIND_NAMES = {
    "text": N_("message"),
    "photo": N_("photo"),
    "document": N_("document"),
    "voice": N_("voice message"),
    "video": N_("video"),
    "audio": N_("audio"),
    "location": N_("location"),
}
NOTHING_TO_KEEP = N_(
    "I cannot keep this kind of message. Please send text, a photo, a document, a location "
    "or a voice note."
)


async def report_title(content: Content, category: str, lang: str) -> str:
    """The first line of the text, else "<category>: <what was sent>"."""
    lines = content.text.strip().splitlines()
    if lines and content.kind != "location":
        first = lines[0].strip()
        return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"
    name = (await category_by_code(category)).name_in(lang)
    return f"{name}: {gettext(lang, KIND_NAMES[content.kind])}"


def report_ref(message: Message, started: str) -> InboundRef:
    """The identity of a report: the chat, and when the resident chose its topic."""
    return InboundRef(Route.RESIDENT_CHAT, f"report:{message.chat.id}:{started}")


async def describe(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    tickets: TicketService,
    blobs: BlobStore,
    clock: Clock,
    report_window: timedelta,
    voice_to_text: VoiceToText | None = None,
) -> None:
    if resident is None:
        await state.clear()
        await message.answer(gettext(lang, REGISTER_FIRST))
        return
    data = await state.get_data()
    spoken = (await building_by_code(data["building"])).language if data["building"] else lang
    content = await read_content(message, bot, blobs, voice_to_text=voice_to_text, language=spoken)
    if content.empty:
        await message.answer(gettext(lang, NOTHING_TO_KEEP))
        return
    this_message = inbound_ref(Route.RESIDENT_CHAT, message)
    result = await tickets.create(
        NewTicket(
            category=data["category"],
            title=await report_title(content, data["category"], lang),
            description=content.described,
            channel=Channel.CHAT,
            actor=Actor.of(resident),
            building=data["building"],
            unit=data["unit"],
            requester_id=resident.id,
            inbound=report_ref(message, data["started"]),
            attachments=content.attachments,
            language=lang,
        ),
        also_seen=[this_message],
    )
    if result.created:
        return
    report = result.ticket
    if clock.now() >= report.created_at + report_window:
        await state.clear()
        await message.answer(
            gettext(lang, N_("To report something new, choose a topic:")),
            reply_markup=main_menu(lang),
        )
        return
    added = await tickets.reply(
        report.id,
        Actor.of(resident),
        content.described,
        attachments=content.attachments,
        inbound=this_message,
    )
    if added is not None and message.media_group_id is None:  # albums join silently
        await message.answer(gettext(lang, N_("Added to your request {ref}."), ref=report.ref))


def router() -> Router:
    """A report: its first message creates the ticket, what follows within the window joins it.

    The ticket is known by the report's id (and by its first message's), so nothing is written
    to the conversation state on the way and a new ticket costs one transaction.
    """
    report = Router(name="resident-report")
    report.message.filter(PRIVATE)
    report.message.register(describe, StateFilter(Report.describing))
    return report
