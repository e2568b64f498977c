"""``/incident`` for managers and dispatchers: open an outage for a building, update or
resolve it, unlink a report that is not about it, and see the open ones with the reports
each absorbed. The resolve button carries the version it was shown with, so a stale or
repeated tap changes nothing and says why."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bots.callbacks import IncidentResolve
from bots.context import IsStaff
from core.actors import Actor
from core.clock import Clock
from core.directory.lookup import building_by_code, category_by_code
from core.errors import InvalidInput, NotFound
from core.i18n import N_, gettext, ngettext
from core.incidents import texts
from core.incidents.commands import OpenIncident, UpdateIncident
from core.incidents.queries import absorbed_by_channel, open_incidents
from core.incidents.service import IncidentService
from core.storage.models import Building, Channel, Incident, IncidentKind, Person
from core.tickets.access import SEES_ALL, require_role

USAGE = N_(
    "/incident open BUILDING [entrance=2] [floor=3,4] [flats=1-10] [category] [HH:MM] "
    "[#word …] text for residents: an outage now "
    "(HH:MM: when it should work again; mail and voicemail in its category or with one of "
    "its #words are linked to it)\n"
    "/incident update I7 [HH:MM] [note for residents]\n"
    "/incident resolve I7\n"
    "/incident unlink N: report N is not about it and becomes a request"
)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SCOPE = re.compile(r"^(entrance|floor|flats)=(\S+)$", re.IGNORECASE)


async def incident(
    message: Message,
    command: CommandObject,
    staff: Person,
    lang: str,
    incidents: IncidentService,
    clock: Clock,
) -> None:
    require_role(staff, SEES_ALL)
    words = (command.args or "").split()
    verb, rest = (words[0].lower(), words[1:]) if words else ("", [])
    actor = Actor.of(staff)
    if verb == "open" and rest:
        await _open(message, rest, actor, lang, incidents, clock)
    elif verb == "update" and rest:
        found = await incidents.get(rest[0])
        building = await _first_building(found)
        until, note = _until(rest[1:], building, clock.now())
        told = await incidents.update(
            UpdateIncident(found.id, actor, expected_end_at=until, note=" ".join(note))
        )
        await message.answer(_told(lang, N_("{ref} updated"), found, told))
    elif verb == "resolve" and rest:
        found = await incidents.get(rest[0])
        told = await incidents.resolve(found.id, actor)
        await message.answer(_told(lang, N_("{ref} resolved"), found, told))
    elif verb == "unlink" and rest and rest[0].isdigit():
        ticket = await incidents.unlink(int(rest[0]), actor)
        await message.answer(
            gettext(
                lang, N_("Report {link} is now the request {ref}."), link=rest[0], ref=ticket.ref
            )
        )
    else:
        await _list(message, lang)


async def resolve_tapped(
    callback: CallbackQuery,
    callback_data: IncidentResolve,
    staff: Person,
    lang: str,
    incidents: IncidentService,
) -> None:
    """The list's resolve button, refused if the incident changed since it was listed."""
    require_role(staff, SEES_ALL)
    found = await incidents.get(callback_data.incident_id)
    told = await incidents.resolve(found.id, Actor.of(staff), version=callback_data.version)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(_told(lang, N_("{ref} resolved"), found, told))


async def _open(
    message: Message,
    words: list[str],
    actor: Actor,
    lang: str,
    incidents: IncidentService,
    clock: Clock,
) -> None:
    building = await building_by_code(words[0])
    rest = words[1:]
    scope: dict[str, tuple[str, ...]] = {}
    while rest and (part := _SCOPE.match(rest[0])):
        scope[part[1].lower()] = tuple(v for v in part[2].split(",") if v)
        rest = rest[1:]
    category = None
    if rest:
        try:
            category = (await category_by_code(rest[0])).code
            rest = rest[1:]
        except (NotFound, InvalidInput):
            category = None
    until, rest = _until(rest, building, clock.now())
    keywords = []
    while rest and rest[0].startswith("#") and len(rest[0]) > 1:
        keywords.append(rest.pop(0)[1:])
    text = " ".join(rest)
    opened = await incidents.open(
        OpenIncident(
            kind=IncidentKind.EMERGENCY,
            buildings=(building.code,),
            title=text,
            texts={lang: text},
            actor=actor,
            channel=Channel.CHAT,
            category=category,
            expected_end_at=until,
            keywords=tuple(keywords),
            entrances=scope.get("entrance", ()),
            floors=scope.get("floor", ()),
            flats=scope.get("flats", ()),
        )
    )
    await message.answer(
        gettext(lang, N_("{ref} opened: {text}"), ref=texts.incident_ref(opened), text=text)
    )


async def _list(message: Message, lang: str) -> None:
    """The open incidents, each with a resolve button, and how to use the command."""
    found = await open_incidents()
    if not found:
        await message.answer(
            "\n\n".join((gettext(lang, N_("No open incidents.")), gettext(lang, USAGE)))
        )
        return
    lines: list[str] = []
    buttons: list[list[InlineKeyboardButton]] = []
    for item in found:
        building = await _first_building(item)
        counts = await absorbed_by_channel(item.id)
        lines.append(
            f"{texts.incident_ref(item)} · {building.code} · {item.text_in(lang, building)} · "
            f"{texts.expected_line(item, building, lang)} · {texts.absorbed(counts, lang)}"
        )
        label = gettext(lang, N_("Resolve {ref}"), ref=texts.incident_ref(item))
        data = IncidentResolve(incident_id=item.id, version=item.version).pack()
        buttons.append([InlineKeyboardButton(text=label, callback_data=data)])
    await message.answer(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons)
    )


def _until(
    words: list[str], building: Building, now: datetime
) -> tuple[datetime | None, list[str]]:
    """A leading ``HH:MM`` as the next such time in the building's zone, and the rest."""
    if not words or not (match := _TIME.match(words[0])):
        return None, list(words)
    zone = ZoneInfo(building.timezone or "UTC")
    local = now.astimezone(zone)
    moment = local.replace(hour=int(match[1]), minute=int(match[2]), second=0, microsecond=0)
    if moment <= local:
        moment += timedelta(days=1)
    return moment, list(words[1:])


def _told(lang: str, done: str, incident: Incident, told: int) -> str:
    head = gettext(lang, done, ref=texts.incident_ref(incident))
    tail = ngettext(lang, "{n} resident told.", "{n} residents told.", told)
    return f"{head}; {tail}"


async def _first_building(incident: Incident) -> Building:
    found = await Building.filter(incident_areas__incident_id=incident.id).order_by("id").first()
    if found is None:
        raise NotFound(f"incident {incident.id} has no building")
    return found


def router() -> Router:
    """``/incident`` and its resolve button."""
    incidents = Router(name="staff-incidents")
    incidents.message.filter(IsStaff())
    incidents.message.register(incident, Command("incident"))
    incidents.callback_query.register(resolve_tapped, IncidentResolve.filter(), IsStaff())
    return incidents
