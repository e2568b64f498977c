"""Ticket tags and reply prefixes in subjects.

Every mail housedesk sends carries ``[#42]`` in its subject; a reply keeps it. The subject of
one ticket's mails must stay the same apart from reply prefixes, which is what Gmail
(subject must match), Outlook (conversation topic) and Thunderbird (subject fallback) need to
keep them in one thread.
"""

from __future__ import annotations

import re

_TAG = re.compile(r"\[#(\d{1,9})\]")
# Reply and forward prefixes in the languages residents write in, possibly stacked and
# numbered ("Re: RE[2]: Aw:"), as mail clients add them.
_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|ref|réf|odp|ответ|отв|fw|fwd|wg|tr|rv|fs|pd|пересл)"
    r"\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)


def ticket_tag(subject: str) -> int | None:
    """Return the ticket number of the first ``[#42]`` tag in ``subject``, or None."""
    match = _TAG.search(subject)
    return int(match.group(1)) if match else None


def base_subject(subject: str) -> str:
    """Return ``subject`` without leading reply/forward prefixes ("Re: Fwd: x" -> "x")."""
    return _PREFIX.sub("", subject).strip()
