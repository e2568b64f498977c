"""Typed inline-button payloads of both bots: the one place that owns the callback format.

Core offers channel-neutral actions (``core.messaging.message.Action``); :func:`pack_action`
turns one into the callback data of its button, and the routers unpack it with the
``CallbackData`` classes below. The packed forms, ``tk:<verb>:<ticket_id>`` for the staff
bot and ``rs:<verb>:<ticket_id>:<score>`` for the residents' bot, stay as they were so the
buttons of messages already in people's chats keep working.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from core.messaging.message import Action, Verb

RESIDENT_VERBS = frozenset({Verb.RATE, Verb.REOPEN, Verb.STILL_NOT_WORKING})
"""Actions the residents' bot answers; every other verb is the staff bot's."""


class TicketAction(CallbackData, prefix="tk"):
    """A button on an assignment card (staff bot): accept, decline, postpone or done."""

    action: Verb
    ticket_id: int


class Postpone(CallbackData, prefix="pp"):
    """A postpone choice: ``hours`` from now, or ``days`` ahead in the morning (staff bot)."""

    ticket_id: int
    hours: int = 0
    days: int = 0


class ResidentAction(CallbackData, prefix="rs"):
    """Rate finished work 1–5, or say it is not fixed (residents' bot)."""

    action: Verb
    ticket_id: int
    score: int = 0


class IncidentChoice(CallbackData, prefix="ic"):
    """Under an active incident's notice: "that's my problem too" (``join``) or "something
    else" (residents' bot)."""

    incident_id: int
    join: bool


class IncidentResolve(CallbackData, prefix="ir"):
    """Resolve an incident as it was listed (``version``): a stale tap changes nothing (staff
    bot)."""

    incident_id: int
    version: int


class ClaimDecision(CallbackData, prefix="rg"):
    """A dispatcher approves or rejects a resident's registration to a flat (staff bot)."""

    claim_id: int
    approve: bool


class ListPage(CallbackData, prefix="lp"):
    """A page of a ticket list (``bots.listing.Listing``): /mine, /open or /my."""

    listing: str
    page: int


class SkipComment(CallbackData, prefix="sk"):
    """No comment on the rating just given (residents' bot)."""

    ticket_id: int


class AnnouncementChoice(CallbackData, prefix="an"):
    """The sender sends (or cancels) the announcement they drafted (staff bot)."""

    announcement_id: int
    send: bool


class SetBuilding(CallbackData, prefix="sb"):
    """A dispatcher sets the building of a ticket that has none (staff bot)."""

    ticket_id: int
    building_id: int


def pack_action(action: Action) -> str:
    """The callback data of the button that offers ``action``."""
    if action.verb is Verb.SET_BUILDING:
        return SetBuilding(ticket_id=action.ticket_id, building_id=action.value).pack()
    if action.verb in (Verb.APPROVE, Verb.REJECT):
        return ClaimDecision(claim_id=action.ticket_id, approve=action.verb == Verb.APPROVE).pack()
    if action.verb in RESIDENT_VERBS:
        return ResidentAction(
            action=action.verb, ticket_id=action.ticket_id, score=action.value
        ).pack()
    return TicketAction(action=action.verb, ticket_id=action.ticket_id).pack()


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
