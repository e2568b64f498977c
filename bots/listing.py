"""Ticket lists in a chat, a page at a time, with buttons to the next and previous page.

A page holds :data:`PAGE_SIZE` tickets, one line each (a title has at most 300
characters), so a page stays inside Telegram's 4,096 characters however long the titles
and however many tickets a person has. A page is read with
``LIMIT``/``OFFSET`` (newest first), never the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.callbacks import ListPage
from bots.render import ticket_line
from core.i18n import N_, gettext
from core.storage.models import Person, Ticket
from core.tickets.service import TicketService
from core.tickets.workflow import OPEN_STATUSES

PAGE_SIZE = 10
TEXT_LIMIT = 4096


class Listing(StrEnum):
    """The paged lists: a technician's open work, the open tickets a member of staff
    sees, and a resident's requests."""

    MINE = "mine"
    OPEN = "open"
    MY = "my"


EMPTY = {
    Listing.MINE: N_("You have no open work."),
    Listing.OPEN: N_("No open requests."),
    Listing.MY: N_("You have no requests yet."),
}


@dataclass(frozen=True)
class Page:
    """One page of a list: its tickets, its number (from 0) and whether more follow."""

    listing: Listing
    number: int
    tickets: list[Ticket]
    more: bool


async def read_page(tickets: TicketService, viewer: Person, listing: Listing, number: int) -> Page:
    """Page ``number`` of ``listing`` as ``viewer`` may see it."""
    number = max(number, 0)
    found = await tickets.find(
        viewer,
        statuses=sorted(OPEN_STATUSES) if listing != Listing.MY else (),
        assignee=viewer if listing == Listing.MINE else None,
        limit=PAGE_SIZE + 1,
        offset=number * PAGE_SIZE,
    )
    return Page(listing, number, found[:PAGE_SIZE], more=len(found) > PAGE_SIZE)


def page_text(page: Page, lang: str, footer: str = "") -> str:
    """The page's lines, with "Page n" when the list has more than one page."""
    if not page.tickets:
        return gettext(lang, EMPTY[page.listing])
    lines = [ticket_line(t, lang) for t in page.tickets]
    if page.number or page.more:
        lines.insert(0, gettext(lang, N_("Page {number}"), number=page.number + 1) + "\n")
    if footer:
        lines.append("\n" + footer)
    return "\n".join(lines)[:TEXT_LIMIT]


def page_buttons(page: Page, lang: str) -> list[InlineKeyboardButton]:
    """ "Previous" and "Next" where there is such a page."""
    buttons = []
    if page.number > 0:
        data = ListPage(listing=page.listing, page=page.number - 1).pack()
        buttons.append(
            InlineKeyboardButton(text=gettext(lang, N_("‹ Previous")), callback_data=data)
        )
    if page.more:
        data = ListPage(listing=page.listing, page=page.number + 1).pack()
        buttons.append(InlineKeyboardButton(text=gettext(lang, N_("Next ›")), callback_data=data))
    return buttons


def page_markup(
    page: Page, lang: str, rows: Sequence[Sequence[InlineKeyboardButton]] = ()
) -> InlineKeyboardMarkup | None:
    """``rows`` (e.g. one button per ticket), then the page buttons; None when empty."""
    keyboard = [list(row) for row in rows]
    if nav := page_buttons(page, lang):
        keyboard.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=keyboard) if keyboard else None
