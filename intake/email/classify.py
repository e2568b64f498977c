"""One decision per incoming mail: is it a bounce, automatic, a follow-up or a new request?

Order matters: a bounce is also automatic; a PBX's voicemail notification often comes from
a no-reply robot yet must become a ticket (``voicemail`` holds its recording and numbers);
and an out-of-office reply to one of our mails also carries the ticket tag. A follow-up is
only a candidate: it carries a ``[#42]`` tag or references earlier mail, and the caller
confirms it against the tickets and Message-IDs it knows, treating it as new when nothing
matches.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from intake.email.automatic import automatic_reason
from intake.email.bounce import BounceInfo, bounce_info
from intake.email.parse import ParsedMail
from intake.email.subjects import ticket_tag
from intake.email.voicemail import VoicemailParts, voicemail_from_mail


class MailKind(StrEnum):
    """What an incoming mail is, from housedesk's point of view."""

    NEW = "new"
    FOLLOW_UP = "follow-up"
    AUTOMATIC = "automatic"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Classification:
    """The kind of a mail and the facts behind it."""

    kind: MailKind
    reason: str = ""
    ticket_number: int | None = None
    bounce: BounceInfo | None = None
    voicemail: VoicemailParts | None = None


def classify(mail: ParsedMail, own_addresses: Collection[str]) -> Classification:
    """Classify ``mail``; ``own_addresses`` are the help desk's own mail addresses."""
    bounce = bounce_info(mail)
    if bounce is not None:
        return Classification(MailKind.BOUNCE, reason="delivery report", bounce=bounce)
    voicemail = voicemail_from_mail(mail)
    if voicemail is not None:
        return Classification(MailKind.NEW, reason="voicemail", voicemail=voicemail)
    reason = automatic_reason(mail, own_addresses)
    if reason is not None:
        return Classification(MailKind.AUTOMATIC, reason=reason)
    number = ticket_tag(mail.subject)
    if number is not None or mail.in_reply_to or mail.references:
        return Classification(MailKind.FOLLOW_UP, ticket_number=number)
    return Classification(MailKind.NEW)
