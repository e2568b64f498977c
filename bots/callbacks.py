"""Typed inline-button payloads of both bots.

``TicketAction`` and ``ResidentAction`` unpack buttons the core writes into outbox payloads
(``core.messaging.notifications.ticket_button`` and
``core.tickets.service.rating_buttons``), so their packed form is a contract with the core:
``tk:<action>:<ticket_id>`` and ``rs:<action>:<ticket_id>:<score>``.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData


class CardAction(StrEnum):
    """Buttons on a technician's assignment card."""

    ACCEPT = "accept"
    DECLINE = "decline"
    POSTPONE = "postpone"
    DONE = "done"


class TicketAction(CallbackData, prefix="tk"):
    """A button on an assignment card (staff bot)."""

    action: CardAction
    ticket_id: int


class Postpone(CallbackData, prefix="pp"):
    """A postpone choice: ``hours`` from now, or ``days`` ahead in the morning (staff bot)."""

    ticket_id: int
    hours: int = 0
    days: int = 0


class FeedbackAction(StrEnum):
    """Buttons under the "work is done" message to the resident."""

    RATE = "rate"
    REOPEN = "reopen"


class ResidentAction(CallbackData, prefix="rs"):
    """Rate finished work 1–5, or say it is not fixed (residents' bot)."""

    action: FeedbackAction
    ticket_id: int
    score: int = 0


class MenuItem(StrEnum):
    """The residents' main menu."""

    EMERGENCY = "emergency"
    TECHNICAL = "technical"
    BILLING = "billing"
    ADMINISTRATION = "administration"
    MY_REQUESTS = "my"


class Menu(CallbackData, prefix="m"):
    """A main-menu button (residents' bot)."""

    item: MenuItem


class PickRequest(CallbackData, prefix="rq"):
    """Choose one of my requests to read and comment on (residents' bot)."""

    ticket_id: int


class PickFlat(CallbackData, prefix="f"):
    """Choose which of my flats a report is about (residents' bot)."""

    building: str
    unit: str


class PickLanguage(CallbackData, prefix="lang"):
    """Choose the language the bot speaks (both bots)."""

    code: str
