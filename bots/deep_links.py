"""``t.me`` links that open a bot with a ``/start`` payload (building codes, invite codes)."""

from __future__ import annotations

import re

from core.errors import InvalidInput

_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def start_link(bot_username: str, payload: str) -> str:
    """``https://t.me/<bot>?start=<payload>``; Telegram allows 1-64 of ``A-Z a-z 0-9 _ -``."""
    if not _PAYLOAD.match(payload):
        raise InvalidInput(
            f"{payload!r} cannot go into a Telegram link: use 1-64 letters, digits, _ or -"
        )
    return f"https://t.me/{bot_username.lstrip('@')}?start={payload}"
