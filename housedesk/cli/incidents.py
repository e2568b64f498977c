"""``housedesk incident open|update|resolve|list|show|links|unlink``: outages and planned
shut-offs from the command line. Times without a zone are read in the building's time zone."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.directory.lookup import building_by_code
from core.errors import InvalidInput
from core.incidents import texts
from core.incidents.commands import OpenIncident, UpdateIncident
from core.incidents.queries import (
    absorbed_by_channel,
    incident_links,
    open_incidents,
    timeline,
)
from core.storage.models import Building, Channel, Incident, IncidentKind
from housedesk.bootstrap import App
from housedesk.cli.acting import actor_of, add_as_option


def _moment(text: str | None, zone: ZoneInfo) -> datetime | None:
    """``2026-12-10T10:00`` in the building's zone, or with its own offset."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"not a time: {text!r} (expected e.g. 2026-12-10T10:00)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _texts(pairs: list[str]) -> dict[str, str]:
    """``--text ru="..."`` (a bare text is English)."""
    found: dict[str, str] = {}
    for pair in pairs:
        language, sep, text = pair.partition("=")
        if sep and len(language) <= 5 and language.isalpha():
            found[language.lower()] = text
        else:
            found["en"] = pair
    return found


async def _zone_of(incident_or_code: Incident | str) -> ZoneInfo:
    """The time zone of a building (by code), or of an incident's first building."""
    if isinstance(incident_or_code, str):
        building = await building_by_code(incident_or_code)
    else:
        found = await Building.filter(incident_areas__incident_id=incident_or_code.id).first()
        building = found if found is not None else Building(timezone="UTC")
    return ZoneInfo(building.timezone or "UTC")


def _line(incident: Incident, counts: dict[str, int]) -> str:
    end = incident.expected_end_at.isoformat() if incident.expected_end_at else "-"
    return (
        f"{texts.incident_ref(incident):>5}  {incident.status.value:<9} {incident.kind.value:<9} "
        f"{incident.starts_at.isoformat()} → {end}  {incident.title}  "
        f"[{texts.absorbed(counts, 'en')}]"
    )


async def cmd_open(app: App, args: argparse.Namespace) -> int:
    """Open an incident now, or plan one ahead (``--planned --start``)."""
    zone = await _zone_of(args.building[0])
    incident = await app.incidents.open(
        OpenIncident(
            kind=IncidentKind.PLANNED if args.planned else IncidentKind.EMERGENCY,
            buildings=tuple(args.building),
            title=args.title,
            texts=_texts(args.text or []) or {"en": args.title},
            actor=await actor_of(args),
            channel=Channel.CLI,
            category=args.category,
            starts_at=_moment(args.start, zone),
            expected_end_at=_moment(args.until, zone),
            keywords=tuple(args.keyword or ()),
            entrances=tuple(args.entrance or ()),
            floors=tuple(args.floor or ()),
            flats=tuple(args.flat or ()),
        )
    )
    print(f"opened {texts.incident_ref(incident)} ({incident.status.value}): {incident.title}")
    return 0


async def cmd_update(app: App, args: argparse.Namespace) -> int:
    """A new expected end and/or a note; every linked resident is told once."""
    incident = await app.incidents.get(args.ref)
    told = await app.incidents.update(
        UpdateIncident(
            incident.id,
            await actor_of(args),
            expected_end_at=_moment(args.until, await _zone_of(incident)),
            note=args.note or "",
            version=incident.version,
        )
    )
    print(f"updated {texts.incident_ref(incident)}; {told} resident(s) told")
    return 0


async def cmd_resolve(app: App, args: argparse.Namespace) -> int:
    """Resolve: everyone linked is told, with a "still not working" button."""
    incident = await app.incidents.get(args.ref)
    told = await app.incidents.resolve(incident.id, await actor_of(args), version=incident.version)
    print(f"resolved {texts.incident_ref(incident)}; {told} resident(s) told")
    return 0


async def cmd_list(app: App, args: argparse.Namespace) -> int:
    """Incidents not resolved (``--all``: every one), with the reports each absorbed."""
    incidents = (
        await Incident.all().order_by("-starts_at", "-id") if args.all else await open_incidents()
    )
    if not incidents:
        print("no incidents")
    for incident in incidents:
        print(_line(incident, await absorbed_by_channel(incident.id)))
    return 0


