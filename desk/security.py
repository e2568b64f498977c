"""Who may use a desk page, and how a page protects itself: the session cookie, the form
token on every change, and headers that keep the pages in their own origin."""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler

from core.directory.desk_sessions import csrf_token, session_person
from core.i18n import N_, gettext
from desk.context import BASE, SESSION, VIEWER, desk_of

COOKIE = "housedesk_desk"
PUBLIC = ("/signin", "/static/")
"""Paths (under the desk) open without a session: signing in and the static files."""
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self' https://web.telegram.org",
    )
)


def _relative(request: web.Request) -> str:
    path = request.path
    return path[len(BASE) :] if path.startswith(BASE) else path


@web.middleware
async def headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A Content-Security-Policy and friends on every desk response."""
    response = await handler(request)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let through signed-in staff (or a public path); refuse a change without the session's
    form token. A page asked for without a session leads to the sign-in page."""
    token = request.cookies.get(COOKIE, "")
    person = await session_person(token, desk_of(request).clock.now()) if token else None
    if person is not None:
        request[VIEWER] = person
        request[SESSION] = token
    if _relative(request).startswith(PUBLIC):
        return await handler(request)
    if person is None:
        if request.method in CHANGES or request.headers.get("X-Requested-With"):
            raise web.HTTPUnauthorized(text=gettext(None, N_("Please sign in again.")))
        raise web.HTTPSeeOther(f"{BASE}/signin")
    if request.method in CHANGES:
        form = await request.post()
        sent = str(form.get("csrf") or request.headers.get("X-CSRF-Token", ""))
        if not hmac.compare_digest(sent, csrf_token(token)):
            language = person.language
            raise web.HTTPForbidden(
                text=gettext(language, N_("This form has expired; open the page again."))
            )
    return await handler(request)


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, token: str, max_age: int
) -> None:
    """The session cookie: HttpOnly, SameSite, Secure over https (then SameSite=None, so
    Telegram's web client may frame the desk; the form token still guards every change)."""
    secure = request.secure or desk_of(request).public_url.startswith("https://")
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age,
        path=BASE,
        httponly=True,
        secure=secure,
        samesite="None" if secure else "Lax",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    """Forget the session cookie."""
    response.del_cookie(COOKIE, path=BASE)
