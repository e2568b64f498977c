"""``/start``: a resident registers to a flat from the building's deep link or QR poster."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, User

from bots.common import PRIVATE
from bots.context import FromUser, HasText
from bots.keyboards import main_menu
from bots.residents.states import Registration
from core.directory.lookup import building_by_code
from core.directory.residents import register_resident, residences
from core.i18n import N_, gettext
from core.storage.models import Person


async def _ask_flat(message: Message, state: FSMContext, lang: str, code: str) -> None:
    building = await building_by_code(code)
    await state.set_state(Registration.flat)
    await state.set_data({"building": building.code})
    await message.answer(
        gettext(
            lang,
            N_("Welcome to {building}! Which flat do you live in? Send its number."),
            building=building.name,
        )
    )


async def start_with_code(
    message: Message, command: CommandObject, state: FSMContext, lang: str
) -> None:
    await _ask_flat(message, state, lang, command.args or "")


async def start(message: Message, state: FSMContext, lang: str, resident: Person | None) -> None:
    await state.clear()
    if resident is not None and await residences(resident):
        await message.answer(gettext(lang, N_("How can we help?")), reply_markup=main_menu(lang))
        return
    await state.set_state(Registration.building)
    await message.answer(
        gettext(
            lang,
            N_(
                "Hello! Send the code of your building: it is on the poster with the QR "
                "code in your entrance."
            ),
        )
    )


async def code_sent(message: Message, state: FSMContext, lang: str) -> None:
    await _ask_flat(message, state, lang, message.text or "")


async def flat_sent(message: Message, user: User, state: FSMContext, lang: str) -> None:
    code = (await state.get_data())["building"]
    _, unit = await register_resident(user.id, user.full_name, code, message.text or "", lang)
    await state.clear()
    building = await building_by_code(code)
    await message.answer(
        gettext(
            lang,
            N_("You are registered: {building}, flat {unit}. How can we help?"),
            building=building.name,
            unit=unit.number,
        ),
        reply_markup=main_menu(lang),
    )


async def not_text(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, N_("Please send it as a text message.")))


def router() -> Router:
    """Deep-link start, plain start, building code, flat number."""
    registration = Router(name="resident-registration")
    registration.message.filter(PRIVATE)
    registration.message.register(start_with_code, CommandStart(deep_link=True))
    registration.message.register(start, CommandStart())
    registration.message.register(code_sent, StateFilter(Registration.building), HasText())
    registration.message.register(flat_sent, StateFilter(Registration.flat), HasText(), FromUser())
    registration.message.register(not_text, StateFilter(Registration.building))
    registration.message.register(not_text, StateFilter(Registration.flat))
    return registration
