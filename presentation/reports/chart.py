"""A report as a chart (matplotlib, Agg) for a manager: deadlines met per building, response
times, and each technician's tickets and rating, under a title naming building and period."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from core.i18n import N_, format_duration, gettext
from core.reports.figures import Reports
from presentation.fonts import chart_families
from presentation.reports.summary import title_of

MET, MISSED, OPEN, DONE = "#2e9d5b", "#d8543b", "#e0a526", "#3b7dd8"
TECHNICIANS_SHOWN = 12
"""The busiest technicians drawn; the workbook lists them all."""


async def report_png(
    reports: Reports,
    period: str = "today",
    building: str | None = None,
    language: str | None = None,
) -> bytes:
    """The report core computes for ``period`` (and ``building``) as a PNG chart."""
    report = await reports.report(period, building)
    return await asyncio.to_thread(render_chart, report, language, "png")  # off the loop


def render_chart(report: Mapping[str, Any], language: str | None, image: str = "png") -> bytes:
    """Three panels side by side under the title, as PNG or SVG bytes (the title is also the
    image's ``Title`` metadata; an SVG keeps its words as text). Chinese is drawn with a CJK
    font where the system has one (:func:`presentation.fonts.chart_families`)."""
    title = title_of(report, language)
    buffer = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "font.family": list(chart_families())}):
        figure = Figure(figsize=(13, 4.8), dpi=100, layout="constrained")
        FigureCanvasAgg(figure)
        figure.suptitle(title, fontsize=13)
        deadlines, times, technicians = figure.subplots(1, 3)
        _deadlines(deadlines, report, language)
        _response_times(times, report, language)
        _technicians(technicians, report, language)
        figure.savefig(buffer, format=image, metadata={"Title": title})
    return buffer.getvalue()


def _deadlines(axes: Axes, report: Mapping[str, Any], language: str | None) -> None:
    rows = [
        (row["code"] or gettext(language, N_("no building")), row["met"], row["missed"])
        for row in report["buildings"]
        if row["met"] + row["missed"]
    ]
    labels = [code for code, _, _ in rows]
    met = [100 * m / (m + x) for _, m, x in rows]
    axes.barh(labels, met, color=MET, label=gettext(language, N_("met")))
    axes.barh(labels, [100 - share for share in met], left=met, color=MISSED,
              label=gettext(language, N_("missed")))  # fmt: skip
    for index, (_, kept, lost) in enumerate(rows):
        axes.text(2, index, f"{kept} / {kept + lost}", va="center", color="white")
    axes.set_xlim(0, 100)
    axes.invert_yaxis()
    axes.set_title(gettext(language, N_("Deadlines met, %")))
    _legend_or_dash(axes, bool(rows))


def _response_times(axes: Axes, report: Mapping[str, Any], language: str | None) -> None:
    bars = [
        (N_("First response, median"), report["first_response"]["median_s"]),
        (N_("First response, 90% within"), report["first_response"]["p90_s"]),
        (N_("Resolution, median"), report["resolution"]["median_s"]),
        (N_("Resolution, 90% within"), report["resolution"]["p90_s"]),
    ]
    labels = [gettext(language, name) for name, _ in bars]
    hours = [(seconds or 0) / 3600 for _, seconds in bars]
    drawn = axes.barh(labels, hours, color=[DONE, DONE, MET, MET])
    axes.bar_label(drawn, [format_duration(s, language) for _, s in bars], padding=2)
    axes.invert_yaxis()
    axes.set_title(gettext(language, N_("Response times, hours")))
    axes.margins(x=0.3)


def _technicians(axes: Axes, report: Mapping[str, Any], language: str | None) -> None:
    busiest = sorted(report["technicians"], key=lambda t: (-(t["open"] + t["done"]), t["name"]))
    shown = busiest[:TECHNICIANS_SHOWN]
    names = [t["name"] for t in shown]
    opened = [t["open"] for t in shown]
    axes.barh(names, opened, color=OPEN, label=gettext(language, N_("open")))
    done = axes.barh(names, [t["done"] for t in shown], left=opened, color=DONE,
                     label=gettext(language, N_("done")))  # fmt: skip
    ratings = ["" if t["average_rating"] is None else f"★ {t['average_rating']:.1f}" for t in shown]
    axes.bar_label(done, ratings, padding=3)
    axes.invert_yaxis()
    axes.set_title(gettext(language, N_("Technicians: tickets and average rating")))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.margins(x=0.2)
    _legend_or_dash(axes, bool(shown))


def _legend_or_dash(axes: Axes, drawn: bool) -> None:
    if drawn:
        axes.legend(loc="lower right", fontsize="small")
    else:
        axes.text(0.5, 0.5, "—", ha="center", va="center", transform=axes.transAxes)
