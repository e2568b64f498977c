"""The residents' main menu: pick a topic (and a flat), see the duty instructions in an
emergency, then describe the problem."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bots.callbacks import IncidentChoice, Menu, MenuItem, PickFlat
from bots.common import PRIVATE, REGISTER_FIRST
from bots.keyboards import flat_choice, main_menu
from bots.residents.incident import SEEN, pending_text, show_incident_first
from bots.residents.report import CHOOSE_TOPIC, TOO_MANY, file_pending, over_limit
from bots.residents.states import Report
from core.clock import Clock
from core.directory.lookup import building_by_code
from core.directory.residents import Residence, residences
from core.i18n import N_, gettext
from core.incidents import texts
from core.incidents.service import IncidentService
from core.storage.models import Building, Channel, Person


def emergency_text(building: Building, lang: str) -> str:
    """What to do right now, and the duty phone, for an emergency in ``building``."""
    lines = [gettext(lang, N_("🚨 What to do right now:"))]
    instructions = building.emergency_instructions_in(lang)
    if instructions:
        lines.append(instructions)
    phone = building.duty_phone or building.phone
    if phone:
        lines.append(gettext(lang, N_("Duty phone: {phone}"), phone=phone))
    return "\n".join(lines)


async def ask_description(
    message: Message,
    state: FSMContext,
    lang: str,
    clock: Clock,
    building_code: str,
    unit: str,
    *,
    kept: bool = False,
) -> None:
    """Remember the flat; in an emergency show the duty instructions first; ask what happened
    (unless the resident ``kept`` messages for it: they are the description)."""
    data = await state.update_data(
        building=building_code, unit=unit, started=clock.now().isoformat()
    )
    await state.set_state(Report.describing)
    if data["category"] == MenuItem.EMERGENCY.value:
        await message.answer(emergency_text(await building_by_code(building_code), lang))
    if kept:
        return
    await message.answer(
        gettext(
            lang,
            N_(
                "Describe the problem in one message: text, photos (an album too), a "
                "document, a location or a voice note. What you send right after it is "
                "added to the same request."
            ),
        )
    )


async def show_menu(message: Message, state: FSMContext, lang: str) -> None:
    await state.clear()
    await message.answer(gettext(lang, N_("How can we help?")), reply_markup=main_menu(lang))


async def topic_chosen(
    callback: CallbackQuery,
    callback_data: Menu,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    clock: Clock,
    **services: Any,
) -> None:
    homes = await residences(resident) if resident is not None else []
    if resident is None or not homes or not isinstance(callback.message, Message):
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    category = callback_data.item.value
    if await over_limit(
        resident, category, services["tickets"], clock, services["reports_per_hour"]
    ):
        await callback.answer()
        await state.clear()
        await callback.message.answer(gettext(lang, TOO_MANY))
        return
    await callback.answer()
    # describing: this press was handled before, up to filing the kept messages
    waiting = await state.get_state() in (
        Report.topic.state,
        Report.flat.state,
        Report.describing.state,
    )
    data = await state.get_data()
    pending = data.get("pending", []) if waiting else []
    await state.set_data({"category": category, "pending": pending, SEEN: data.get(SEEN, [])})
    incidents = services.get("incidents")
    if await show_incident_first(callback.message, state, lang, resident, incidents):
        return
    await continue_report(callback.message, state, lang, resident, {**services, "clock": clock})


async def continue_report(
    message: Message,
    state: FSMContext,
    lang: str,
    resident: Person,
    services: dict[str, Any],
) -> None:
    """The topic is chosen: ask which flat (for several), else start the report."""
    homes = await residences(resident)
    if len(homes) == 1:
        await _start(message, state, lang, resident, services["clock"], homes[0], services)
        return
    await state.set_state(Report.flat)
    await message.answer(
        gettext(lang, N_("Which flat is it about?")), reply_markup=flat_choice(homes, lang)
    )


async def incident_chosen(
    callback: CallbackQuery,
    callback_data: IncidentChoice,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    incidents: IncidentService,
    **services: Any,
) -> None:
    """Under an incident's notice: joining makes the notice its confirmation (no request);
    "something else" lets the report go on where it was."""
    if resident is None or not isinstance(callback.message, Message):
        await callback.answer()
        return
    data = await state.get_data()
    if callback_data.join:
        joined = await incidents.join(
            callback_data.incident_id, resident, Channel.CHAT, pending_text(data)
        )
        await state.clear()
        await callback.answer()
        notice = texts.notice(joined.incident, joined.building, lang)
        confirmation = texts.joined(joined.incident, joined.building, lang)
        await callback.message.edit_text(f"{notice}\n\n{confirmation}", reply_markup=None)
        return
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    if data.get("category"):
        await continue_report(callback.message, state, lang, resident, services)
        return
    await state.set_state(Report.topic)
    await callback.message.answer(gettext(lang, CHOOSE_TOPIC), reply_markup=main_menu(lang))


async def flat_chosen(
    callback: CallbackQuery,
    callback_data: PickFlat,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    clock: Clock,
    **services: Any,
) -> None:
    homes = await residences(resident) if resident is not None else []
    home = next(
        (
            h
            for h in homes
            if (h.building_code, h.unit) == (callback_data.building, callback_data.unit)
        ),
        None,
    )
    if resident is None or home is None:
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await _start(callback.message, state, lang, resident, clock, home, services)


async def _start(
    message: Message,
    state: FSMContext,
    lang: str,
    resident: Person,
    clock: Clock,
    home: Residence,
    services: dict[str, Any],
) -> None:
    """The report's flat is known: file what was kept, else ask for the description."""
    kept = bool((await state.get_data()).get("pending"))
    await ask_description(message, state, lang, clock, home.building_code, home.unit, kept=kept)
    if kept:
        await file_pending(state, lang, resident, {**services, "clock": clock})


def router() -> Router:
    """``/menu`` and the topic buttons."""
    menu = Router(name="resident-menu")
    menu.message.register(show_menu, Command("menu"), PRIVATE)
    menu.callback_query.register(topic_chosen, Menu.filter(F.item != MenuItem.MY_REQUESTS))
    menu.callback_query.register(flat_chosen, StateFilter(Report.flat), PickFlat.filter())
    menu.callback_query.register(incident_chosen, IncidentChoice.filter())
    return menu
