"""An active incident shown first: a resident of an affected building who writes, or starts a
report, sees it with "that's my problem too" (joins it: no ticket) and "something else" (the
report goes on as usual). After it is resolved, "still not working" reopens their own link as
a request."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bots.callbacks import IncidentChoice, ResidentAction
from bots.residents.states import Report
from core.i18n import gettext
from core.incidents import texts
from core.incidents.service import IncidentService
from core.messaging.message import Verb
from core.storage.models import Person

SEEN = "incidents_seen"
"""FSM data: the incidents this report has shown already (each is shown once)."""


async def show_incident_first(
    message: Message,
    state: FSMContext,
    lang: str,
    resident: Person,
    incidents: IncidentService | None,
) -> bool:
    """Show the first active incident where ``resident`` lives that this report has not shown
    yet, with its two buttons; False when there is none (the report goes on)."""
    if incidents is None:
        return False
    data = await state.get_data()
    seen = set(data.get(SEEN, []))
    for incident, building in await incidents.for_person(resident):
        if incident.id in seen:
            continue
        await state.update_data({SEEN: [*seen, incident.id]})
        await state.set_state(Report.incident)
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=gettext(lang, texts.SAME_PROBLEM),
                        callback_data=IncidentChoice(incident_id=incident.id, join=True).pack(),
                    )
                ],
                [
                    InlineKeyboardButton(
                        text=gettext(lang, texts.SOMETHING_ELSE),
                        callback_data=IncidentChoice(incident_id=incident.id, join=False).pack(),
                    )
                ],
            ]
        )
        await message.answer(texts.notice(incident, building, lang), reply_markup=keyboard)
        return True
    return False


async def still_not_working(
    callback: CallbackQuery,
    callback_data: ResidentAction,
    resident: Person | None,
    incidents: IncidentService,
) -> None:
    """Their own link reopens as a request (its acknowledgement comes through the outbox)."""
    if resident is None:
        await callback.answer()
        return
    await incidents.still_not_working(callback_data.ticket_id, resident)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(reply_markup=None)


def pending_text(data: dict[str, Any]) -> str:
    """The text of the messages kept while the notice was shown."""
    return "\n".join(
        str(m.get("text") or m.get("caption") or "") for m in data.get("pending", [])
    ).strip()


def router() -> Router:
    """ "Still not working" under a resolved incident (the notice's buttons are the menu's)."""
    incident = Router(name="resident-incident")
    incident.callback_query.register(
        still_not_working, ResidentAction.filter(F.action == Verb.STILL_NOT_WORKING)
    )
    return incident
