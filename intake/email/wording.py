"""The words around what core says, as a tenant reads them in a mail.

Core writes the news ("Your request #12 is registered: ..."); a mail adds a greeting, for an
acknowledgement what happens next and the building's emergency phone, under the "done" mail
how to rate or say "not fixed" (reply with a digit, or signed links when configured), and
how to write back. All in the ticket's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.i18n import N_, gettext, in_language
from core.messaging.message import OutgoingMessage, Verb
from core.storage.models import OutboxMessage
from intake.email.rating import NOT_FIXED, sign


@dataclass(frozen=True)
class RatingLinks:
    """Where the rating links point (``<base_url>/rate/<token>``) and the signing secret."""

    base_url: str
    secret: bytes

    def url(self, ticket_id: int, score: int, now: datetime) -> str:
        """The signed link rating ``ticket_id`` with ``score`` (0: not fixed)."""
        return f"{self.base_url.rstrip('/')}/rate/{sign(self.secret, ticket_id, score, now)}"


@dataclass(frozen=True)
class Emergency:
    """What the building tells residents to do in an emergency."""

    phone: str = ""
    instructions: str = ""


async def emergency_of(outbox_id: int, language: str | None) -> Emergency | None:
    """The emergency phone and instructions (in ``language``, else the building's, else
    English) of the building of an outbox row's ticket."""
    rows = await OutboxMessage.filter(id=outbox_id).values(
        phone="ticket__building__duty_phone",
        office="ticket__building__phone",
        instructions="ticket__building__emergency_instructions",
        building_language="ticket__building__language",
    )
    if not rows:
        return None
    row = rows[0]
    phone = str(row["phone"] or row["office"] or "")
    texts = row["instructions"] or {}
    instructions = in_language(texts, language, row["building_language"]).strip()
    return Emergency(phone, instructions) if phone or instructions else None


def mail_text(
    outgoing: OutgoingMessage,
    *,
    now: datetime,
    links: RatingLinks | None = None,
    emergency: Emergency | None = None,
) -> str:
    """The body of the mail showing ``outgoing`` to a tenant."""
    lang = outgoing.language
    parts = [gettext(lang, N_("Hello,")), outgoing.text.strip()]
    if outgoing.automatic:
        parts.append(
            gettext(
                lang,
                N_(
                    "What happens next: a member of staff looks at your request and takes it "
                    "on; you get a mail whenever something changes."
                ),
            )
        )
        if emergency is not None:
            parts.append(_emergency_text(lang, emergency))
    ticket_id = _rated_ticket(outgoing)
    if ticket_id is not None:
        parts.append(_rating_text(lang, ticket_id, now, links))
    parts.append(
        gettext(
            lang,
            N_("Reply to this mail to add to your request (photos are welcome)."),
        )
    )
    return "\n\n".join(part for part in parts if part)


def _emergency_text(lang: str | None, emergency: Emergency) -> str:
    lines = []
    if emergency.phone:
        lines.append(
            gettext(
                lang,
                N_("In an emergency (flooding, gas, fire, no power) call {phone} at once."),
                phone=emergency.phone,
            )
        )
    if emergency.instructions:
        lines.append(emergency.instructions)
    return "\n".join(lines)


def _rated_ticket(outgoing: OutgoingMessage) -> int | None:
    """The ticket whose rating actions the message carries (the "done" mail), else None."""
    for row in outgoing.actions:
        for action in row:
            if action.verb in (Verb.RATE, Verb.REOPEN):
                return action.ticket_id
    return None


def _rating_text(lang: str | None, ticket_id: int, now: datetime, links: RatingLinks | None) -> str:
    lines = [
        gettext(
            lang,
            N_(
                "How did we do? Reply to this mail with a digit from 1 (poor) to 5 "
                "(excellent) on the first line; anything below it reaches us as a comment."
            ),
        ),
        gettext(
            lang,
            N_('Not fixed? Reply with "not fixed" and what is still wrong: we reopen it.'),
        ),
    ]
    if links is not None:
        lines.append("")
        lines += [f"{'★' * n} {links.url(ticket_id, n, now)}" for n in range(5, 0, -1)]
        lines.append(
            gettext(lang, N_("Not fixed: {url}"), url=links.url(ticket_id, NOT_FIXED, now))
        )
    return "\n".join(lines)
