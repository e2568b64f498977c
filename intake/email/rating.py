"""Ratings by mail: a digit 1-5 as a reply's first line, or a signed link.

A link names ``/rate/<token>``; the token carries the ticket, the score (0: "not fixed")
and when the link was made, signed with HMAC-SHA256 so nobody can make one up. It is good
for the resolution it was made after only: once the ticket is reopened and finished again,
or rated since, the old link no longer counts (checked by the HTTP route).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

NOT_FIXED = 0
"""The score a "not fixed" link carries."""
LINK_LIFETIME = timedelta(days=60)
_RATING_LINE = re.compile(r"^\s*([1-5])\s*(?:/\s*5|\*+|★+)?\s*[.!]?\s*$")
_TOKEN = re.compile(r"^(\d{1,12})-([0-5])-(\d{1,12})\.([A-Za-z0-9_-]{22})$")


def rating_in(text: str) -> tuple[int, str] | None:
    """``(score, the rest as a comment)`` when the first non-empty line is a digit 1-5."""
    lines = text.strip().splitlines()
    if not lines:
        return None
    match = _RATING_LINE.match(lines[0])
    if match is None:
        return None
    return int(match.group(1)), "\n".join(lines[1:]).strip()


@dataclass(frozen=True)
class RatingToken:
    """What a verified link says."""

    ticket_id: int
    score: int
    issued: datetime


def sign(secret: bytes, ticket_id: int, score: int, issued: datetime) -> str:
    """The token of a link rating ``ticket_id`` with ``score`` (0: not fixed)."""
    body = f"{ticket_id}-{score}-{int(issued.timestamp())}"
    return f"{body}.{_mac(secret, body)}"


def verify(secret: bytes, token: str, now: datetime) -> RatingToken | None:
    """The token's content when it is well formed, signed by us and not expired."""
    match = _TOKEN.match(token)
    if match is None or not secret:
        return None
    body = token.rpartition(".")[0]
    if not hmac.compare_digest(match.group(4), _mac(secret, body)):
        return None
    issued = datetime.fromtimestamp(int(match.group(3)), UTC)
    if now - issued > LINK_LIFETIME:
        return None
    return RatingToken(int(match.group(1)), int(match.group(2)), issued)


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")
