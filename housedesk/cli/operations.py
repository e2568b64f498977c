"""``housedesk report``: the manager report as text, JSON, an XLSX export or a PNG chart."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from housedesk.bootstrap import App
from presentation.reports.text import report_text
from presentation.views import report_view


async def cmd_report(app: App, args: argparse.Namespace) -> int:
    """Print or write the report of a period."""
    reports = app.operations.reports
    language = args.language or app.settings.service.default_language
    if args.xlsx:
        from presentation.reports.xlsx import export_xlsx  # openpyxl loads only when asked for

        workbook = await export_xlsx(reports, args.period, args.building, language)
        Path(args.xlsx).write_bytes(workbook)
        print(f"wrote {args.xlsx}")
    elif args.png:
        from presentation.reports.chart import report_png  # matplotlib loads only when asked for

        Path(args.png).write_bytes(await report_png(reports, args.period, args.building, language))
        print(f"wrote {args.png}")
    elif args.json:
        print(
            json.dumps(
                report_view(await reports.report(args.period, args.building)),
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(await report_text(reports, args.period, args.building, language))
    return 0


def add_ops_commands(subparsers: Any) -> None:
    """Add ``report`` to the ``housedesk`` subcommands."""
    p = subparsers.add_parser("report", help="tickets, deadlines and technicians over a period")
    p.add_argument(
        "period",
        nargs="?",
        default="today",
        help="today, week (since Monday), month (since the 1st) or FROM..TO (YYYY-MM-DD dates)",
    )
    p.add_argument("--building", help="one building's code (default: all)")
    p.add_argument(
        "--language", help="language of the text, chart and XLSX (default: the service's)"
    )
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON")
    output.add_argument("--xlsx", metavar="FILE", help="write every ticket and its timeline")
    output.add_argument("--png", metavar="FILE", help="write a chart")
    p.set_defaults(func=cmd_report)
