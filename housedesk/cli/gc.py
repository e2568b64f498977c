"""``housedesk gc [--dry-run]``: purge sent outbox rows, handled updates and unused blobs."""

from __future__ import annotations

import argparse
from typing import Any

from core.storage.retention import collect_garbage
from housedesk.blob_store import named_store, previous_store
from housedesk.bootstrap import App
from housedesk.gc_job import retention_policy


async def cmd_gc(app: App, args: argparse.Namespace) -> int:
    """Remove what retention no longer keeps (``--dry-run``: only say what)."""
    settings = app.settings
    store = named_store(settings, settings.blobs.store)  # without reading through to the old one
    report = await collect_garbage(
        store,
        app.clock.now(),
        retention_policy(settings),
        dry_run=args.dry_run,
        previous=previous_store(settings),
    )
    await store.close()
    print(f"{'would remove' if args.dry_run else 'removed'} {report.summary()}")
    return 0


def add_gc_commands(subparsers: Any) -> None:
    """Add ``gc`` to the ``housedesk`` subcommands."""
    p = subparsers.add_parser(
        "gc", help="purge sent outbox rows, handled updates and blobs nothing refers to"
    )
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    p.set_defaults(func=cmd_gc)
