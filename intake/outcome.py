"""The three outcomes of taking in one item (a mail, a voicemail) from any channel.

``Accepted``: acted on (a ticket made or updated, or deliberately dropped as a duplicate or
automatic mail). ``Rejected``: permanent, never retry (SMTP 5xx, IMAP: move aside).
``Deferred``: temporary, retry later (SMTP 451, IMAP: leave unseen, CLI exit 75). An
unexpected exception is always ``Deferred``, never ``Rejected``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Accepted:
    """The item was handled; ``ticket_ref`` names the ticket it made or updated, if any;
    ``quarantined`` names the quarantined item it was set aside as, if it was."""

    ticket_ref: str | None = None
    note: str = ""
    quarantined: str = ""


@dataclass(frozen=True)
class Rejected:
    """Permanent refusal with a typed reason and the SMTP reply that carries it."""

    reason: str
    smtp_code: int = 550
    smtp_enhanced: str = "5.7.1"


@dataclass(frozen=True)
class Deferred:
    """Temporary failure: the sender (or poller) should try again later."""

    reason: str


Outcome = Accepted | Rejected | Deferred

MailIngest = Callable[[bytes], Awaitable[Outcome]]
"""Takes one raw RFC 5322 message and returns its outcome (shared by SMTP and IMAP)."""
