"""Core's refusals shown to the person who asked, in their language; nothing changed."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from core.errors import AccessDenied, DomainError, InvalidTransition, NotFound
from core.i18n import N_, gettext
from desk.render import language_of, page

STATUS = {NotFound: 404, AccessDenied: 403}


def refusal_text(error: DomainError, lang: str) -> str:
    """What the person reads about a refused action."""
    if isinstance(error, InvalidTransition):
        return gettext(lang, N_("This status change is not allowed now."))
    return error.text(lang) or gettext(lang, N_("This cannot be done: {detail}"), detail=error)


@web.middleware
async def domain_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A :class:`DomainError` becomes a page (or, for a script, JSON) saying why."""
    try:
        return await handler(request)
    except DomainError as error:
        lang = language_of(request)
        status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 409)
        if isinstance(error, NotFound | AccessDenied) and error.message is None:
            text = gettext(lang, N_("There is no such ticket, or it is not yours to see."))
            status = 404  # the same answer whether it exists or not, for a page or a change
        else:
            text = refusal_text(error, lang)
        if request.headers.get("X-Requested-With"):
            return web.json_response({"error": text}, status=status)
        return page(request, "refused.html", status=status, message=text)
