"""A report as a short text for managers (CLI, staff bot, digest), in their language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.i18n import N_, format_duration, gettext
from core.incidents.texts import absorbed
from core.reports.figures import Reports
from core.storage.models import Channel, Status
from core.tickets.workflow import status_name

CHANNEL_NAMES = {
    Channel.CHAT: N_("Telegram"),
    Channel.EMAIL: N_("email"),
    Channel.VOICEMAIL: N_("voicemail"),
    Channel.PHONE: N_("phone"),
    Channel.CLI: N_("command line"),
}


def channel_name(code: str, language: str | None) -> str:
    """A ticket channel as people call it."""
    try:
        return gettext(language, CHANNEL_NAMES[Channel(code)])
    except ValueError:
        return code


def _items(counts: Mapping[str, int], name: Any) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{name(code)} {n}" for code, n in ordered) or "—"


async def report_text(
    reports: Reports,
    period: str = "today",
    building: str | None = None,
    language: str | None = None,
) -> str:
    """The report core computes for ``period`` (and ``building``) as a short text."""
    report = await reports.report(period, building)
    return render_report(report, language, await reports.category_names(language))


def render_report(
    report: Mapping[str, Any], language: str | None, category_names: Mapping[str, str]
) -> str:
    """The text summary of a report made by :func:`core.reports.figures.build_report`."""
    period = report["period"]
    lines = [
        gettext(
            language,
            N_("Report for {first} – {last} ({timezone})"),
            first=period["from"],
            last=period["to"],
            timezone=period["timezone"],
        ),
        gettext(language, N_("Building: {building}"), building=report["building"])
        if report["building"]
        else gettext(language, N_("All buildings")),
        gettext(language, N_("Tickets: {total}"), total=report["total"]),
    ]
    if report["total"]:
        lines += [
            gettext(
                language,
                N_("By status: {items}"),
                items=_items(report["by_status"], lambda c: status_name(Status(c), language)),
            ),
            gettext(
                language,
                N_("By category: {items}"),
                items=_items(report["by_category"], lambda c: category_names.get(c, c)),
            ),
            gettext(
                language,
                N_("By channel: {items}"),
                items=_items(report["by_channel"], lambda c: channel_name(c, language)),
            ),
        ]
        if not report["building"]:
            lines.append(
                gettext(
                    language,
                    N_("By building: {items}"),
                    items=_items(report["by_building"], str),
                )
            )
    lines.append(gettext(language, N_("Overdue now: {count}"), count=report["overdue"]))
    deadlines = report["deadlines"]
    if deadlines["met_share"] is None:
        lines.append(gettext(language, N_("Deadlines met: none decided yet")))
    else:
        lines.append(
            gettext(
                language,
                N_("Deadlines met: {share}% ({met} of {decided})"),
                share=round(deadlines["met_share"] * 100),
                met=deadlines["met"],
                decided=deadlines["met"] + deadlines["missed"],
            )
        )
    for key, label in (
        ("first_response", N_("First response: median {median}, 90% within {p90}")),
        ("resolution", N_("Resolution: median {median}, 90% within {p90}")),
    ):
        lines.append(
            gettext(
                language,
                label,
                median=format_duration(report[key]["median_s"], language),
                p90=format_duration(report[key]["p90_s"], language),
            )
        )
    if report["technicians"]:
        lines.append(gettext(language, N_("Technicians:")))
        for tech in report["technicians"]:
            if tech["average_rating"] is None:
                line = gettext(
                    language, N_("{open} open, {done} done"), open=tech["open"], done=tech["done"]
                )
            else:
                line = gettext(
                    language,
                    N_("{open} open, {done} done, average rating {rating}"),
                    open=tech["open"],
                    done=tech["done"],
                    rating=f"{tech['average_rating']:.1f}",
                )
            lines.append(f"  {tech['name']}: {line}")
    if report.get("incidents"):
        lines.append(gettext(language, N_("Incidents (reports absorbed instead of tickets):")))
        for incident in report["incidents"]:
            counts = absorbed(incident["absorbed"], language or "en")
            lines.append(f"  {incident['ref']} {incident['title']}: {counts}")
    return "\n".join(lines)
