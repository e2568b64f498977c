"""Filing a voicemail as a ticket: building from the called number, resident from the caller.

The recording is always kept as an attachment. When it cannot be decoded, or no speech
model covers the building's language, the ticket is still created, flagged for a person
to listen to it, with the reason in ``needs_attention``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.actors import Actor
from core.directory.lookup import building_by_phone, person_by_contact
from core.i18n import N_, gettext
from core.incidents.commands import IncidentReport
from core.incidents.service import IncidentService
from core.incidents.texts import incident_ref
from core.operations.classify import Classification
from core.storage.blobs import BlobStore
from core.storage.models import Channel, ContactKind
from core.tickets.commands import InboundRef, NewAttachment, NewTicket, RequesterHint
from core.tickets.service import TicketService
from intake.email.parse import ParsedMail
from intake.email.voicemail import VoicemailParts
from intake.outcome import Accepted, Deferred, Outcome
from intake.speech.decode import AudioDecodeError
from intake.speech.models import NoModelForLanguage
from intake.speech.transcriber import Transcriber, Transcript
from intake.voicemail.item import VoicemailItem, voicemail_source_id

log = logging.getLogger(__name__)

Categorize = Callable[[str], Awaitable[Classification]]
"""Classifies a transcript into a category (none found: the default category)."""
LOW_CONFIDENCE = 0.5
TITLE_WORDS = 8
UNSURE = N_("The transcript may be wrong: please listen to the recording.")
UNDECODABLE = N_("The recording could not be decoded: please listen to it.")
UNTRANSCRIBED = N_("No transcript: please listen to the recording.")
"""What a voicemail's request tells staff (read in their language; the error's own words
follow on a line of their own)."""


@dataclass(frozen=True)
class FilingSettings:
    """Voicemail defaults."""

    default_language: str = "en"
    default_category: str = "technical"


class VoicemailFiler:
    """The :data:`~intake.voicemail.item.VoicemailIngest` every voicemail source calls."""

    def __init__(
        self,
        tickets: TicketService,
        blobs: BlobStore,
        transcriber: Transcriber,
        settings: FilingSettings,
        *,
        categorize: Categorize | None = None,
        incidents: IncidentService | None = None,
    ) -> None:
        self.tickets = tickets
        self.incidents = incidents
        self.blobs = blobs
        self.transcriber = transcriber
        self.settings = settings
        self.categorize = categorize

    async def __call__(self, item: VoicemailItem) -> Outcome:
        """File ``item``; a database failure defers it, nothing else refuses it."""
        try:
            return await self._file(item)
        except Exception as exc:
            log.exception("voicemail from %s deferred", item.caller)
            return Deferred(f"temporary failure: {type(exc).__name__}")

    async def _file(self, item: VoicemailItem) -> Outcome:
        inbound = InboundRef("voicemail", item.source_id)
        earlier = await self.tickets.ticket_for_message(inbound.channel, inbound.external_id)
        if earlier is not None:
            return Accepted(earlier.ref, note="duplicate voicemail")
        building = await building_by_phone(item.called)
        caller = await person_by_contact(ContactKind.PHONE, item.caller) if item.caller else None
        language = (
            (building.language if building else None)
            or (caller.language if caller else None)
            or self.settings.default_language
        )
        transcript, problem = await self._transcribe(item, language)
        text = transcript.text if transcript else ""
        if transcript and text and transcript.confidence < LOW_CONFIDENCE:
            problem = UNSURE
        blob = await self.blobs.put(item.audio)
        found = await self.categorize(text) if (self.categorize and text) else None
        if caller is not None and self.incidents is not None:
            report = IncidentReport(
                caller.id,
                Channel.VOICEMAIL,
                text,
                building_id=building.id if building else None,
                category=found.category if found else None,
            )
            joined = await self.incidents.absorb(report)
            if joined is not None:
                return Accepted(note=f"linked to incident {incident_ref(joined.incident)}")
        result = await self.tickets.create(
            NewTicket(
                category=(found and found.category) or self.settings.default_category,
                title=_title(item.caller, text, language),
                description=text,
                channel=Channel.VOICEMAIL,
                actor=Actor.system(f"voicemail:{item.source}"),
                building=building.code if building else None,
                requester_id=caller.id if caller else None,
                requester=RequesterHint(ContactKind.PHONE, item.caller)
                if (item.caller and caller is None)
                else None,
                inbound=inbound,
                attachments=[
                    NewAttachment(
                        blob.sha256, blob.size, item.content_type or "audio/wav", item.filename
                    )
                ],
                language=language,
                needs_attention=problem,
                classification=found,
            )
        )
        return Accepted(result.ticket.ref, note=problem or "transcribed")

    async def _transcribe(
        self, item: VoicemailItem, language: str
    ) -> tuple[Transcript | None, str]:
        try:
            return await self.transcriber.transcribe(item.audio, language, item.filename), ""
        except AudioDecodeError as exc:
            return None, f"{UNDECODABLE}\n{exc}"
        except NoModelForLanguage as exc:
            return None, f"{UNTRANSCRIBED}\n{exc}"


def _title(caller: str | None, text: str, language: str) -> str:
    """``Voicemail from +44 7700 900123: the first words…`` in the building's language."""
    words = text.split()
    gist = " ".join(words[:TITLE_WORDS]) + ("…" if len(words) > TITLE_WORDS else "")
    who = caller or gettext(language, N_("an unknown number"))
    if gist:
        return gettext(language, N_("Voicemail from {who}: {gist}"), who=who, gist=gist)
    return gettext(language, N_("Voicemail from {who}"), who=who)


def from_email(filer: VoicemailFiler) -> Callable[[VoicemailParts, ParsedMail], Awaitable[Outcome]]:
    """The mail gateway's handler for PBX voicemail-to-email notifications."""

    async def handle(parts: VoicemailParts, mail: ParsedMail) -> Outcome:
        audio = parts.audio
        return await filer(
            VoicemailItem(
                audio=audio.data,
                filename=audio.filename,
                content_type=audio.content_type,
                caller=parts.caller_number,
                called=parts.called_number,
                source="email",
                source_id=voicemail_source_id(audio.data, parts.caller_number, parts.called_number),
            )
        )

    return handle
