"""The residents' main menu: pick a topic (and a flat), see the duty instructions in an
emergency, then describe the problem."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bots.callbacks import Menu, MenuItem, PickFlat
from bots.common import PRIVATE, REGISTER_FIRST
from bots.keyboards import flat_choice, main_menu
from bots.residents.states import Report
from core.clock import Clock
from core.directory.lookup import building_by_code
from core.directory.residents import residences
from core.i18n import N_, gettext
from core.storage.models import Building, Person


def emergency_text(building: Building, lang: str) -> str:
    """What to do right now, and the duty phone, for an emergency in ``building``."""
    lines = [gettext(lang, N_("🚨 What to do right now:"))]
    if building.emergency_instructions:
        lines.append(building.emergency_instructions)
    phone = building.duty_phone or building.phone
    if phone:
        lines.append(gettext(lang, N_("Duty phone: {phone}"), phone=phone))
    return "\n".join(lines)


async def ask_description(
    message: Message, state: FSMContext, lang: str, clock: Clock, building_code: str, unit: str
) -> None:
    """Remember the flat; in an emergency show the duty instructions first; ask what happened."""
    data = await state.update_data(
        building=building_code, unit=unit, started=clock.now().isoformat()
    )
    await state.set_state(Report.describing)
    if data["category"] == MenuItem.EMERGENCY.value:
        await message.answer(emergency_text(await building_by_code(building_code), lang))
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
) -> None:
    homes = await residences(resident) if resident is not None else []
    if not homes or not isinstance(callback.message, Message):
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    await callback.answer()
    await state.set_data({"category": callback_data.item.value})
    if len(homes) == 1:
        await ask_description(
            callback.message, state, lang, clock, homes[0].building_code, homes[0].unit
        )
        return
    await state.set_state(Report.flat)
    await callback.message.answer(
        gettext(lang, N_("Which flat is it about?")), reply_markup=flat_choice(homes, lang)
    )


async def flat_chosen(
    callback: CallbackQuery,
    callback_data: PickFlat,
    state: FSMContext,
    lang: str,
    resident: Person | None,
    clock: Clock,
) -> None:
    homes = await residences(resident) if resident is not None else []
    chosen = (callback_data.building, callback_data.unit)
    if chosen not in {(h.building_code, h.unit) for h in homes}:
        await callback.answer(gettext(lang, REGISTER_FIRST), show_alert=True)
        return
    await callback.answer()
    if isinstance(callback.message, Message):
        await ask_description(callback.message, state, lang, clock, *chosen)


def router() -> Router:
    """``/menu`` and the topic buttons."""
    menu = Router(name="resident-menu")
    menu.message.register(show_menu, Command("menu"), PRIVATE)
    menu.callback_query.register(topic_chosen, Menu.filter(F.item != MenuItem.MY_REQUESTS))
    menu.callback_query.register(flat_chosen, StateFilter(Report.flat), PickFlat.filter())
    return menu
