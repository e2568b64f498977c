"""The outbox's routes, named by the audience they reach rather than by protocol.

A route names an outbox row's ``channel`` and the message references (``MessageRef.channel``)
replies thread on. The composition root registers one sender per route; which chat service
or mail relay stands behind it is the sender's business.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from core.storage.models import ContactKind


class Route(StrEnum):
    """Where an outgoing message goes."""

    RESIDENT_CHAT = "resident_chat"
    """The residents' chat bot, to a resident's private chat."""
    STAFF_CHAT = "staff_chat"
    """The staff chat bot, to a member of staff or a staff group."""
    EMAIL = "email"
    """A mail to an address."""

    @property
    def contact_kind(self) -> ContactKind:
        """The kind of contact a recipient of this route is (blocked after a refusal)."""
        return ContactKind.EMAIL if self is Route.EMAIL else ContactKind.CHAT


class Priority(IntEnum):
    """An outbox row's place in its lane: lower goes first (then the older row)."""

    URGENT = 1
    """Emergency pages, escalations and replies a person is waiting for."""
    NORMAL = 5
    """Assignment cards, acknowledgements, reminders and other ticket news."""
    BULK = 9
    """Announcements: many rows at once, none of them urgent."""
