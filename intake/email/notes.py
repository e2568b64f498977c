"""Mail that lands on a ticket's timeline as an internal note, never as a public reply.

Two kinds: a mail claiming to come from staff or the requester whose sender is not
authenticated (it might be forged: it must not reach the resident nor reopen anything),
and automatic mail answering one of ours (an out-of-office: "away until Monday"), useful
to staff but never to be answered. Both keep the mail's text so staff can read it.
"""

from __future__ import annotations

from core.actors import Actor
from core.i18n import N_, gettext
from core.storage.models import EventType, Person, Ticket
from core.tickets.commands import InboundRef
from core.tickets.service import TicketService
from core.tickets.timeline import Saying, quoting
from intake.email.parse import ParsedMail
from intake.outcome import Accepted, Outcome

_MAX_QUOTED = 4000


async def record_unverified(
    tickets: TicketService, ticket: Ticket, mail: ParsedMail, inbound: InboundRef
) -> Outcome:
    """Keep an unauthenticated reply as an internal note marked "sender not verified"."""
    heading = Saying("unverified_mail", {"sender": mail.sender or "?"})
    await _keep_as_note(tickets, ticket, mail, heading, inbound, sender_not_verified=True)
    return Accepted(ticket.ref, note="sender not verified: internal note")


async def record_automatic(
    tickets: TicketService, ticket: Ticket, mail: ParsedMail, reason: str, inbound: InboundRef
) -> Outcome:
    """Keep an automatic answer to one of the ticket's mails as an internal note."""
    heading = Saying("automatic_reply", {"sender": mail.sender or "?"})
    await _keep_as_note(tickets, ticket, mail, heading, inbound, automatic=reason)
    return Accepted(ticket.ref, note=f"automatic mail ({reason}): internal note")


async def _keep_as_note(
    tickets: TicketService,
    ticket: Ticket,
    mail: ParsedMail,
    heading: Saying,
    inbound: InboundRef,
    **why: object,
) -> None:
    """Record ``mail`` under ``heading`` (read in each reader's language) as an internal note
    that tells nobody; ``why`` goes into the note's data with the sender and subject."""
    text = _quoted(mail)
    await tickets.record(
        ticket.ref,
        Actor(label=mail.sender or "email"),
        EventType.INTERNAL_NOTE,
        quoting(str(heading), text),
        data={
            **why,
            "sender": mail.sender,
            "subject": mail.subject,
            **heading.as_data(),
            "quoted": text,
        },
        inbound=inbound,
    )


def unverified_attention(mail: ParsedMail, sender: Person | None) -> str:
    """What a new ticket from a known but unauthenticated address tells staff (else "")."""
    if mail.authenticated or sender is None:
        return ""
    return gettext(
        sender.language,
        N_("Sender not verified: this mail says it is from {sender}, which was not authenticated."),
        sender=mail.sender or "?",
    )


def _quoted(mail: ParsedMail) -> str:
    text = (mail.reply or mail.body).strip()
    return text[:_MAX_QUOTED].rstrip() + " …" if len(text) > _MAX_QUOTED else text
