"""Error answers of the Bot API stand-in: Telegram's own errors and injected faults."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web

PROXY_ERROR_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ApiError(Exception):
    """A failed Bot API call, answered as Telegram does: ``{"ok": false, ...}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def response(self) -> web.Response:
        """The HTTP response Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.code)


def bad_request(reason: str) -> ApiError:
    """A 400 with Telegram's ``Bad Request: <reason>`` description."""
    return ApiError(400, f"Bad Request: {reason}")


class Fault(StrEnum):
    """Failures a test can inject with ``BotApiServer.fail_next``."""

    TOO_MANY_REQUESTS = "429"
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    PROXY_PAGE = "502_html"
    TIMEOUT = "timeout"
    BLOCKED = "403"
    CHAT_NOT_FOUND = "400"


@dataclass(frozen=True)
class InjectedFault:
    """One queued failure; ``description`` overrides Telegram's usual wording."""

    kind: Fault
    retry_after: int = 1
    description: str | None = None

    def response(self) -> web.Response:
        """The HTTP response for this fault (``TIMEOUT`` never gets one: it is held)."""
        match self.kind:
            case Fault.TOO_MANY_REQUESTS:
                return ApiError(
                    429,
                    self.description or f"Too Many Requests: retry after {self.retry_after}",
                    {"retry_after": self.retry_after},
                ).response()
            case Fault.SERVER_ERROR:
                return ApiError(500, self.description or "Internal Server Error").response()
            case Fault.BAD_GATEWAY:
                return ApiError(502, self.description or "Bad Gateway").response()
            case Fault.PROXY_PAGE:
                return web.Response(status=502, text=PROXY_ERROR_PAGE, content_type="text/html")
            case Fault.BLOCKED:
                return ApiError(
                    403, self.description or "Forbidden: bot was blocked by the user"
                ).response()
            case Fault.CHAT_NOT_FOUND:
                return ApiError(400, self.description or "Bad Request: chat not found").response()
        raise ValueError(f"{self.kind} has no response")
