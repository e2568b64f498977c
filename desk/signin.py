"""Signing in and out: the Mini App's launch data, a single-use link from the staff bot,
and ``/logout``."""

from __future__ import annotations

from aiohttp import web

from core.directory.desk_sessions import (
    SignedIn,
    end_session,
    open_session,
    redeem_link,
    staff_of_chat,
)
from core.i18n import N_, gettext
from desk.context import BASE, SESSION, desk_of
from desk.launch import LaunchRefused, verify_launch_data
from desk.render import language_of, page
from desk.security import clear_session_cookie, set_session_cookie

routes = web.RouteTableDef()
HOME = f"{BASE}/journal"


def _signed_in(request: web.Request, response: web.StreamResponse, signed: SignedIn) -> None:
    max_age = int(desk_of(request).session_ttl.total_seconds())
    set_session_cookie(request, response, signed.token, max_age)


@routes.get("/signin")
async def signin_page(request: web.Request) -> web.Response:
    """Inside Telegram the page's script sends the launch data; elsewhere it says how to get
    a sign-in link."""
    return page(request, "signin.html")


@routes.post("/signin/launch")
async def signin_with_launch_data(request: web.Request) -> web.Response:
    """Exchange the Mini App's signed launch data for a session (linked staff only)."""
    desk = desk_of(request)
    form = await request.post()
    now = desk.clock.now()
    lang = language_of(request)
    try:
        user = verify_launch_data(
            str(form.get("init_data", "")), desk.bot_token, now, desk.launch_max_age
        )
    except LaunchRefused:
        text = N_(
            "This sign-in could not be checked. Close the desk and open it again from the bot."
        )
        return web.json_response({"error": gettext(lang, text)}, status=403)
    person = await staff_of_chat(user.id)
    if person is None:
        text = N_("The desk is for linked staff only.")
        return web.json_response({"error": gettext(user.language or lang, text)}, status=403)
    signed = await open_session(person, "launch", now, desk.session_ttl)
    response = web.json_response({"next": HOME})
    _signed_in(request, response, signed)
    return response


@routes.get("/signin/link/{code}")
async def link_page(request: web.Request) -> web.Response:
    """A page with one button; the link is used only when it is pressed (a link preview
    that fetches the page uses nothing)."""
    return page(request, "signin_link.html", code=request.match_info["code"])


@routes.post("/signin/link/{code}")
async def signin_with_link(request: web.Request) -> web.Response:
    """Exchange a single-use link from the staff bot for a session."""
    desk = desk_of(request)
    signed = await redeem_link(request.match_info["code"], desk.clock.now(), desk.session_ttl)
    if signed is None:
        return page(request, "signin.html", status=403, refused=True)
    response = web.HTTPSeeOther(HOME)
    _signed_in(request, response, signed)
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    """End this session and forget its cookie."""
    await end_session(request[SESSION], desk_of(request).clock.now())
    response = web.HTTPSeeOther(f"{BASE}/signin")
    clear_session_cookie(response)
    raise response
