"""What the gateway asks about a mail's sender: where it was sent, their latest ticket,
whether they are a known resident reporting an emergency, the language they write in."""

from __future__ import annotations

from core.directory.lookup import category_by_code
from core.errors import NotFound
from core.storage.models import Person, Status, Ticket
from intake.email.parse import ParsedMail

_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To")
_OPEN = (Status.NEW, Status.IN_PROGRESS, Status.ON_HOLD, Status.REOPENED)


def recipients(mail: ParsedMail) -> set[str]:
    """Every address the mail was sent to (To, Cc, and what the MTA recorded)."""
    found = {a.lower() for a in (*mail.to, *mail.cc)}
    for name in _RECIPIENT_HEADERS:
        found.update(v.strip().strip("<>").lower() for v in mail.header_values(name))
    return found


async def resident_emergency(sender: Person, category: str) -> bool:
    """True when a resident registered to a flat reports in an emergency category."""
    try:
        emergency = (await category_by_code(category)).emergency
    except NotFound:
        return False
    return emergency and not sender.is_staff and await sender.units.all().exists()


async def latest_ticket_of(sender: Person) -> Ticket | None:
    """The sender's newest open ticket, else their newest one."""
    mine = Ticket.filter(requester=sender).order_by("-created_at", "-id")
    return await mine.filter(status__in=list(_OPEN)).first() or await mine.first()


async def remember_language(ticket: Ticket, language: str) -> None:
    """Keep the language a requester wrote in as theirs when they had none yet."""
    requester_id = ticket.requester_id  # type: ignore[attr-defined]
    if requester_id is not None:
        await Person.filter(id=requester_id, language__isnull=True).update(language=language)
