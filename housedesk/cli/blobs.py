"""``housedesk blobs migrate --to postgres|s3``: copy the attachments to a shared store.

Runs next to the service (no downtime): every blob the source has and the target lacks is
copied and read back to check it, and a run that stops half-way is resumed by running it
again. The source keeps its copies; once ``[blobs] store`` names the target, ``housedesk
gc`` removes the local ones the target has.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.storage.blobs.copy import copy_blobs
from housedesk.blob_store import STORES, named_store
from housedesk.bootstrap import App
from housedesk.settings.config import ConfigError

EXIT_CONFIG = 2


async def cmd_blobs_migrate(app: App, args: argparse.Namespace) -> int:
    """Copy every blob from ``--from`` (default: the store in use, or local) to ``--to``."""
    configured = app.settings.blobs.store
    source_name = args.source or (configured if configured != args.to else "local")
    if source_name == args.to:
        print(f"housedesk: the blobs are to go from {source_name} to itself", file=sys.stderr)
        return EXIT_CONFIG
    try:
        source = named_store(app.settings, source_name)
        target = named_store(app.settings, args.to)
    except ConfigError as exc:
        print(f"housedesk: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        report = await copy_blobs(source, target)
    finally:
        await source.close()
        await target.close()
    print(f"{source_name} -> {args.to}: {report.summary()}")
    for problem in report.failed:
        print(f"housedesk: not copied: {problem}", file=sys.stderr)
    if report.failed:
        return 1
    if configured != args.to:
        print(
            f'next: set [blobs] store = "{args.to}" (or HOUSEDESK_BLOBS__STORE={args.to}), '
            "restart the processes one at a time, then run this again to copy what they "
            f"wrote meanwhile; `housedesk gc` then removes the {source_name} copies"
        )
    return 0


def add_blobs_commands(subparsers: Any) -> None:
    """Add ``blobs migrate`` to the ``housedesk`` subcommands."""
    blobs = subparsers.add_parser("blobs", help="the attachment store").add_subparsers(
        dest="blobs_command", required=True
    )
    p = blobs.add_parser("migrate", help="copy every attachment to another store, verified")
    p.add_argument("--to", required=True, choices=[s for s in STORES if s != "local"])
    p.add_argument(
        "--from",
        dest="source",
        choices=STORES,
        help="the store to copy from (default: the configured one, or local)",
    )
    p.set_defaults(func=cmd_blobs_migrate)
