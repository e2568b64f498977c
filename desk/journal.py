"""``/desk/journal``: every ticket the viewer may see, filtered, newest first, page by page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiMapping
from tortoise.queryset import QuerySet

from core.directory.lookup import CODE_CACHE, all_categories
from core.errors import InvalidInput
from core.reports.figures import parse_period
from core.storage.models import Building, Person, Role
from core.tickets.access import SEES_ALL
from core.tickets.journal import JournalFilter, journal_page, newest_ticket
from desk.context import desk_of, viewer_of
from desk.journal_choices import CHANNELS, STATUSES, Choices
from desk.journal_lines import journal_lines
from desk.render import language_of, page
from presentation.channels import channel_of_word

routes = web.RouteTableDef()
FILTER_KEYS = (
    "building",
    "status",
    "category",
    "assignee",
    "unassigned",
    "overdue",
    "due_within",
    "attention",
    "channel",
    "unverified",
    "q",
    "created_from",
    "created_to",
)
"""The journal's query parameters (``after`` is the page cursor); others link to these."""


def _number(value: str | None, kind: type[int] | type[float]) -> int | float | None:
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"not a number: {value!r}") from None


def parse_filter(query: MultiMapping[str]) -> JournalFilter:
    """The filter a journal URL asks for."""
    building = _number(query.get("building"), int)
    assignee = _number(query.get("assignee"), int)
    due_within = _number(query.get("due_within"), float)
    channel = query.get("channel") or None
    try:
        chosen_channel = channel_of_word(channel) if channel else None
    except ValueError:
        raise InvalidInput(f"unknown channel {channel!r}") from None
    return JournalFilter(
        building_id=int(building) if building is not None else None,
        status=query.get("status") or None,
        category=query.get("category") or None,
        assignee_id=int(assignee) if assignee is not None else None,
        unassigned=query.get("unassigned") == "1",
        overdue=query.get("overdue") == "1",
        due_within_hours=due_within,
        attention=query.get("attention") == "1",
        channel=chosen_channel,
        unverified=query.get("unverified") == "1",
        text=query.get("q", "")[:200],
    )


@routes.get("/journal", name="journal")
async def journal(request: web.Request) -> web.Response:
    """The journal page (the filters in the query string, ``after`` for the next page)."""
    viewer = viewer_of(request)
    now = desk_of(request).clock.now()
    wanted = await _created_between(parse_filter(request.query), request, now)
    found = await journal_page(viewer, wanted, now, after=request.query.get("after") or None)
    current = {k: request.query[k] for k in FILTER_KEYS if request.query.get(k)}
    language = language_of(request)
    choices = {
        "building": await _buildings(viewer),
        "status": STATUSES,
        "category": await _categories(),
        "assignee": await _staff(),
        "channel": CHANNELS,
    }
    return page(
        request,
        "journal.html",
        found=found,
        lines=journal_lines(found.tickets, language),
        current=current,
        options={k: c.html(language, current.get(k)) for k, c in choices.items()},
        newest=found.newest,
    )


@routes.get("/journal/newest")
async def newest(request: web.Request) -> web.Response:
    """The newest visible ticket's id: the page reloads its list when this moves."""
    return web.json_response({"stamp": await newest_ticket(viewer_of(request))})


async def _created_between(
    wanted: JournalFilter, request: web.Request, now: datetime
) -> JournalFilter:
    """``wanted`` with ``created_from``/``created_to`` (inclusive dates, read in the chosen
    building's timezone or the reports' as the monitor's period is) as instants."""
    first, last = request.query.get("created_from"), request.query.get("created_to")
    if not first and not last:
        return wanted
    building = await Building.get_or_none(id=wanted.building_id) if wanted.building_id else None
    zone = ZoneInfo(building.timezone) if building else desk_of(request).reports.timezone
    start = parse_period(f"{first}..{first}", now, zone).start if first else None
    end = parse_period(f"{last}..{last}", now, zone).end if last else None
    return replace(wanted, created_from=start, created_to=end)


async def _buildings(viewer: Person) -> Choices:
    """The buildings ``viewer`` may filter by."""
    if viewer.role in SEES_ALL:
        return await _cached("*", lambda: _named(Building.all().order_by("code")))
    return await _cached(str(viewer.id), lambda: _named(viewer.buildings.all().order_by("code")))


async def _staff() -> Choices:
    """The active staff, to filter by assignee."""
    return await _cached(
        "staff",
        lambda: _named(Person.exclude(role=Role.RESIDENT).filter(active=True).order_by("name")),
    )


async def _categories() -> Choices:
    """The categories, by code, named in the reader's language."""

    async def read() -> Choices:
        found = await all_categories()
        return Choices(lambda language: [(c.code, c.name_in(language)) for c in found])

    return await _cached("categories", read)


async def _named(query: QuerySet[Any]) -> Choices:
    """The ids and names ``query`` finds, as options (a name reads the same in every
    language)."""
    rows = await query.values("id", "name")
    return Choices(lambda _: [(row["id"], row["name"]) for row in rows])


async def _cached(key: str, read: Callable[[], Awaitable[Choices]]) -> Choices:
    """The filter list ``key`` from the directory's cache (buildings, staff and categories
    change with a directory import, which clears it), else ``read``."""
    found = CODE_CACHE.get("journal choices", key)
    if isinstance(found, Choices):
        return found
    choices = await read()
    CODE_CACHE.put("journal choices", key, choices)
    return choices
