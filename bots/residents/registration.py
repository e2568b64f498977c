"""``/start``: a resident registers to a flat from the building's deep link or QR poster, then
confirms it: by sharing their phone number (when the directory lists it for the flat), or by
asking the building's dispatcher."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
)

from bots.common import PRIVATE, REGISTER_FIRST
from bots.context import FromUser, HasText
from bots.keyboards import main_menu
from bots.residents.states import Registration
from core.clock import Clock
from core.directory.lookup import building_by_code
from core.directory.residents import register_resident, residences
from core.directory.verification import (
    ask_dispatchers,
    registration_verified,
    unverified_claims,
    verify_by_phone,
)
from core.i18n import N_, available_languages, gettext
from core.storage.models import Person

SHARE_PHONE = N_("📱 Share my phone number")
ASK_DISPATCHER = N_("🙋 Ask the dispatcher instead")
DISPATCHER_ASKED = N_(
    "We asked the building's dispatcher to confirm that you live there; you will hear from "
    "us. You can report problems meanwhile."
)


def confirm_keyboard(lang: str) -> ReplyKeyboardMarkup:
    """Share the phone number the chat app knows, or ask the dispatcher."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=gettext(lang, SHARE_PHONE), request_contact=True)],
            [KeyboardButton(text=gettext(lang, ASK_DISPATCHER))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


class SharesContact(Filter):
    """Passes a message that shares a contact (the "share my phone number" button)."""

    async def __call__(self, message: Message) -> bool:
        return message.contact is not None


class AsksDispatcher(Filter):
    """Passes the "ask the dispatcher" button's text, in any language."""

    async def __call__(self, message: Message) -> bool:
        return message.text in {gettext(code, ASK_DISPATCHER) for code in available_languages()}


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


async def flat_sent(
    message: Message, user: User, state: FSMContext, lang: str, clock: Clock
) -> None:
    code = (await state.get_data())["building"]
    person, unit = await register_resident(
        user.id, user.full_name, code, message.text or "", lang, claimed_at=clock.now()
    )
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
    if not await registration_verified(person, unit):
        await message.answer(
            gettext(
                lang,
                N_(
                    "Please confirm that you live there: share your phone number with the "
                    "button below (we compare it with the building's list of residents), or "
                    "ask the building's dispatcher to confirm."
                ),
            ),
            reply_markup=confirm_keyboard(lang),
        )


async def contact_shared(
    message: Message, user: User, lang: str, resident: Person | None, clock: Clock
) -> None:
    """A phone number from the "share" button: the sender's own number verifies the flats
    the directory lists it for; otherwise the dispatcher is asked."""
    contact = message.contact
    if resident is None or contact is None:
        await message.answer(gettext(lang, REGISTER_FIRST), reply_markup=ReplyKeyboardRemove())
        return
    if contact.user_id != user.id:
        await message.answer(
            gettext(lang, N_("Please share your own number with the button below.")),
            reply_markup=confirm_keyboard(lang),
        )
        return
    now = clock.now()
    if not await unverified_claims(resident):
        text = gettext(lang, N_("Your registration is confirmed already."))
    elif confirmed := await verify_by_phone(resident, contact.phone_number, now):
        flats = ", ".join(f"{c.unit.building.name}, {c.unit.number}" for c in confirmed)
        text = gettext(lang, N_("Thank you! Your flat is confirmed: {flats}."), flats=flats)
    else:
        await ask_dispatchers(resident, now)
        text = "\n".join(
            (
                gettext(lang, N_("This number is not on the building's list for your flat.")),
                gettext(lang, DISPATCHER_ASKED),
            )
        )
    await message.answer(text, reply_markup=ReplyKeyboardRemove())


async def dispatcher_wanted(
    message: Message, lang: str, resident: Person | None, clock: Clock
) -> None:
    if resident is None:
        await message.answer(gettext(lang, REGISTER_FIRST), reply_markup=ReplyKeyboardRemove())
        return
    if not await unverified_claims(resident):
        text = gettext(lang, N_("Your registration is confirmed already."))
    else:
        await ask_dispatchers(resident, clock.now())
        text = gettext(lang, DISPATCHER_ASKED)
    await message.answer(text, reply_markup=ReplyKeyboardRemove())


async def not_text(message: Message, lang: str) -> None:
    await message.answer(gettext(lang, N_("Please send it as a text message.")))


def router() -> Router:
    """Deep-link start, plain start, building code, flat number, confirming the flat."""
    registration = Router(name="resident-registration")
    registration.message.filter(PRIVATE)
    registration.message.register(start_with_code, CommandStart(deep_link=True))
    registration.message.register(start, CommandStart())
    registration.message.register(contact_shared, SharesContact(), FromUser())
    registration.message.register(dispatcher_wanted, AsksDispatcher())
    registration.message.register(code_sent, StateFilter(Registration.building), HasText())
    registration.message.register(flat_sent, StateFilter(Registration.flat), HasText(), FromUser())
    registration.message.register(not_text, StateFilter(Registration.building))
    registration.message.register(not_text, StateFilter(Registration.flat))
    return registration