async def cmd_show(app: App, args: argparse.Namespace) -> int:
    """One incident with its timeline and the reports it absorbed, by channel."""
    incident = await app.incidents.get(args.ref)
    print(_line(incident, await absorbed_by_channel(incident.id)))
    for language, text in sorted(incident.texts.items()):
        print(f"  {language}: {text}")
    for event in await timeline(incident.id):
        print(f"  {event.at.isoformat()}  {event.type} by {event.actor_label}: {event.text}")
    return 0


async def cmd_links(app: App, args: argparse.Namespace) -> int:
    """The reports an incident absorbed (``unlink`` takes the first column)."""
    incident = await app.incidents.get(args.ref)
    links = await incident_links(incident.id)
    if not links:
        print("no reports linked")
    for link in links:
        ticket = f" → #{link.ticket_id}" if link.ticket_id else ""  # type: ignore[attr-defined]
        print(
            f"{link.id:>6}  {link.status.value:<9} {link.channel.value:<10} "
            f"{link.person.name:<24} {link.text[:60]!r}{ticket}"
        )
    return 0


async def cmd_unlink(app: App, args: argparse.Namespace) -> int:
    """A wrongly matched report leaves the incident and becomes a ticket of its own."""
    ticket = await app.incidents.unlink(args.link, await actor_of(args))
    print(f"report {args.link} unlinked: now {ticket.ref}")
    return 0


def add_incident_commands(subparsers: Any) -> None:
    """Add ``incident`` to the ``housedesk`` subcommands."""
    commands = subparsers.add_parser(
        "incident", help="outages and planned shut-offs that absorb residents' reports"
    ).add_subparsers(dest="incident_command", required=True)
    p = commands.add_parser("open", help="open an incident now, or plan one ahead")
    p.add_argument("--building", action="append", required=True, help="building code; repeat")
    p.add_argument("--title", required=True, help="what staff read")
    p.add_argument("--text", action="append", help='for residents: "ru=..." per language')
    p.add_argument("--category", help="category code (mail and voicemail in it are linked)")
    p.add_argument("--keyword", action="append", help="a word that links a mail; repeat")
    p.add_argument("--entrance", action="append", help="only flats of this entrance; repeat")
    p.add_argument("--floor", action="append", help="only flats on this floor; repeat")
    p.add_argument("--flat", action="append", help="only this flat (or 20-25); repeat")
    p.add_argument("--planned", action="store_true", help="a planned shut-off")
    p.add_argument("--start", help="when it starts (default now), e.g. 2026-12-10T10:00")
    p.add_argument("--until", help="expected end, e.g. 2026-12-10T14:00")
    add_as_option(p)
    p.set_defaults(func=cmd_open)
    p = commands.add_parser("update", help="new expected end and/or a note for residents")
    p.add_argument("ref", help="e.g. I7")
    p.add_argument("--until", help="new expected end")
    p.add_argument("--note", help="told to every linked resident")
    add_as_option(p)
    p.set_defaults(func=cmd_update)
    p = commands.add_parser("resolve", help="it works again: tell everyone linked")
    p.add_argument("ref", help="e.g. I7")
    add_as_option(p)
    p.set_defaults(func=cmd_resolve)
    p = commands.add_parser("list", help="incidents not resolved")
    p.add_argument("--all", action="store_true", help="resolved ones too")
    p.set_defaults(func=cmd_list)
    p = commands.add_parser("show", help="one incident with its timeline")
    p.add_argument("ref", help="e.g. I7")
    p.set_defaults(func=cmd_show)
    p = commands.add_parser("links", help="the reports an incident absorbed")
    p.add_argument("ref", help="e.g. I7")
    p.set_defaults(func=cmd_links)
    p = commands.add_parser("unlink", help="a wrong match becomes a ticket of its own")
    p.add_argument("link", type=int, help="the report's number from `incident links`")
    add_as_option(p)
    p.set_defaults(func=cmd_unlink)
