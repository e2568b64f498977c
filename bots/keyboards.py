"""Inline keyboards of both bots, in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bots.callbacks import (
    Menu,
    MenuItem,
    PickFlat,
    PickLanguage,
    PickRequest,
    Postpone,
    SkipComment,
)
from bots.telegram_render import inline_keyboard
from core.directory.residents import Residence
from core.i18n import N_, available_languages, gettext
from core.storage.models import Ticket
from core.tickets.cards import assignment_actions

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "pl": "Polski", "no": "Norsk", "zh": "中文"}
"""Each language in its own words."""

MENU_LABELS = {
    MenuItem.EMERGENCY: N_("🚨 Emergency"),
    MenuItem.TECHNICAL: N_("🔧 Technical problem"),
    MenuItem.BILLING: N_("💳 Billing"),
    MenuItem.ADMINISTRATION: N_("📄 Administration"),
    MenuItem.MY_REQUESTS: N_("📋 My requests"),
}


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def main_menu(lang: str) -> InlineKeyboardMarkup:
    """The residents' main menu: one button per topic, then their requests."""
    builder = InlineKeyboardBuilder()
    for item, label in MENU_LABELS.items():
        builder.add(_button(gettext(lang, label), Menu(item=item).pack()))
    builder.adjust(1, 2, 1, 1)
    return builder.as_markup()


def flat_choice(homes: Sequence[Residence], lang: str) -> InlineKeyboardMarkup:
    """One button per flat the resident is registered to."""
    builder = InlineKeyboardBuilder()
    for home in homes:
        label = gettext(
            lang, N_("{building}, flat {unit}"), building=home.building_name, unit=home.unit
        )
        builder.add(_button(label, PickFlat(building=home.building_code, unit=home.unit).pack()))
    builder.adjust(1)
    return builder.as_markup()


REQUEST_LABEL_LENGTH = 60


def shortened(text: str, limit: int = REQUEST_LABEL_LENGTH) -> str:
    """``text`` in at most ``limit`` characters, cut after a whole word and ended with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,.;:·-") + "…"


def request_choice(tickets: Sequence[Ticket]) -> InlineKeyboardMarkup:
    """One button per request, to read it and write to it."""
    builder = InlineKeyboardBuilder()
    for ticket in tickets:
        label = shortened(f"{ticket.ref} · {ticket.title}")
        builder.add(_button(label, PickRequest(ticket_id=ticket.id).pack()))
    builder.adjust(1)
    return builder.as_markup()


def skip_button(ticket_id: int, lang: str) -> InlineKeyboardMarkup:
    """ "Skip" under the question for a comment on a rating."""
    skip = _button(gettext(lang, N_("Skip")), SkipComment(ticket_id=ticket_id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[[skip]])


def language_choice() -> InlineKeyboardMarkup:
    """One button per language with a catalog."""
    builder = InlineKeyboardBuilder()
    for code in available_languages():
        builder.add(_button(LANGUAGE_NAMES.get(code, code), PickLanguage(code=code).pack()))
    builder.adjust(3)
    return builder.as_markup()


def card_buttons(ticket_id: int, lang: str, *, accepted: bool) -> InlineKeyboardMarkup:
    """An assignment card's buttons, as the outbox renders them; accepted work keeps
    decline, postpone and done."""
    actions = assignment_actions(ticket_id, lang, accepted=accepted)
    return InlineKeyboardMarkup.model_validate(inline_keyboard(actions))


def postpone_choice(ticket_id: int, lang: str) -> InlineKeyboardMarkup:
    """Common postponements: a couple of hours, or some mornings ahead."""
    choices = (
        (N_("In 2 hours"), Postpone(ticket_id=ticket_id, hours=2)),
        (N_("Tomorrow morning"), Postpone(ticket_id=ticket_id, days=1)),
        (N_("In 3 days"), Postpone(ticket_id=ticket_id, days=3)),
        (N_("In a week"), Postpone(ticket_id=ticket_id, days=7)),
    )
    builder = InlineKeyboardBuilder()
    for label, data in choices:
        builder.add(_button(gettext(lang, label), data.pack()))
    builder.adjust(2)
    return builder.as_markup()
