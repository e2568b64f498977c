"""Managers and dispatchers correct tickets: ``/edit #12 building OAK``, ``/edit #12 flat 31``,
``/edit #12 category plumbing``, ``/merge #13 #12``, and the building buttons offered for a
ticket whose building is not known. Who may do it is decided in core."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bots.callbacks import SetBuilding
from bots.context import IsStaff
from core.actors import Actor
from core.errors import InvalidInput
from core.i18n import N_, gettext
from core.storage.models import Person, Ticket
from core.tickets.queries import parse_ref
from core.tickets.service import TicketService

FIELDS = {"building": "building", "flat": "unit", "unit": "unit", "category": "category"}
"""What ``/edit`` changes, by the word people write."""
EDIT_USAGE = N_("Usage: /edit 12 building OAK, /edit 12 flat 31 or /edit 12 category plumbing")
MERGE_USAGE = N_("Usage: /merge 13 12 (the duplicate first, then the request it repeats)")


async def edit(
    message: Message, command: CommandObject, staff: Person, lang: str, tickets: TicketService
) -> None:
    words = (command.args or "").split(maxsplit=2)
    if len(words) != 3 or words[1].lower() not in FIELDS:
        raise InvalidInput(EDIT_USAGE, message=EDIT_USAGE)
    ref, field, value = words
    await tickets.edit(ref, Actor.of(staff), **{FIELDS[field.lower()]: value.strip()})
    changed = await tickets.get(ref)
    await message.answer(
        gettext(lang, N_("{ref} is changed: {place}, {category}."), **_summary(changed, lang))
    )


async def merge(
    message: Message, command: CommandObject, staff: Person, lang: str, tickets: TicketService
) -> None:
    words = (command.args or "").split()
    if len(words) != 2:
        raise InvalidInput(MERGE_USAGE, message=MERGE_USAGE)
    survivor = await tickets.merge(words[0], words[1], Actor.of(staff))
    await message.answer(
        gettext(
            lang,
            N_("{duplicate} is closed as a duplicate of {ref}; its resident follows {ref} now."),
            duplicate=f"#{parse_ref(words[0])}",
            ref=survivor.ref,
        )
    )


async def set_building(
    callback: CallbackQuery,
    callback_data: SetBuilding,
    staff: Person,
    lang: str,
    tickets: TicketService,
) -> None:
    ticket_id = callback_data.ticket_id
    await tickets.edit(ticket_id, Actor.of(staff), building=callback_data.building_id)
    changed = await tickets.get(ticket_id)
    text = gettext(lang, N_("{ref} is changed: {place}, {category}."), **_summary(changed, lang))
    await callback.answer(text)
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text)


def _summary(ticket: Ticket, lang: str) -> dict[str, str]:
    """The place and category of a ticket as the confirmation shows them."""
    place = ticket.building.name if ticket.building else "—"
    if ticket.unit is not None:
        place += ", " + gettext(lang, N_("flat {unit}"), unit=ticket.unit.number)
    return {"ref": ticket.ref, "place": place, "category": ticket.category.name_in(lang)}


def router() -> Router:
    """``/edit``, ``/merge`` and the building buttons."""
    corrections = Router(name="staff-corrections")
    corrections.message.filter(IsStaff())
    corrections.callback_query.filter(IsStaff())
    corrections.message.register(edit, Command("edit"))
    corrections.message.register(merge, Command("merge"))
    corrections.callback_query.register(set_building, SetBuilding.filter())
    return corrections
