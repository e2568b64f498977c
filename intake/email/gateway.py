"""The mail gateway: the stages after receiving, shared by the SMTP server and the IMAP poller.

parse → de-duplicate → classify (bounce / automatic / follow-up / new) → link (ticket and
sender) → act. Every stage either moves on or ends with a typed outcome: ``Rejected`` for
mail that can never be taken in (SMTP 5xx; IMAP moves it aside), ``Deferred`` when the
database or anything unexpected fails (SMTP 451; IMAP leaves it unseen), ``Accepted``
otherwise — including duplicates and automatic mail, which are dropped on purpose.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from core.actors import Actor
from core.clock import Clock
from core.directory.defaults import fallback_category
from core.directory.lookup import person_by_contact
from core.errors import AccessDenied, DomainError, NotFound
from core.i18n import N_, gettext
from core.incidents.commands import IncidentReport
from core.incidents.delivery import MailThread
from core.incidents.linking import Joined
from core.incidents.service import IncidentService
from core.incidents.texts import incident_ref
from core.operations.classify import Classification as Categorized
from core.storage.blobs import BlobStore
from core.storage.fit import digest, max_length
from core.storage.models import (
    Category,
    Channel,
    Contact,
    ContactKind,
    EventType,
    MessageRef,
    Person,
    Status,
    Ticket,
)
from core.storage.together import read_both
from core.tickets.commands import InboundRef, NewAttachment, NewTicket, RequesterHint
from core.tickets.creation import CreateResult
from core.tickets.service import TicketService
from core.tickets.timeline import Saying, quoting
from intake.email.authentication import SenderAuthentication, authenticated
from intake.email.automatic import suppresses_auto_reply
from intake.email.classify import Classification, MailKind, classify
from intake.email.language import mail_language
from intake.email.limits import ARCHIVE_NAME, collapse_attachments, too_many_parts
from intake.email.notes import record_automatic, record_unverified, unverified_attention
from intake.email.parse import Attachment, MalformedMail, Note, ParsedMail, parse_message
from intake.email.rating import rating_in
from intake.email.senders import latest_ticket_of, recipients, remember_language, resident_emergency
from intake.email.subjects import base_subject
from intake.email.voicemail import VoicemailParts
from intake.outcome import Accepted, Deferred, Outcome, Rejected

log = logging.getLogger(__name__)

EMAIL = "email"
NO_SUBJECT = N_("(no subject)")
ONLY_FILES = N_("(attachments)")
"""A request's title when its mail has neither subject nor text, and a reply's text when it
has only files (in the mail's language)."""

Categorize = Callable[[str], Awaitable[Categorized]]
"""Classifies a new mail's text into a category (none found: the default category)."""

VoicemailHandler = Callable[[VoicemailParts, ParsedMail], Awaitable[Outcome]]
"""Takes in a PBX voicemail notification (the speech channel)."""

SMALL_MAIL = 8 * 1024
"""A mail up to this size is parsed on the event loop: over the 59 such mails of this
project's fixtures, 0.2 ms at the median and 0.9 ms at most (best of 7, with the sender
check), where a trip to a worker thread costs about 0.1 ms of CPU and a few context
switches."""


@dataclass(frozen=True)
class GatewaySettings:
    """What the gateway needs to know."""

    help_address: str
    max_attachment_bytes: int = 10 * 1024 * 1024
    default_category: str = "technical"
    reopen_window: timedelta = timedelta(days=14)
    acks_per_sender_per_hour: int = 5
    tickets_per_sender_per_hour: int = 10
    max_attachments: int = 20
    max_mime_parts: int = 500
    own_addresses: tuple[str, ...] = ()
    note_address: str = ""
    """Staff write internal notes here (empty: ``help+note@<domain>``)."""
    authentication: SenderAuthentication = field(default_factory=SenderAuthentication)

    @property
    def own(self) -> tuple[str, ...]:
        """Every address that is housedesk itself."""
        return (self.help_address.lower(), *(a.lower() for a in self.own_addresses))

    @property
    def notes_to(self) -> str:
        """The staff address for internal notes (RT's comment address)."""
        if self.note_address:
            return self.note_address.lower()
        local, _, domain = self.help_address.lower().partition("@")
        return f"{local}+note@{domain}"


class MailGateway:
    """Turns one raw message into a ticket change; see the module docstring."""

    def __init__(
        self,
        tickets: TicketService,
        blobs: BlobStore,
        clock: Clock,
        settings: GatewaySettings,
        *,
        categorize: Categorize | None = None,
        voicemail: VoicemailHandler | None = None,
        incidents: IncidentService | None = None,
    ) -> None:
        self.tickets = tickets
        self.incidents = incidents
        self.blobs = blobs
        self.clock = clock
        self.settings = settings
        self.categorize = categorize
        self.voicemail = voicemail
        self.automatic_unthreaded = 0
        """How many automatic mails answered none of our mails (each is logged too)."""

    async def __call__(self, raw: bytes) -> Outcome:
        """Take in one message; never raises."""
        # a mail may be tens of megabytes, and checking its sender may wait on DNS: it is
        # scanned, parsed and authenticated off the event loop, in one trip to a thread,
        # unless it is small and its check needs no DNS (cheaper than the trip, then)
        try:
            if len(raw) <= SMALL_MAIL and not self.settings.authentication.asks_dns:
                mail = _read(raw, self.settings)
            else:
                mail = await asyncio.to_thread(_read, raw, self.settings)
        except MalformedMail as exc:
            return Rejected(f"not a mail message: {exc}", 550, "5.6.0")
        if mail is None:
            limit = self.settings.max_mime_parts
            return Rejected(f"more than {limit} MIME parts: not taken in", 552, "5.3.4")
        try:
            return await self._take_in(mail, _message_id(mail, raw))
        except AccessDenied as exc:  # staff writing on a ticket they may not see: tell them
            return Rejected(str(exc), 550, "5.7.1")
        except Exception as exc:  # database away, or a bug: the sender must retry
            log.exception("mail %s deferred", mail.message_id)
            return Deferred(f"temporary failure: {type(exc).__name__}")

    async def _take_in(self, mail: ParsedMail, message_id: str) -> Outcome:
        inbound = InboundRef(EMAIL, message_id)
        found = classify(mail, self.settings.own)
        earlier, sender = await read_both(
            self.tickets.ticket_for_message(EMAIL, message_id), self._sender(mail, found)
        )
        if earlier is not None:
            return Accepted(earlier.ref, note="duplicate: already taken in")
        if found.kind == MailKind.BOUNCE:
            return await self._bounce(found)
        if found.kind == MailKind.AUTOMATIC:
            return await self._automatic(mail, found, inbound)
        if found.voicemail is not None and self.voicemail is not None:
            return await self.voicemail(found.voicemail, mail)
        if self.settings.notes_to in recipients(mail):
            return await self._staff_note(mail, found, sender, inbound)
        if found.kind == MailKind.FOLLOW_UP:
            ticket = await self._thread_of(mail, found)
            if ticket is not None and _may_follow_up(ticket, sender):
                if not mail.authenticated:
                    return await record_unverified(self.tickets, ticket, mail, inbound)
                if not _closed_long_ago(ticket, self.clock, self.settings.reopen_window):
                    return await self._follow_up(ticket, mail, sender, inbound)
                return await self._new(mail, sender, inbound, linked_to=ticket)
        return await self._new(mail, sender, inbound)

    async def _sender(self, mail: ParsedMail, found: Classification) -> Person | None:
        """The person behind the mail's sender address, for mail that needs one (not a
        bounce, automatic mail or a voicemail notification)."""
        if not mail.sender or found.kind in (MailKind.BOUNCE, MailKind.AUTOMATIC):
            return None
        if found.voicemail is not None and self.voicemail is not None:
            return None
        return await person_by_contact(ContactKind.EMAIL, mail.sender)

    async def _thread_of(self, mail: ParsedMail, found: Classification) -> Ticket | None:
        """By In-Reply-To/References first, then by the ``[#42]`` subject tag."""
        for candidate in [mail.in_reply_to, *reversed(mail.references)]:
            if candidate:
                ticket = await self.tickets.ticket_for_message(EMAIL, stored_id(candidate))
                if ticket is not None:
                    return ticket
        if found.ticket_number is not None:
            try:
                return await self.tickets.get(found.ticket_number)
            except DomainError:
                return None
        return None

    async def _staff_note(
        self, mail: ParsedMail, found: Classification, sender: Person | None, inbound: InboundRef
    ) -> Outcome:
        """A mail to the notes address: an authenticated staff member's internal note on the
        ticket it names; anyone else's is kept there as "sender not verified"."""
        ticket = await self._thread_of(mail, found)
        if ticket is None:
            return Rejected("a note needs the ticket's [#n] in its subject", 550, "5.1.1")
        if sender is None or not sender.is_staff or not mail.authenticated:
            return await record_unverified(self.tickets, ticket, mail, inbound)
        attachments = await self._store(await self._limited(mail))
        language = sender.language or ticket.language
        text = _with_notes(mail.reply or mail.body, mail.notes, language) or gettext(
            language, ONLY_FILES
        )
        await self.tickets.reply(
            ticket,
            Actor.of(sender),
            text,
            public=False,
            attachments=attachments,
            inbound=inbound,
            inbound_checked=True,
        )
        return Accepted(ticket.ref, note="internal note")

    async def _follow_up(
        self, ticket: Ticket, mail: ParsedMail, sender: Person | None, inbound: InboundRef
    ) -> Outcome:
        """Add the mail to ``ticket`` (the copy threading found, not read again): the reply,
        and the reopening of finished work by its requester, in one transaction; a requester's
        digit 1-5 on finished work is a rating."""
        actor = Actor.of(sender) if sender else Actor(label=mail.sender or "email")
        rating = rating_in(mail.reply or mail.body)
        if rating is not None and sender is not None and _rates(ticket, sender):
            score, comment = rating
            await self.tickets.rate(ticket, actor, score, comment, inbound=inbound)
            return Accepted(ticket.ref, note=f"rated {score} of 5")
        attachments = await self._store(await self._limited(mail))
        text = _with_notes(mail.reply or mail.body, mail.notes, ticket.language)
        if not text.strip() and not attachments:
            empty = Saying("empty_reply")
            await self.tickets.record(
                ticket,
                actor,
                EventType.INTERNAL_NOTE,
                str(empty),
                data=empty.as_data(),
                inbound=inbound,
            )
            return Accepted(ticket.ref, note="empty follow-up")
        await self.tickets.reply(
            ticket,
            actor,
            text or gettext(ticket.language, ONLY_FILES),
            public=True,
            attachments=attachments,
            inbound=inbound,
            inbound_checked=True,
            reopen=True,
        )
        return Accepted(ticket.ref, note="follow-up")

    async def _new(
        self,
        mail: ParsedMail,
        sender: Person | None,
        inbound: InboundRef,
        *,
        linked_to: Ticket | None = None,
    ) -> Outcome:
        if not mail.sender:
            return Rejected("no sender address", 550, "5.1.7")
        if len(mail.sender) > max_length(Contact, "value"):
            return Rejected("sender address too long", 550, "5.1.7")
        language = mail_language(mail)
        text = _with_notes(mail.body, mail.notes, language)
        found = await self.categorize(f"{mail.subject}\n{text}") if self.categorize else None
        code = (found and found.category) or self.settings.default_category
        report = f"{mail.subject}\n{text}".strip()
        thread = MailThread(mail.message_id or inbound.external_id, mail.subject)
        if linked_to is None:
            joined, recent = await read_both(
                self._absorbed(sender, report, found, thread), self._recent(sender)
            )
        else:  # a new request for a ticket closed long ago: never an incident's report
            joined, recent = None, await self._recent(sender)
        if joined is not None:
            return Accepted(note=f"linked to incident {incident_ref(joined.incident)}")
        if (
            sender is not None
            and recent >= self.settings.tickets_per_sender_per_hour
            and not await resident_emergency(sender, code)
        ):
            return await self._over_limit(mail, sender, inbound)
        attachments = await self._store(await self._limited(mail))
        cmd = NewTicket(
            category=code,
            title=base_subject(mail.subject) or _first_line(text) or gettext(language, NO_SUBJECT),
            description=text,
            channel=Channel.EMAIL,
            actor=Actor(label=mail.sender),
            requester_id=sender.id if sender else None,
            requester=None
            if sender
            else RequesterHint(ContactKind.EMAIL, mail.sender, mail.sender_name),
            inbound=inbound,
            attachments=attachments,
            language=language,
            linked_to=linked_to.id if linked_to else None,
            acknowledge=recent < self.settings.acks_per_sender_per_hour
            and not suppresses_auto_reply(mail),
            needs_attention=unverified_attention(mail, sender),
            classification=found,
        )
        try:
            result = await self.tickets.create(cmd, inbound_checked=True)
        except NotFound:
            if await Category.exists(code__iexact=code):
                raise
            result = await self._create_in_fallback(cmd, code)
        if language and result.created:
            await remember_language(result.ticket, language)
        return Accepted(result.ticket.ref, note="new ticket" if result.created else "duplicate")

    async def _absorbed(
        self,
        sender: Person | None,
        report: str,
        found: Categorized | None,
        thread: MailThread,
    ) -> Joined | None:
        """The active incident a known sender's new mail joins, if any."""
        if sender is None or self.incidents is None:
            return None
        category = found.category if found else None
        return await self.incidents.absorb(
            IncidentReport(sender.id, Channel.EMAIL, report, category=category), thread
        )

    async def _recent(self, sender: Person | None) -> int:
        """How many tickets a known sender opened by mail in the last hour."""
        if sender is None:
            return 0
        since = self.clock.now() - timedelta(hours=1)
        return await self.tickets.created_since(sender, Channel.EMAIL, since)

    async def _create_in_fallback(self, cmd: NewTicket, missing: str) -> CreateResult:
        """File a mail whose category does not exist (a configuration gap) in the fallback
        category, telling staff why, rather than refusing it again and again."""
        fallback = await fallback_category()
        log.warning("mail filed in category %s: category %r does not exist", fallback.code, missing)
        why = gettext(
            cmd.language,
            N_(
                "Filed in the category {fallback}: the category {missing} does not exist. "
                "Check the directory's categories."
            ),
            fallback=fallback.code,
            missing=missing,
        )
        attention = "\n".join(part for part in (cmd.needs_attention, why) if part)
        return await self.tickets.create(
            replace(cmd, category=fallback.code, classification=None, needs_attention=attention),
            inbound_checked=True,
        )

    async def _over_limit(self, mail: ParsedMail, sender: Person, inbound: InboundRef) -> Outcome:
        """A sender over the hourly ticket limit: the mail is kept as an internal note on
        their latest open ticket (else their latest one), never dropped, never answered."""
        ticket = await latest_ticket_of(sender)
        if ticket is None:  # unreachable while the limit counts their tickets; kept safe
            return Deferred("sender over the ticket limit and no ticket to note it on")
        heading = Saying(
            "over_limit_mail",
            {"sender": mail.sender or "?", "limit": self.settings.tickets_per_sender_per_hour},
        )
        body = _with_notes(mail.body, mail.notes, ticket.language)
        quoted = f"{base_subject(mail.subject)}\n{body}"
        await self.tickets.record(
            ticket,
            Actor(label=mail.sender or "email"),
            EventType.INTERNAL_NOTE,
            quoting(str(heading), quoted),
            data={
                "over_limit": True,
                "sender": mail.sender,
                "subject": mail.subject,
                **heading.as_data(),
                "quoted": quoted,
            },
            inbound=inbound,
        )
        return Accepted(ticket.ref, note="over the ticket limit: kept as an internal note")

    async def _limited(self, mail: ParsedMail) -> tuple[Attachment, ...]:
        """The mail's attachments, at most ``max_attachments`` (the rest as one zip)."""
        if len(mail.attachments) <= self.settings.max_attachments:
            return mail.attachments
        kept, archived = await asyncio.to_thread(
            collapse_attachments, mail.attachments, self.settings.max_attachments
        )
        if archived:
            log.info("mail %s: %s attachments kept in %s", mail.message_id, archived, ARCHIVE_NAME)
        return kept

    async def _automatic(
        self, mail: ParsedMail, found: Classification, inbound: InboundRef
    ) -> Outcome:
        """Never answered: on the ticket it answers as an internal note, else counted."""
        ticket = await self._thread_of(mail, found)
        if ticket is not None:
            return await record_automatic(self.tickets, ticket, mail, found.reason, inbound)
        self.automatic_unthreaded += 1
        log.info("automatic mail from %s not answered: %s", mail.sender, found.reason)
        return Accepted(note=f"automatic mail ({found.reason}): nothing created, nothing sent")

    async def _bounce(self, found: Classification) -> Outcome:
        bounce = found.bounce
        if bounce is not None and bounce.succeeded:
            log.info("delivery report (%s) for %s: nothing failed", bounce.action, bounce.recipient)
            return Accepted(note=f"delivery report ({bounce.action}): nothing failed")
        if bounce is None or not bounce.original_message_id:
            return Accepted(note="bounce for a message we cannot identify: recorded nowhere")
        ticket = await self.tickets.ticket_for_message(EMAIL, stored_id(bounce.original_message_id))
        if ticket is None:
            return Accepted(note="bounce for a message we did not send")
        detail = " ".join(p for p in (bounce.status, bounce.diagnostic) if p) or bounce.action
        says = (
            Saying("bounced", {"recipient": bounce.recipient, "detail": detail})
            if bounce.recipient
            else Saying("bounced_requester", {"detail": detail})
        )
        await self.tickets.record(
            ticket,
            Actor.system("email"),
            EventType.NOTIFICATION_FAILED,
            str(says),
            data={
                "bounce": True,
                "permanent": bounce.permanent,
                "status": bounce.status,
                **says.as_data(),
            },
        )
        return Accepted(ticket.ref, note="bounce recorded")

    async def _store(self, attachments: Sequence[Attachment]) -> list[NewAttachment]:
        stored = []
        for part in attachments:
            blob = await self.blobs.put(part.data)
            stored.append(NewAttachment(blob.sha256, blob.size, part.content_type, part.filename))
        return stored


def _read(raw: bytes, settings: GatewaySettings) -> ParsedMail | None:
    """The mail parsed, its sender checked; None when it has too many MIME parts."""
    if too_many_parts(raw, settings.max_mime_parts):
        return None
    mail = parse_message(raw, max_attachment_bytes=settings.max_attachment_bytes)
    return authenticated(settings.authentication, raw, mail)


def _message_id(mail: ParsedMail, raw: bytes) -> str:
    """The mail's Message-ID as stored, or a stable stand-in for mail that has none."""
    if mail.message_id:
        return stored_id(mail.message_id)
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@missing-message-id.invalid>"


def stored_id(message_id: str) -> str:
    """A Message-ID as housedesk stores it: itself, or, when longer than the column holds
    (RFC 5322 sets no limit), a stable digest form, so the same mail is still recognised."""
    if len(message_id) <= max_length(MessageRef, "external_id"):
        return message_id
    return f"<sha256-{digest(message_id)}@long-message-id.invalid>"


def _rates(ticket: Ticket, sender: Person) -> bool:
    """True when ``sender`` may rate ``ticket`` now: its requester, the work finished."""
    return sender.id == ticket.requester_id and ticket.status in (Status.DONE, Status.CLOSED)  # type: ignore[attr-defined]


def _may_follow_up(ticket: Ticket, sender: Person | None) -> bool:
    """Only the requester or staff may add to a ticket by mail (forged threads start anew)."""
    if sender is None:
        return False
    return sender.is_staff or sender.id == ticket.requester_id  # type: ignore[attr-defined]


def _closed_long_ago(ticket: Ticket, clock: Clock, window: timedelta) -> bool:
    ended = ticket.closed_at or (ticket.resolved_at if ticket.status == Status.DONE else None)
    return (
        ticket.status in (Status.CLOSED, Status.DONE)
        and ended is not None
        and (clock.now() - ended > window)
    )


def _with_notes(text: str, notes: Sequence[Note], language: str | None) -> str:
    """The mail's text, then what parsing left out of it (in ``language``)."""
    if not notes:
        return text.strip()
    said = (f"[{note.text(language)}]" for note in notes)
    return "\n\n".join([text.strip(), *said]).strip()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
