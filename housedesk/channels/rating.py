"""``/rate/<token>``: the signed links under a "done" mail (rate 1-5, or "not fixed").

``GET`` only shows what the link will do, with a button: mail scanners and link previews
open links by themselves, and must not rate anything. ``POST`` does it through the ticket
service (one transaction, version-checked). A link counts once for the resolution it was
made after: not once the ticket is reopened or finished again, nor once it is rated since.
"""

from __future__ import annotations

import html
import logging
import secrets
from pathlib import Path

from aiohttp import web

from core.actors import Actor
from core.errors import DomainError
from core.i18n import N_, gettext
from core.storage.models import EventType, Status, Ticket, TicketEvent
from housedesk.bootstrap import App
from housedesk.settings.config import Settings
from intake.email.rating import NOT_FIXED, RatingToken, verify
from intake.email.wording import RatingLinks

log = logging.getLogger("housedesk")

SECRET_FILE = "rating-link-secret"


def rating_links(settings: Settings) -> RatingLinks | None:
    """The links' base address and secret, or None when ``link_base_url`` is not set."""
    email = settings.email
    if not email.link_base_url:
        return None
    return RatingLinks(email.link_base_url, link_secret(settings))


def link_secret(settings: Settings) -> bytes:
    """``[email] link_secret``, else one made once and kept in the data directory."""
    if settings.email.link_secret:
        return settings.email.link_secret.encode()
    path: Path = settings.storage.data_dir / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="ascii") as file:  # 0600 under housedesk's umask
            file.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="ascii").strip().encode()


def rating_http_routes(app: App) -> list[web.RouteDef]:
    """The rating link routes (none when links are off)."""
    links = rating_links(app.settings)
    if links is None:
        return []
    secret = links.secret

    async def show(request: web.Request) -> web.Response:
        found = await _usable(app, secret, request.match_info["token"])
        if found is None:
            return _page(gettext(None, N_("This link is no longer valid.")), status=410)
        token, ticket = found
        if token.score == NOT_FIXED:
            question = gettext(
                ticket.language, N_("Request {ref} is not fixed: reopen it?"), ref=ticket.ref
            )
        else:
            question = gettext(
                ticket.language,
                N_("Your rating of request {ref}: {stars}"),
                ref=ticket.ref,
                stars="★" * token.score,
            )
        button = html.escape(gettext(ticket.language, N_("Confirm")))
        form = f'<form method="post"><button type="submit">{button}</button></form>'
        return _page(question, form=form)

    async def act(request: web.Request) -> web.Response:
        found = await _usable(app, secret, request.match_info["token"])
        if found is None:
            return _page(gettext(None, N_("This link is no longer valid.")), status=410)
        token, ticket = found
        actor = Actor.of(ticket.requester) if ticket.requester else Actor(label="rating link")
        try:
            if token.score == NOT_FIXED:
                note = gettext(ticket.language, N_("Not fixed"))
                await app.tickets.change_status(ticket, actor, Status.REOPENED, note=note)
                done = N_("Request {ref} is reopened; we will be in touch.")
            else:
                await app.tickets.rate(ticket, actor, token.score)
                done = N_("Thank you: your rating is recorded.")
        except DomainError as exc:  # changed meanwhile (StaleTicket), or no longer finished
            log.info("rating link for %s refused: %s", ticket.ref, exc)
            return _page(gettext(ticket.language, N_("This link is no longer valid.")), status=409)
        return _page(gettext(ticket.language, done, ref=ticket.ref))

    return [web.get("/rate/{token}", show), web.post("/rate/{token}", act)]


async def _usable(app: App, secret: bytes, raw: str) -> tuple[RatingToken, Ticket] | None:
    """The verified token and its ticket, when the link still counts."""
    token = verify(secret, raw, app.clock.now())
    if token is None:
        return None
    try:
        ticket = await app.tickets.get(token.ticket_id)
    except DomainError:
        return None
    resolved = ticket.resolved_at
    if ticket.status not in (Status.DONE, Status.CLOSED) or resolved is None:
        return None
    if resolved.replace(microsecond=0) > token.issued:  # made for an earlier resolution
        return None
    rated = await TicketEvent.exists(ticket=ticket, type=EventType.RATING, at__gte=resolved)
    if rated and token.score != NOT_FIXED:
        return None
    return token, ticket


def _page(text: str, *, form: str = "", status: int = 200) -> web.Response:
    body = html.escape(text)
    return web.Response(
        text=(
            '<!doctype html><html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            f"<title>housedesk</title></head><body><p>{body}</p>{form}</body></html>"
        ),
        content_type="text/html",
        status=status,
    )
