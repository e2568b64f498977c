"""Reading Bot API calls off the wire (JSON, form-urlencoded, multipart) and recording them.

Clients send form fields as strings (``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``);
like Telegram, the stand-in decodes them to the JSON values they stand for, except for
free-text parameters, which stay strings (a message text "42" is not a number).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import MultipartReader, StreamReader, hdrs
from multidict import CIMultiDictProxy

ATTACH_PREFIX = "attach://"

_TEXT_PARAMS = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "description",
        "document",
        "emoji",
        "file_id",
        "inline_message_id",
        "ip_address",
        "language_code",
        "method",
        "name",
        "parse_mode",
        "photo",
        "query",
        "question",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "title",
        "url",
        "video",
        "video_note",
        "voice",
    }
)
"""Parameters whose form value is always a string, never JSON."""


class MalformedCall(ValueError):
    """The request body could not be read as a Bot API call."""


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart call, kept byte for byte."""

    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RecordedCall:
    """A Bot API call as the stand-in received it.

    ``fault`` names the injected failure it was answered with, if any (``"flood_429"``: the
    stand-in's flood control refused it); ``via`` is ``"http"`` for requests and
    ``"webhook_reply"`` for a method call returned in a webhook response; ``at`` is when it
    arrived (``time.monotonic()``).
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    fault: str | None = None
    via: str = "http"
    at: float = field(default_factory=time.monotonic)

    def upload(self, param: str) -> UploadedFile:
        """The file uploaded for ``param``: its own part, or the part its ``attach://`` names."""
        value = self.params.get(param)
        if isinstance(value, str) and value.startswith(ATTACH_PREFIX):
            return self.files[value.removeprefix(ATTACH_PREFIX)]
        return self.files[param]

    def media_uploads(self) -> list[UploadedFile]:
        """The files uploaded for a media group, in the group's order."""
        return [
            self.files[item["media"].removeprefix(ATTACH_PREFIX)]
            for item in self.params.get("media", [])
            if str(item.get("media", "")).startswith(ATTACH_PREFIX)
        ]


def decode_form_value(name: str, raw: str) -> Any:
    """Decode one form field the way Telegram reads it (see the module docstring)."""
    if name in _TEXT_PARAMS or raw.startswith(ATTACH_PREFIX):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def read_call(
    headers: CIMultiDictProxy[str],
    body: StreamReader,
    query: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Read a call's parameters and uploaded files from a request or a webhook response."""
    params: dict[str, Any] = {
        name: decode_form_value(name, value) for name, value in (query or {}).items()
    }
    files: dict[str, UploadedFile] = {}
    content_type = headers.get(hdrs.CONTENT_TYPE, "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        await _read_multipart(MultipartReader(headers, body), params, files)
    elif content_type == "application/json":
        raw = await body.read()
        try:
            decoded = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise MalformedCall("can't parse JSON body") from exc
        if not isinstance(decoded, dict):
            raise MalformedCall("JSON body must be an object")
        params.update(decoded)
    else:
        text = (await body.read()).decode("utf-8", "replace")
        for name, value in parse_qsl(text, keep_blank_values=True):
            params[name] = decode_form_value(name, value)
    return params, files


async def _read_multipart(
    reader: MultipartReader, params: dict[str, Any], files: dict[str, UploadedFile]
) -> None:
    while (part := await reader.next()) is not None:
        if isinstance(part, MultipartReader):
            raise MalformedCall("nested multipart bodies are not Bot API calls")
        name = part.name
        if name is None:
            raise MalformedCall("multipart part without a name")
        data = bytes(await part.read(decode=True))
        part_type = part.headers.get(hdrs.CONTENT_TYPE)
        if part.filename is not None or (part_type and not part_type.startswith("text/")):
            files[name] = UploadedFile(
                field=name,
                filename=part.filename,
                content_type=part_type or "application/octet-stream",
                data=data,
            )
        else:
            text = data.decode(part.get_charset(default="utf-8"), "replace")
            params[name] = decode_form_value(name, text)
