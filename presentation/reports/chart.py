"""A report as a PNG chart (matplotlib, Agg): tickets by status, by category, by channel."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from core.i18n import N_, gettext
from core.reports.figures import Reports
from core.storage.models import Status
from core.tickets.workflow import status_name
from presentation.reports.text import channel_name


async def report_png(
    reports: Reports,
    period: str = "today",
    building: str | None = None,
    language: str | None = None,
) -> bytes:
    """The report core computes for ``period`` (and ``building``) as a PNG chart."""
    report = await reports.report(period, building)
    names = await reports.category_names(language)
    return await asyncio.to_thread(render_png, report, language, names)  # off the loop


def render_png(
    report: Mapping[str, Any], language: str | None, category_names: Mapping[str, str]
) -> bytes:
    """Three bar charts side by side, titled with the period, as PNG bytes."""
    figure = Figure(figsize=(12, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    period = report["period"]
    figure.suptitle(
        gettext(
            language,
            N_("Report for {first} – {last} ({timezone})"),
            first=period["from"],
            last=period["to"],
            timezone=period["timezone"],
        )
    )
    panels: list[tuple[str, Mapping[str, int], Callable[[str], str]]] = [
        (N_("By status"), report["by_status"], lambda c: status_name(Status(c), language)),
        (N_("By category"), report["by_category"], lambda c: category_names.get(c, c)),
        (N_("By channel"), report["by_channel"], lambda c: channel_name(c, language)),
    ]
    for axes, (title, counts, name) in zip(figure.subplots(1, 3), panels, strict=True):
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        labels = [name(code) for code, _ in ordered]
        bars = axes.barh(labels, [n for _, n in ordered], color="#3b7dd8")
        axes.bar_label(bars, padding=2)
        axes.invert_yaxis()
        axes.set_title(gettext(language, title))
        axes.xaxis.get_major_locator().set_params(integer=True)
        if not ordered:
            axes.text(0.5, 0.5, "—", ha="center", va="center", transform=axes.transAxes)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
