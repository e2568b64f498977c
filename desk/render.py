"""Pages from Jinja2 templates (autoescaped), in the reader's language and time zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from core.directory.desk_sessions import csrf_token
from core.i18n import gettext, ngettext, normalize_language
from core.storage.models import Building, Channel, Person, Status
from core.tickets.cards import local_day, local_time
from core.tickets.workflow import status_name
from desk.context import BASE, SESSION, VIEWER
from presentation.channels import channel_word
from presentation.reports.text import channel_name

ENV = Environment(
    loader=PackageLoader("desk", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates ship with the package: no stat of the file per request
)


def language_of(request: web.Request) -> str:
    """The viewer's language, else the browser's, else English."""
    person: Person | None = request.get(VIEWER)
    if person is not None and person.language:
        return normalize_language(person.language)
    accepted = request.headers.get("Accept-Language", "")
    return normalize_language(accepted.split(",")[0].split(";")[0].strip() or None)


def helpers(request: web.Request) -> dict[str, Any]:
    """What every template may use: translation, times, the viewer and the form token."""
    lang = language_of(request)
    token = request.get(SESSION)

    def when(moment: datetime | None, building: Building | None = None) -> str:
        return local_time(moment, building, lang) if moment else "—"

    return {
        "base": BASE,
        "lang": lang,
        "viewer": request.get(VIEWER),
        "csrf": csrf_token(token) if token else "",
        "_": lambda message, **params: gettext(lang, message, **params),
        "plural": lambda one, many, n, **params: ngettext(lang, one, many, n, **params),
        "when": when,
        "day": lambda day: local_day(day, lang),
        "status_name": lambda status: status_name(Status(status), lang),
        "channel_word": channel_word,
        "channel_name": lambda channel: channel_name(Channel(channel).value, lang),
        "query": lambda **params: query_string(params),
    }


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")
"""What a query string carries as it is (``urlencode`` quotes nothing else)."""


def query_string(params: Mapping[str, Any]) -> str:
    """``params`` with a value as a query string, as ``urlencode`` writes it; a monitor page
    has some 200 links, and most of their words need no quoting, which is cheaper to see."""
    return "&".join(f"{_quoted(k)}={_quoted(str(v))}" for k, v in params.items() if v)


def _quoted(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote_plus(text)


def page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    """``template`` rendered for this request's viewer."""
    html = ENV.get_template(template).render(**helpers(request), **values)
    return web.Response(text=html, status=status, content_type="text/html")
