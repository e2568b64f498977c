"""The dispatchers' queue of residents' registrations: approve or reject with a button."""

from __future__ import annotations

from contextlib import suppress

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bots.callbacks import ClaimDecision
from bots.context import IsStaff
from core.clock import Clock
from core.directory.verification import decide
from core.i18n import N_, gettext
from core.storage.models import Person


async def decided(
    callback: CallbackQuery,
    callback_data: ClaimDecision,
    staff: Person,
    lang: str,
    clock: Clock,
) -> None:
    decision = await decide(callback_data.claim_id, staff, callback_data.approve, clock.now())
    unit = decision.claim.unit
    text = gettext(
        lang,
        N_("Approved: {name}, {building}, flat {unit}.")
        if decision.approved
        else N_("Rejected: {name}, {building}, flat {unit}."),
        name=decision.claim.person.name,
        building=unit.building.name,
        unit=unit.number,
    )
    await callback.answer(text)
    if isinstance(callback.message, Message):
        with suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)
        await callback.message.answer(text)


def router() -> Router:
    """Approve / reject buttons under a registration."""
    registrations = Router(name="staff-registrations")
    registrations.callback_query.register(decided, ClaimDecision.filter(), IsStaff())
    return registrations
