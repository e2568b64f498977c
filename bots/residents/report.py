"""A new request: the first message creates it, what follows soon after joins it.

Every message is taken in once (the core recognises ``<chat>:<message>``), so an update
delivered twice makes one ticket. The reference and a short summary reach the resident
through the outbox, like every other message about a ticket. Nothing a resident sends is
dropped: a message sent before choosing a topic is kept until they choose one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bots.common import PRIVATE, REGISTER_FIRST
from bots.context import inbound_ref
from bots.keyboards import main_menu
from bots.media import VOICE_NOT_TRANSCRIBED, Content, VoiceToText, read_content
from bots.residents.incident import show_incident_first
from bots.residents.states import Report
from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code, category_by_code
from core.directory.residents import residences
from core.i18n import N_, gettext
from core.incidents.service import IncidentService
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
VOICE_KEPT = N_("We got your voice message; a person will listen to it.")
TOO_MANY = N_(
    "You have sent many new requests in the last hour, so I cannot open another one right "
    "now. Please add to one of your requests (/my) or try again later. In an emergency, "
    "choose 🚨 Emergency: it always goes through."
)
CHOOSE_TOPIC = N_("What is it about? Choose a topic, and I will file what you sent under it.")


async def report_title(content: Content, category: str, lang: str) -> str:
    """The first line of the text, else "<category>: <what was sent>"."""
    title = text_title(content)
    if title:
        return title
    name = (await category_by_code(category)).name_in(lang)
    return f"{name}: {gettext(lang, KIND_NAMES[content.kind])}"


def text_title(content: Content) -> str:
    """The first line of what the resident wrote (or said), shortened; empty if nothing."""
    lines = content.text.strip().splitlines()
    if not lines or content.kind == "location":
        return ""
    first = lines[0].strip()
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"


def report_ref(message: Message, started: str) -> InboundRef:
    """The identity of a report: the chat, and when the resident chose its topic."""
    return InboundRef(Route.RESIDENT_CHAT, f"report:{message.chat.id}:{started}")


async def over_limit(
    resident: Person,
    category: str,
    tickets: TicketService,
    clock: Clock,
    reports_per_hour: int,
) -> bool:
    """True when ``resident`` opened ``reports_per_hour`` requests in the last hour and this
    one is no emergency."""
    if (await category_by_code(category)).emergency:
        return False
    since = clock.now() - timedelta(hours=1)
    return await tickets.created_since(resident, Channel.CHAT, since) >= reports_per_hour


async def keep_for_later(
    message: Message,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    incidents: IncidentService | None = None,
) -> None:
    """A message outside a report: keep it and ask for the topic (once). A message kept
    already is being handled again (its question may never have gone out: a failed send,
    a process killed): it is asked again, not kept twice."""
    if resident is None or not await residences(resident):
        await state.clear()
        await message.answer(gettext(lang, REGISTER_FIRST))
        return
    waiting = await state.get_state() is not None
    kept = (await state.get_data()).get("pending", []) if waiting else []
    again = any(m.get("message_id") == message.message_id for m in kept)
    if not again:
        pending = [*kept, message.model_dump(mode="json", exclude_none=True)]
        await state.update_data(pending=pending)
    if waiting and not again:
        return  # the question is asked already (an album, or a second thought)
    if await show_incident_first(message, state, lang, resident, incidents):
        return
    await state.set_state(Report.topic)
    await message.answer(gettext(lang, CHOOSE_TOPIC), reply_markup=main_menu(lang))


async def file_pending(
    state: FSMContext, lang: str, resident: Person, services: dict[str, Any]
) -> None:
    """File the messages kept while the resident chose a topic (and a flat): the first one
    creates the request. ``services``: the handler's workflow data (bot, tickets, …)."""
    pending = (await state.get_data()).get("pending", [])
    if not pending:
        return
    bot: Bot = services["bot"]
    for raw in pending:
        kept = Message.model_validate(raw, context={"bot": bot})
        await take_in(
            kept,
            bot,
            state,
            lang,
            resident,
            tickets=services["tickets"],
            blobs=services["blobs"],
            clock=services["clock"],
            report_window=services["report_window"],
            voice_to_text=services.get("voice_to_text"),
        )
    # only once they are filed: an update handled again after a failure (or a process that
    # died) files them again, and a message filed before is recognised, not lost
    await state.update_data(pending=[])


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
    await take_in(
        message,
        bot,
        state,
        lang,
        resident,
        tickets=tickets,
        blobs=blobs,
        clock=clock,
        report_window=report_window,
        voice_to_text=voice_to_text,
    )


async def take_in(
    message: Message,
    bot: Bot,
    state: FSMContext,
    lang: str,
    resident: Person,
    *,
    tickets: TicketService,
    blobs: BlobStore,
    clock: Clock,
    report_window: timedelta,
    voice_to_text: VoiceToText | None = None,
) -> None:
    """One message of a report: the first creates the request, the next ones join it."""
    data = await state.get_data()
    spoken = (await building_by_code(data["building"])).language if data["building"] else lang
    content = await read_content(message, bot, blobs, voice_to_text=voice_to_text, language=spoken)
    if content.empty:
        await message.answer(gettext(lang, NOTHING_TO_KEEP))
        return
    attention = VOICE_NOT_TRANSCRIBED if content.untranscribed else ""
    this_message = inbound_ref(Route.RESIDENT_CHAT, message)
    title = text_title(content)
    result = await tickets.create(
        NewTicket(
            category=data["category"],
            title=title or await report_title(content, data["category"], lang),
            description=content.described,
            channel=Channel.CHAT,
            actor=Actor.of(resident),
            building=data["building"],
            unit=data["unit"],
            requester_id=resident.id,
            inbound=report_ref(message, data["started"]),
            attachments=content.attachments,
            language=lang,
            needs_attention=attention,
        ),
        also_seen=[this_message],
    )
    if result.created:
        await state.update_data(auto_title=not title)
        if attention:
            await message.answer(gettext(lang, VOICE_KEPT))
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
    if added is None:
        return
    better_title = title if data.get("auto_title") else ""
    if better_title or attention:
        await tickets.amend_report(
            report.id, Actor.of(resident), title=better_title or None, needs_attention=attention
        )
        await state.update_data(auto_title=data.get("auto_title") and not better_title)
    if attention:
        await message.answer(gettext(lang, VOICE_KEPT))
    elif message.media_group_id is None:  # albums join silently
        await message.answer(gettext(lang, N_("Added to your request {ref}."), ref=report.ref))


def router() -> Router:
    """A report: its first message creates the ticket, what follows within the window joins it.

    The ticket is known by the report's id (and by its first message's), so a delivery seen
    twice makes one ticket, and a new ticket costs one transaction.
    """
    report = Router(name="resident-report")
    report.message.filter(PRIVATE)
    report.message.register(describe, StateFilter(Report.describing))
    return report


class NotACommand(Filter):
    """Passes messages that are no ``/command`` (unknown commands get the menu hint)."""

    async def __call__(self, message: Message) -> bool:
        return not (message.text or "").startswith("/")


def keeper_router() -> Router:
    """What a resident sends outside a report, kept until they choose a topic. Goes after
    every other conversation of the residents' bot, before the leftovers."""
    keeper = Router(name="resident-keeper")
    keeper.message.filter(PRIVATE)
    keeper.message.register(
        keep_for_later,
        StateFilter(None, Report.topic, Report.flat, Report.incident),
        NotACommand(),
    )
    return keeper
