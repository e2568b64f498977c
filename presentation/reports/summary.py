"""The monitor's figures as labelled tables in the reader's language, each number with the
journal filter that lists the tickets behind it.

One layout for every place that shows them: the desk's monitor page links each number to
``/desk/journal?<filters>``; the XLSX export's summary sheet writes the same tables.
The period's "tickets created" opens the journal between the period's first and last day
(read in the same timezone); its other figures (deadlines met, response times, ratings) have
no filter: the journal lists tickets by what they are now, not by when they were resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.i18n import N_, format_duration, gettext, ngettext
from core.storage.models import Status
from core.tickets.workflow import status_name

OPEN = "open"
"""The journal's status filter for every open status."""
PAGE_WORDS = {
    "title": N_("Monitor"),
    "period": N_("Period"),
    "today": N_("Today"),
    "week": N_("This week"),
    "month": N_("This month"),
    "building": N_("Building"),
    "all": N_("All buildings"),
    "show": N_("Show"),
    "export": N_("Download XLSX"),
    "hint": N_("Each number opens the tickets behind it in the journal."),
    "chart": N_("Chart of the period"),
}
"""The words of the desk's monitor page around the tables."""


@dataclass(frozen=True)
class Cell:
    """One value shown, and the journal filters selecting its tickets (empty: no link)."""

    value: str | int | float | None
    filters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A titled table: column titles, then rows whose first cell names the row."""

    key: str
    """What the table shows, for a page to find it (``now``, ``technicians``…)."""
    title: str
    columns: list[str]
    rows: list[list[Cell]]


def title_of(report: Mapping[str, Any], language: str | None) -> str:
    """``OAK (Oak Street 1): 2026-11-01 – 2026-11-30 (Europe/Warsaw)``, or all buildings."""
    period = report["period"]
    if report["building"]:
        place = report["building"]
        if report.get("building_name") and report["building_name"] != place:
            place = f"{report['building_name']} ({place})"
    else:
        place = gettext(language, N_("All buildings"))
    return gettext(
        language,
        N_("{place}: {first} – {last} ({timezone})"),
        place=place,
        first=period["from"],
        last=period["to"],
        timezone=period["timezone"],
    )


def summary_tables(
    monitor: Mapping[str, Any], language: str | None, category_names: Mapping[str, str]
) -> list[Table]:
    """The tables of :meth:`core.reports.figures.Reports.monitor`'s figures."""
    report, now = monitor["report"], monitor["now"]
    scope = {"building": str(now["building_id"])} if now.get("building_id") else {}
    return [
        _now(now, scope, language),
        _period(report, scope, language),
        _by_status(now, scope, language),
        _by_category(now, scope, language, category_names),
        *([] if scope else [_by_building(report, now, language)]),
        _technicians(report, now, scope, language),
    ]


def _(language: str | None, message: str, **params: object) -> str:
    return gettext(language, message, **params)


def _now(now: Mapping[str, Any], scope: dict[str, str], lang: str | None) -> Table:
    hours = now["due_within_hours"]
    rows = [
        (N_("Open"), now["open"], {"status": OPEN}),
        (N_("Overdue"), now["overdue"], {"overdue": "1"}),
        (None, now["due_soon"], {"due_within": str(hours)}),
        (N_("Unassigned"), now["unassigned"], {"status": OPEN, "unassigned": "1"}),
        (N_("Needs attention"), now["attention"], {"status": OPEN, "attention": "1"}),
    ]
    due_soon = ngettext(lang, "Due within {n} hour", "Due within {n} hours", hours)
    return Table(
        "now",
        _(lang, N_("Open tickets now")),
        [_(lang, N_("Figure")), _(lang, N_("Tickets"))],
        [
            [Cell(_(lang, label) if label else due_soon), Cell(value, {**scope, **filters})]
            for label, value, filters in rows
        ],
    )


