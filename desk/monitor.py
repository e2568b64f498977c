"""``/desk/monitor``: the figures of ``housedesk report`` and the open tickets now, each
number a link to the journal filtered to the tickets behind it; the period's chart drawn
by the server, and the same figures with every ticket as an XLSX download."""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from core.errors import InvalidInput
from core.reports.open_now import DUE_SOON_HOURS
from core.storage.models import Building, Person
from core.tickets.access import SEES_ALL, require_role
from desk.context import desk_of, viewer_of
from desk.render import language_of, page
from presentation.reports.summary import PAGE_WORDS, summary_tables

routes = web.RouteTableDef()
PERIODS = ("today", "week", "month")
RANGE = re.compile(r"^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$")


async def _asked(request: web.Request) -> tuple[Person, str, Building | None]:
    """The viewer (a dispatcher, manager or admin), the period and the building asked for."""
    viewer = viewer_of(request)
    require_role(viewer, SEES_ALL)
    period = request.query.get("period") or "today"
    if period not in PERIODS and not RANGE.match(period):
        raise InvalidInput(f"unknown period {period!r}")
    wanted = request.query.get("building") or ""
    building = await Building.get_or_none(id=int(wanted)) if wanted.isdigit() else None
    return viewer, period, building


def _query(period: str, building: Building | None) -> str:
    return f"period={period}" + (f"&building={building.id}" if building else "")


@routes.get("/monitor", name="monitor")
async def monitor(request: web.Request) -> web.Response:
    """The monitor page (``period``: today, week, month or FROM..TO; ``building``: an id)."""
    _, period, building = await _asked(request)
    desk = desk_of(request)
    lang = language_of(request)
    code = building.code if building else None
    figures = await desk.reports.monitor(period, code, DUE_SOON_HOURS)
    names = await desk.reports.category_names(lang)
    return page(
        request,
        "monitor.html",
        words=PAGE_WORDS,
        tables=summary_tables(figures, lang, names),
        periods=PERIODS,
        period=period,
        building=building,
        buildings=await Building.all().order_by("code"),
        here=_query(period, building),
    )


@routes.get("/monitor/chart.svg", name="monitor-chart")
async def chart(request: web.Request) -> web.Response:
    """The period's chart (deadlines, response times, technicians) as SVG."""
    _, period, building = await _asked(request)
    from presentation.reports.chart import render_chart  # matplotlib loads only when asked

    report = await desk_of(request).reports.report(period, building.code if building else None)
    svg = await asyncio.to_thread(render_chart, report, language_of(request), "svg")
    return web.Response(body=svg, content_type="image/svg+xml")


@routes.get("/monitor/export.xlsx", name="monitor-export")
async def export(request: web.Request) -> web.Response:
    """Every ticket of the period with its timeline and the figures, as an XLSX download."""
    _, period, building = await _asked(request)
    from presentation.reports.xlsx import export_xlsx  # openpyxl loads only when asked

    code = building.code if building else None
    workbook = await export_xlsx(desk_of(request).reports, period, code, language_of(request))
    name = f"tickets-{period.replace('..', '_')}{'-' + code if code else ''}.xlsx"
    return web.Response(
        body=workbook,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
