"""The ``housedesk`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from core.directory.defaults import create_default_categories
from core.directory.lookup import find_staff, guess_contact_kind
from core.errors import DatabaseUnavailable, DomainError, StaleTicket
from core.storage.db import close_db, migrate_db, open_db, pending_migrations
from core.storage.models import Channel, OutboxMessage, OutboxStatus
from core.tickets.commands import NewTicket, RequesterHint
from core.tickets.listing import newest_tickets
from core.tickets.queries import parse_ref
from core.tickets.workflow import parse_status
from housedesk.bootstrap import App, bootstrap
from housedesk.cli.acting import actor_of, add_as_option
from housedesk.cli.blobs import add_blobs_commands
from housedesk.cli.corrections import add_correction_commands
from housedesk.cli.desk import add_desk_commands
from housedesk.cli.gc import add_gc_commands
from housedesk.cli.incidents import add_incident_commands
from housedesk.cli.listing import count, print_json_array
from housedesk.cli.operations import add_ops_commands
from housedesk.cli.quarantine import add_quarantine_commands
from housedesk.cli.speech import add_speech_commands
from housedesk.cli.status import add_status_commands
from housedesk.cli.telegram import add_telegram_commands
from housedesk.logs import configure_logging, secure_process
from housedesk.run import StartupError, serve
from housedesk.settings.config import ConfigError, load_settings, unknown_env_variables
from presentation.directory_file import import_directory_file
from presentation.views import line_summary, ticket_detail, ticket_summary

EXIT_ERROR = 1
EXIT_CONFIG = 2

Command = Callable[[App, argparse.Namespace], Awaitable[int]]


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


async def cmd_init(app: App, args: argparse.Namespace) -> int:
    """Create or upgrade the database schema; a new database gets the default categories."""
    applied = await migrate_db(app.database_url)
    await open_db(app.database_url)
    try:
        created = await create_default_categories()
    finally:
        await close_db()
    print(f"database ready ({len(applied)} migration(s) applied)")
    if created:
        print(f"created {created} default categories (a directory import updates them by code)")
    return 0


async def cmd_import(app: App, args: argparse.Namespace) -> int:
    """Load or update the directory from a TOML file."""
    report = await import_directory_file(Path(args.file))
    print(f"imported {args.file}: {report.summary()}")
    return 0


async def cmd_run(app: App, args: argparse.Namespace) -> int:
    """Start the service."""
    await serve(app)
    return 0


async def cmd_tickets_new(app: App, args: argparse.Namespace) -> int:
    """File a ticket by hand (a dispatcher taking a phone call)."""
    requester = None
    if args.requester:
        requester = RequesterHint(kind=guess_contact_kind(args.requester), value=args.requester)
    result = await app.tickets.create(
        NewTicket(
            category=args.category,
            title=args.title,
            description=args.description or "",
            building=args.building,
            unit=args.unit,
            requester=requester,
            channel=Channel.PHONE if requester else Channel.CLI,
            actor=await actor_of(args),
        )
    )
    if args.json:
        _print_json(ticket_summary(result.ticket))
    else:
        print(f"created {result.ticket.ref}: {result.ticket.title}")
    return 0


async def cmd_tickets_list(app: App, args: argparse.Namespace) -> int:
    """List tickets, newest first."""
    statuses = [parse_status(s) for s in args.status] if args.status else []
    limit = None if args.all or args.limit == 0 else args.limit
    tickets = newest_tickets(statuses=statuses, building=args.building, limit=limit)
    if args.json:
        await print_json_array(line_summary(t) async for t in tickets)
        return 0
    shown = 0
    async for t in tickets:
        where = f"{t.building or '-'}/{t.unit or '-'}"
        print(f"{t.ref:>6}  {t.status.value:<11} {t.category:<14} {where:<12} {t.title}")
        shown += 1
    if not shown:
        print("no tickets")
    return 0


async def cmd_tickets_show(app: App, args: argparse.Namespace) -> int:
    """Show one ticket with its timeline."""
    detail = ticket_detail(await app.tickets.detail(args.ref))
    if args.json:
        _print_json(detail)
        return 0
    print(f"{detail['ref']} [{detail['status']}] {detail['title']}")
    print(f"  {detail['category']} · {detail['building']}/{detail['unit']} · {detail['channel']}")
    if detail["description"]:
        print(f"  {detail['description']}")
    for event in detail["events"]:
        mark = "" if event["public"] else " (internal)"
        print(f"  {event['at']}  {event['type']}{mark} by {event['actor']}: {event['text']}")
    return 0


async def cmd_tickets_reply(app: App, args: argparse.Namespace) -> int:
    """Public reply to the requester."""
    await app.tickets.reply(args.ref, await actor_of(args), args.text, public=True)
    print(f"replied on #{parse_ref(args.ref)}")
    return 0


async def cmd_tickets_note(app: App, args: argparse.Namespace) -> int:
    """Internal note (never sent to the requester)."""
    await app.tickets.reply(args.ref, await actor_of(args), args.text, public=False)
    print(f"noted on #{parse_ref(args.ref)}")
    return 0


async def cmd_tickets_assign(app: App, args: argparse.Namespace) -> int:
    """Assign to staff by name, email, phone or Telegram id."""
    staff = await find_staff(args.staff)
    await app.tickets.assign(args.ref, await actor_of(args), staff)
    print(f"assigned #{parse_ref(args.ref)} to {staff.name}")
    return 0


async def cmd_tickets_status(app: App, args: argparse.Namespace) -> int:
    """Change status along the workflow."""
    status = parse_status(args.status)
    await app.tickets.change_status(args.ref, await actor_of(args), status, note=args.note or "")
    print(f"#{parse_ref(args.ref)} is now {status.value}")
    return 0


async def cmd_outbox_list(app: App, args: argparse.Namespace) -> int:
    """List outbox rows (``--failed``: only those that gave up)."""
    query = OutboxMessage.all().order_by("-id")
    if args.failed:
        query = query.filter(status=OutboxStatus.FAILED)
    rows = await query.limit(args.limit)
    if args.json:
        _print_json(
            [
                {
                    "id": r.id,
                    "channel": r.channel,
                    "recipient": r.recipient,
                    "status": r.status.value,
                    "attempts": r.attempts,
                    "next_attempt_at": r.next_attempt_at.isoformat(),
                    "last_error": r.last_error,
                    "ticket": f"#{r.ticket_id}" if r.ticket_id else None,  # type: ignore[attr-defined]
                }
                for r in rows
            ]
        )
        return 0
    if not rows:
        print("outbox is empty")
    for r in rows:
        print(
            f"{r.id:>6} {r.status.value:<8} {r.channel:<18} {r.recipient:<28} "
            f"attempts={r.attempts} {r.last_error[:80]}"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="housedesk", description=__doc__)
    parser.add_argument("--config", help="config file (default: $HOUSEDESK_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create or upgrade the database").set_defaults(
        func=cmd_init, needs_db=False
    )
    p = sub.add_parser("import", help="load or update the directory from a TOML file")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)
    sub.add_parser("run", help="start the service").set_defaults(func=cmd_run, needs_db=False)

    tickets = sub.add_parser("tickets", help="work with tickets").add_subparsers(
        dest="tickets_command", required=True
    )
    p = tickets.add_parser("new", help="file a ticket by hand")
    p.add_argument("--building", required=True)
    p.add_argument("--unit")
    p.add_argument("--category", required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--description")
    p.add_argument("--requester", help="the caller's phone number or email")
    add_as_option(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_new)

    p = tickets.add_parser("list", help="list tickets, newest first")
    p.add_argument("--status", action="append", help="repeat for several")
    p.add_argument("--building")
    p.add_argument("--limit", type=count, default=50, help="at most this many (0: all)")
    p.add_argument("--all", action="store_true", help="every ticket, however many")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_list)

    p = tickets.add_parser("show", help="one ticket with its timeline")
    p.add_argument("ref")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_tickets_show)

    for name, func, help_text in (
        ("reply", cmd_tickets_reply, "public reply to the requester"),
        ("note", cmd_tickets_note, "internal note"),
    ):
        p = tickets.add_parser(name, help=help_text)
        p.add_argument("ref")
        p.add_argument("text")
        add_as_option(p)
        p.set_defaults(func=func)

    p = tickets.add_parser("assign", help="assign to a staff member")
    p.add_argument("ref")
    p.add_argument("staff", help="name, email, phone or Telegram id")
    add_as_option(p)
    p.set_defaults(func=cmd_tickets_assign)

    p = tickets.add_parser("status", help="change a ticket's status")
    p.add_argument("ref")
    p.add_argument("status")
    p.add_argument("--note")
    add_as_option(p)
    p.set_defaults(func=cmd_tickets_status)
    add_correction_commands(tickets)

    outbox = sub.add_parser("outbox", help="messages to send").add_subparsers(
        dest="outbox_command", required=True
    )
    p = outbox.add_parser("list", help="list outbox rows, newest first")
    p.add_argument("--failed", action="store_true")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_outbox_list)
    add_speech_commands(sub)
    add_ops_commands(sub)
    add_telegram_commands(sub)
    add_quarantine_commands(sub)
    add_incident_commands(sub)
    add_gc_commands(sub)
    add_desk_commands(sub)
    add_blobs_commands(sub)
    add_status_commands(sub)
    return parser


async def _run(app: App, func: Command, args: argparse.Namespace) -> int:
    if not getattr(args, "needs_db", True):  # manages the database itself, or needs none
        return await func(app, args)
    await open_db(app.database_url)
    try:
        pending = await pending_migrations()
        if pending:
            raise StartupError(
                f"the database needs {len(pending)} migration(s): run `housedesk init` first"
            )
        return await func(app, args)
    finally:
        await app.blobs.close()
        await close_db()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``housedesk`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"housedesk: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    secure_process(settings.storage.data_dir)
    configure_logging(settings)
    for name in unknown_env_variables():
        print(
            f"housedesk: warning: environment variable {name} names no config key", file=sys.stderr
        )
    try:
        app = bootstrap(settings)
    except ConfigError as exc:
        print(f"housedesk: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(_run(app, args.func, args))
    except DatabaseUnavailable as exc:
        print(f"housedesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except StaleTicket as exc:
        print(f"housedesk: {exc.text(settings.service.default_language)}", file=sys.stderr)
        return EXIT_ERROR
    except (DomainError, StartupError) as exc:
        print(f"housedesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 0
