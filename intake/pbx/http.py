"""``GET /api/pbx/status?called=…&caller=…[&format=wav]``: what the voice menu should say.

The PBX asks when a call comes in, with the number dialled (which names the building) and
the caller's number. The answer is JSON with structured fields (``incident``, ``tickets``)
and ``text``, a short text in the building's language; with ``format=wav`` it is that text
spoken (8 kHz mono WAV, where espeak-ng is installed; else 503 and the JSON's text still
works). The token goes in ``Authorization: Bearer <token>``, never in the address (which
access logs keep); it is compared in constant time, and a wrong one is 401.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import hdrs, web

from core.operations.voice_status import VoiceStatus
from intake.pbx.speech import SpeechUnavailable, speak

log = logging.getLogger(__name__)

STATUS_PATH = "/api/pbx/status"

StatusLookup = Callable[[str | None, str | None], Awaitable[VoiceStatus]]
"""The called and the caller's number in; the answer for that call out."""

_NUMBER_LIMIT = 64


def pbx_status_routes(
    lookup: StatusLookup, token: str, *, espeak_binary: str = "espeak-ng"
) -> list[web.RouteDef]:
    """The route for ``GET /api/pbx/status``, protected by ``token``."""
    if not token:
        raise ValueError("the PBX status endpoint needs a non-empty token")
    expected = token.encode()

    async def status(request: web.Request) -> web.StreamResponse:
        if not _authorized(request, expected):
            return _error(401, "missing or wrong token", {"WWW-Authenticate": "Bearer"})
        called = _number(request.query.get("called"))
        caller = _number(request.query.get("caller"))
        if request.query.get("format", "json") not in ("json", "wav"):
            return _error(400, "format is json or wav")
        found = await lookup(called, caller)
        if request.query.get("format") != "wav":
            return web.json_response(status_json(found))
        try:
            audio = await speak(found.text, found.language, binary=espeak_binary)
        except SpeechUnavailable as exc:
            log.warning("pbx status: no speech: %s", exc)
            return _error(503, f"no speech here: {exc}")
        return web.Response(body=audio, content_type="audio/wav")

    return [web.get(STATUS_PATH, status)]


def status_json(found: VoiceStatus) -> dict[str, Any]:
    """The JSON answer: the building, its active incident, the caller's open requests and
    the text to read."""
    building, incident = found.building, found.incident
    return {
        "building": {"code": building.code, "name": building.name} if building else None,
        "language": found.language,
        "incident": {
            "id": incident.id,
            "kind": incident.kind.value,
            "title": incident.title,
            "text": found.incident_text,
            "starts_at": _iso(incident.starts_at),
            "expected_end_at": _iso(incident.expected_end_at),
        }
        if incident
        else None,
        "caller_known": found.caller_known,
        "open_tickets": found.open_tickets,
        "tickets": [
            {
                "ref": t.ref,
                "id": t.id,
                "status": t.status,
                "status_text": t.status_text,
                "category": t.category,
                "created_at": _iso(t.created_at),
            }
            for t in found.tickets
        ],
        "text": found.text,
    }


def _authorized(request: web.Request, expected: bytes) -> bool:
    scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    authorized = hmac.compare_digest(given.strip().encode(), expected)
    return scheme.lower() == "bearer" and authorized


def _number(value: str | None) -> str | None:
    """A number from the query; a ``+`` the PBX did not encode arrives as a space."""
    value = (value or "")[:_NUMBER_LIMIT]
    if value.startswith(" ") and value.strip()[:1].isdigit():
        value = "+" + value.strip()
    return value.strip() or None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
