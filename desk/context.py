"""What the desk's pages are given, and where they find it on a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web

from core.clock import Clock
from core.incidents.service import IncidentService
from core.reports.figures import Reports
from core.storage.blobs import BlobStore
from core.storage.models import Person
from core.tickets.service import TicketService

BASE = "/desk"
"""Where housedesk mounts the desk; links and redirects start with it."""


@dataclass(frozen=True)
class DeskContext:
    """The core services the pages use, and the sign-in settings."""

    tickets: TicketService
    incidents: IncidentService
    clock: Clock
    blobs: BlobStore
    reports: Reports
    bot_token: str = field(repr=False)
    """The staff bot's token: launch data is verified with it ('' : no launch sign-in)."""
    public_url: str = ""
    session_ttl: timedelta = timedelta(hours=12)
    launch_max_age: timedelta = timedelta(minutes=5)


DESK: web.AppKey[DeskContext] = web.AppKey("desk", DeskContext)
VIEWER: web.RequestKey[Person] = web.RequestKey("desk.viewer", Person)
"""The request key of the signed-in member of staff (set by the session middleware)."""
SESSION: web.RequestKey[str] = web.RequestKey("desk.session", str)
"""The request key of the session's token."""


def desk_of(request: web.Request) -> DeskContext:
    """The desk's services, from any desk request."""
    return request.app[DESK]


def viewer_of(request: web.Request) -> Person:
    """The signed-in member of staff (the session middleware let the request through)."""
    return request[VIEWER]
