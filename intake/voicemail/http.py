"""``POST /api/voicemail``: a PBX uploads a recording as multipart form data.

Form parts: ``audio`` (the file), ``caller`` and ``called`` (text). The request must carry
``Authorization: Bearer <token>``; the token is checked before the body is read. Replies are
JSON: 202 ``{"ticket": ref}`` when taken in, 422 when refused for good, 503 with
``Retry-After`` when the PBX should try again later, 400/401/413 for bad requests.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import BodyPartReader, hdrs, web

from intake.outcome import Accepted, Deferred, Outcome, Rejected
from intake.voicemail.item import VoicemailIngest, VoicemailItem, voicemail_source_id

log = logging.getLogger(__name__)

VOICEMAIL_PATH = "/api/voicemail"

_FIELD_LIMIT = 256  # bytes for caller/called
_FORM_OVERHEAD = 16 * 1024  # multipart boundaries, headers and the text fields


class _BadForm(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def voicemail_routes(
    ingest: VoicemailIngest,
    bearer_token: str,
    max_bytes: int,
    *,
    retry_after_s: int = 60,
) -> list[web.RouteDef]:
    """Build the route for ``POST /api/voicemail``.

    ``max_bytes`` bounds the audio part; ``retry_after_s`` is sent with every 503.
    """
    if not bearer_token:
        raise ValueError("the voicemail endpoint needs a non-empty bearer token")
    expected = bearer_token.encode()

    async def post_voicemail(request: web.Request) -> web.Response:
        scheme, _, given = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        authorized = hmac.compare_digest(given.strip().encode(), expected)
        if scheme.lower() != "bearer" or not authorized:
            return _error(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
        try:
            item = await _read_item(request, max_bytes)
        except _BadForm as bad:
            return _error(bad.status, bad.message)
        try:
            outcome: Outcome = await ingest(item)
        except Exception:
            log.exception("voicemail ingest failed for %s", item.source_id)
            outcome = Deferred("temporary failure while taking in the voicemail")
        return _reply(outcome, retry_after_s)

    return [web.post(VOICEMAIL_PATH, post_voicemail)]


async def _read_item(request: web.Request, max_bytes: int) -> VoicemailItem:
    if request.content_length is not None and request.content_length > max_bytes + _FORM_OVERHEAD:
        raise _BadForm(413, f"the upload is larger than {max_bytes} bytes")
    if request.content_type != "multipart/form-data":
        raise _BadForm(400, "expected multipart/form-data with an 'audio' file part")
    audio: bytes | None = None
    filename = "voicemail"
    content_type: str | None = None
    fields: dict[str, str] = {}
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise _BadForm(400, "nested multipart bodies are not accepted")
            if part.name == "audio":
                if audio is not None:
                    raise _BadForm(400, "send exactly one 'audio' part")
                audio = await _read_limited(part, max_bytes, 413)
                filename = part.filename or filename
                content_type = part.headers.get(hdrs.CONTENT_TYPE)
            elif part.name in ("caller", "called"):
                raw = await _read_limited(part, _FIELD_LIMIT, 400)
                fields[part.name] = raw.decode(part.get_charset("utf-8"), "replace").strip()
            else:
                await part.release()
    except ValueError as exc:  # malformed multipart framing
        raise _BadForm(400, f"malformed multipart body: {exc}") from exc
    if not audio:
        raise _BadForm(400, "the 'audio' file part is missing or empty")
    caller = fields.get("caller") or None
    called = fields.get("called") or None
    return VoicemailItem(
        audio=audio,
        filename=filename,
        content_type=content_type,
        caller=caller,
        called=called,
        source="http",
        source_id=voicemail_source_id(audio, caller, called),
    )


async def _read_limited(part: BodyPartReader, limit: int, status: int) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk():
        data += chunk
        if len(data) > limit:
            raise _BadForm(status, f"the '{part.name}' part is larger than {limit} bytes")
    return bytes(data)


def _reply(outcome: Outcome, retry_after_s: int) -> web.Response:
    match outcome:
        case Accepted(ticket_ref=ref):
            return web.json_response({"ticket": ref}, status=202)
        case Rejected(reason=reason):
            return _error(422, reason)
        case Deferred(reason=reason):
            return _error(503, reason, {"Retry-After": str(retry_after_s)})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
