"""Launch data of the staff bot's Mini App, verified as Telegram specifies.

The data-check string is every received field but ``hash``, sorted, as ``key=value`` lines;
the key is HMAC-SHA256 of the bot token keyed with ``WebAppData``; the hash is HMAC-SHA256
of the data-check string with that key. Data older than the allowed age is refused.
(https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

CLOCK_SKEW = timedelta(minutes=1)


class LaunchRefused(Exception):
    """Launch data that is not Telegram's for this bot, or too old."""


@dataclass(frozen=True)
class LaunchUser:
    """Who opened the Mini App."""

    id: int
    language: str | None


def secret_key(bot_token: str) -> bytes:
    """The key launch data of this bot is signed with."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: dict[str, str]) -> str:
    """The signed text: the fields but ``hash``, sorted by name, one ``key=value`` a line."""
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def verify_launch_data(
    init_data: str, bot_token: str, now: datetime, max_age: timedelta
) -> LaunchUser:
    """The user of signed, recent launch data; :class:`LaunchRefused` otherwise."""
    if not bot_token:
        raise LaunchRefused("the staff bot is not configured")
    try:
        fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise LaunchRefused("launch data is malformed") from None
    expected = hmac.new(
        secret_key(bot_token), data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, fields.get("hash", "")):
        raise LaunchRefused("launch data is not signed for this bot")
    try:
        signed_at = datetime.fromtimestamp(int(fields["auth_date"]), UTC)
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise LaunchRefused("launch data lacks its date or user") from None
    if signed_at < now - max_age or signed_at > now + CLOCK_SKEW:
        raise LaunchRefused("launch data is too old")
    language = user.get("language_code")
    return LaunchUser(user_id, language if isinstance(language, str) else None)