def _period(report: Mapping[str, Any], scope: dict[str, str], lang: str | None) -> Table:
    deadlines = report["deadlines"]
    share = deadlines["met_share"]
    created = {
        **scope,
        "created_from": report["period"]["from"],
        "created_to": report["period"]["to"],
    }
    rows: list[tuple[str, Any]] = [
        (N_("Tickets created"), report["total"]),
        (N_("Deadlines met"), "—" if share is None else f"{round(share * 100)}%"),
        (N_("Deadlines met, tickets"), deadlines["met"]),
        (N_("Deadlines missed, tickets"), deadlines["missed"]),
        (N_("First response, median"), format_duration(report["first_response"]["median_s"], lang)),
        (
            N_("First response, 90% within"),
            format_duration(report["first_response"]["p90_s"], lang),
        ),
        (N_("Resolution, median"), format_duration(report["resolution"]["median_s"], lang)),
        (N_("Resolution, 90% within"), format_duration(report["resolution"]["p90_s"], lang)),
    ]
    return Table(
        "period",
        title_of(report, lang),
        [_(lang, N_("Figure")), _(lang, N_("Value"))],
        [
            [Cell(_(lang, label)), Cell(value, created if label == "Tickets created" else {})]
            for label, value in rows
        ],
    )


def _by_status(now: Mapping[str, Any], scope: dict[str, str], lang: str | None) -> Table:
    return Table(
        "status",
        _(lang, N_("Open now by status")),
        [_(lang, N_("Status")), _(lang, N_("Tickets"))],
        [
            [Cell(status_name(Status(code), lang)), Cell(n, {**scope, "status": code})]
            for code, n in now["by_status"].items()
        ],
    )


def _by_category(
    now: Mapping[str, Any], scope: dict[str, str], lang: str | None, names: Mapping[str, str]
) -> Table:
    rows = []
    for row in now["by_category"]:
        where = {**scope, "category": row["code"]}
        rows.append(
            [
                Cell(names.get(row["code"], row["code"])),
                Cell(row["open"], {**where, "status": OPEN}),
                Cell(row["overdue"], {**where, "overdue": "1"}),
            ]
        )
    return Table(
        "category",
        _(lang, N_("Open now by category")),
        [_(lang, N_("Category")), _(lang, N_("Open")), _(lang, N_("Overdue"))],
        rows,
    )


def _by_building(report: Mapping[str, Any], now: Mapping[str, Any], lang: str | None) -> Table:
    period = {row["id"]: row for row in report["buildings"]}
    ids = [row["id"] for row in now["by_building"]]
    ids += [i for i in period if i not in ids]
    current = {row["id"]: row for row in now["by_building"]}
    rows = []
    for building_id in ids:
        found = current.get(building_id, {"open": 0, "overdue": 0})
        made = period.get(building_id, {"total": 0, "met_share": None})
        code = found.get("code") or made.get("code") or _(lang, N_("no building"))
        where = {"building": str(building_id)} if building_id is not None else {}
        share = made["met_share"]
        rows.append(
            [
                Cell(code),
                Cell(found["open"], {**where, "status": OPEN} if where else {}),
                Cell(found["overdue"], {**where, "overdue": "1"} if where else {}),
                Cell(made["total"]),
                Cell("—" if share is None else f"{round(share * 100)}%"),
            ]
        )
    return Table(
        "building",
        _(lang, N_("By building")),
        [
            _(lang, N_("Building")),
            _(lang, N_("Open")),
            _(lang, N_("Overdue")),
            _(lang, N_("Tickets created")),
            _(lang, N_("Deadlines met")),
        ],
        rows,
    )


def _technicians(
    report: Mapping[str, Any], now: Mapping[str, Any], scope: dict[str, str], lang: str | None
) -> Table:
    period = {row["id"]: row for row in report["technicians"]}
    rows = []
    for tech in now["technicians"]:
        where = {**scope, "assignee": str(tech["id"])}
        made = period.get(tech["id"], {"done": 0, "average_rating": None, "rated": 0})
        rating = made["average_rating"]
        rows.append(
            [
                Cell(tech["name"]),
                Cell(tech["open"], {**where, "status": OPEN}),
                Cell(tech["overdue"], {**where, "overdue": "1"}),
                Cell(tech["due_soon"], {**where, "due_within": str(now["due_within_hours"])}),
                Cell(made["done"]),
                Cell("—" if rating is None else f"{rating:.1f}"),
                Cell(made["rated"]),
            ]
        )
    return Table(
        "technicians",
        _(lang, N_("Load and ratings per technician")),
        [
            _(lang, N_("Technician")),
            _(lang, N_("Open")),
            _(lang, N_("Overdue")),
            _(lang, N_("Due soon")),
            _(lang, N_("Done in the period")),
            _(lang, N_("Average rating")),
            _(lang, N_("Ratings")),
        ],
        rows,
    )
