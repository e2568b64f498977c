"""``/announce``: a manager or dispatcher writes an announcement, sees how many people it will
reach, and sends it (or not) with a button.

``/announce [emergency] BUILDING|all [entrance=2] [floor=3,4] [flats=1-10,12]
[at=2026-12-01T18:00] [incident=7] TEXT``, also as the caption of a photo to send with it.
``at`` is the building's local time; ``incident`` names the incident it is the public face
of. Only the sender's own buttons work, once.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import replace
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bots.callbacks import AnnouncementChoice
from bots.media import read_content
from core.actors import Actor
from core.errors import InvalidInput
from core.i18n import N_, gettext, ngettext
from core.operations.announcements import Announcer, AnnounceResult, Draft, Photo
from core.operations.audience import Scope
from core.storage.blobs import BlobStore
from core.storage.models import AnnouncementStatus, Person
from core.tickets.access import SEES_ALL, require_role

USAGE = N_(
    "Usage: /announce [emergency] BUILDING|all [entrance=N] [floor=N] [flats=1-10,12] "
    "[at=YYYY-MM-DDTHH:MM] [incident=N] TEXT"
)
_LISTS = {"entrance": "entrances", "floor": "floors", "flats": "flats"}


def parse_announce(args: str | None) -> Draft:
    """The draft a ``/announce`` line asks for (photo aside)."""
    words = (args or "").split()
    emergency = bool(words) and words[0].lower() in ("emergency", "!")
    if emergency:
        words.pop(0)
    if len(words) < 2:
        raise InvalidInput(USAGE, message=USAGE)
    target = words.pop(0)
    lists: dict[str, list[str]] = {}
    send_at = None
    incident = None
    while words and "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        if key.lower() == "at":
            send_at = _local_time(value)
        elif key.lower() == "incident" and value.lstrip("#").isdigit():
            incident = int(value.lstrip("#"))
        elif key.lower() in _LISTS:
            lists[_LISTS[key.lower()]] = value.split(",")
        else:
            raise InvalidInput(USAGE, message=USAGE)
    if not words:
        raise InvalidInput(USAGE, message=USAGE)
    return Draft(
        text=" ".join(words),
        building=None if target.lower() == "all" else target,
        scope=Scope.of(**lists),
        emergency=emergency,
        send_at_local=send_at,
        incident_id=incident,
    )


async def announce(
    message: Message,
    command: CommandObject,
    bot: Bot,
    staff: Person,
    lang: str,
    announcer: Announcer,
    blobs: BlobStore,
) -> None:
    """Draft the announcement and show its reach with "send" and "cancel" buttons."""
    require_role(staff, SEES_ALL)
    draft = parse_announce(command.args)
    if message.photo:
        [picture] = (await read_content(message, bot, blobs)).attachments
        photo = Photo(picture.sha256, picture.content_type, picture.original_name)
        draft = replace(draft, photo=photo)
    result = await announcer.draft(draft, Actor.of(staff))
    await message.answer(preview_text(result, draft, lang), reply_markup=_choice(result, lang))


async def decided(
    callback: CallbackQuery,
    callback_data: AnnouncementChoice,
    staff: Person,
    lang: str,
    announcer: Announcer,
) -> None:
    """The sender's "send" or "cancel" (checked against the announcement as it is now)."""
    actor = Actor.of(staff)
    if callback_data.send:
        result = await announcer.confirm(callback_data.announcement_id, actor)
    else:
        result = await announcer.cancel(callback_data.announcement_id, actor)
    text = outcome_text(result, lang)
    await callback.answer(text[:200])
    if isinstance(callback.message, Message):
        with suppress(TelegramBadRequest):
            await callback.message.edit_reply_markup(reply_markup=None)
        await callback.message.answer(text)


def preview_text(result: AnnounceResult, draft: Draft, lang: str) -> str:
    """What the sender confirms: who, how many, how, and when."""
    audience = [draft.building or gettext(lang, N_("All buildings"))]
    for label, values in (
        (N_("entrances {list}"), draft.scope.entrances),
        (N_("floors {list}"), draft.scope.floors),
        (N_("flats {list}"), draft.scope.flats),
    ):
        if values:
            audience.append(gettext(lang, label, list=", ".join(values)))
    lines = [gettext(lang, N_("🚨 Emergency announcement"))] if draft.emergency else []
    lines.append(
        ngettext(
            lang,
            "To {audience}: it will reach {n} resident ({chat} by Telegram, {email} by email, "
            "{unreachable} without a contact).",
            "To {audience}: it will reach {n} residents ({chat} by Telegram, {email} by email, "
            "{unreachable} without a contact).",
            result.people,
            audience=", ".join(audience),
            chat=result.chat,
            email=result.email,
            unreachable=result.unreachable,
        )
    )
    if result.held:
        lines.append(
            ngettext(
                lang,
                "{n} of them had an announcement within the hour: theirs goes an hour later.",
                "{n} of them had an announcement within the hour: theirs go an hour later.",
                result.held,
            )
        )
    if result.send_at:
        lines.append(gettext(lang, N_("It goes out at {time}."), time=result.send_time(lang)))
    lines.append(gettext(lang, N_("Send it?")))
    return "\n".join(lines)


def outcome_text(result: AnnounceResult, lang: str) -> str:
    """What the sender's button did."""
    if result.status is AnnouncementStatus.CANCELLED:
        return gettext(lang, N_("Cancelled: nothing was sent."))
    if result.status is AnnouncementStatus.SCHEDULED:
        return gettext(lang, N_("Scheduled for {time}."), time=result.send_time(lang))
    return ngettext(
        lang,
        "Sent: {n} message is on its way. You will be told how many were delivered.",
        "Sent: {n} messages are on their way. You will be told how many were delivered.",
        result.queued,
    )


def _choice(result: AnnounceResult, lang: str) -> InlineKeyboardMarkup:
    send = ngettext(lang, "Send to {n} resident", "Send to {n} residents", result.queued)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=send,
                    callback_data=AnnouncementChoice(
                        announcement_id=result.announcement_id, send=True
                    ).pack(),
                ),
                InlineKeyboardButton(
                    text=gettext(lang, N_("Cancel")),
                    callback_data=AnnouncementChoice(
                        announcement_id=result.announcement_id, send=False
                    ).pack(),
                ),
            ]
        ]
    )


def _local_time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise InvalidInput(USAGE, message=USAGE) from None
