"""The one place that creates and wires housedesk's parts.

:func:`bootstrap` builds everything a process needs from settings and returns it as an
:class:`App`; ``housedesk run`` starts the channels and the scheduler with what it built,
the CLI commands use its services. Nothing here connects to anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from core.clock import Clock, SystemClock
from core.incidents.jobs import IncidentJobs
from core.incidents.service import IncidentService
from core.messaging.notifications import Notifier, NotifySettings
from core.messaging.outbox import DEFAULT_LANES, Lane, OutboxWorker, RetryPolicy
from core.operations.announcements import Announcer
from core.operations.classify import KeywordClassifier
from core.operations.deadlines import NudgePolicy
from core.operations.jobs import DigestPolicy, Operations
from core.operations.routing import Router
from core.reports.figures import Reports
from core.storage.blobs import BlobStore
from core.storage.db import sqlite_url
from core.storage.models import Channel
from core.tickets.service import TicketService
from housedesk.blob_store import open_blob_store
from housedesk.cluster.leadership import Leadership
from housedesk.cluster.node import this_process
from housedesk.gc_job import DailyGc
from housedesk.scheduler import OpsScheduler
from housedesk.settings.config import Settings
from housedesk.settings.operations import OperationsSettings
from intake.email.authentication import AuthMode, SenderAuthentication
from intake.email.gateway import GatewaySettings, MailGateway
from intake.speech.decode import AudioDecodeError
from intake.speech.models import NoModelForLanguage
from intake.speech.transcriber import ModelLoadError, Transcriber
from intake.voicemail.filing import FilingSettings, VoicemailFiler, from_email

VoiceToText = Callable[[bytes, str], Awaitable[tuple[str, str]]]
"""Audio and its language in; the transcript and, when there is none, why."""


@dataclass(frozen=True)
class OperationsKit:
    """The operations parts: routing, the scheduled jobs, reports and announcements.

    ``classifier.categorize`` is the ``categorize`` function the email gateway and the
    voicemail filer take.
    """

    classifier: KeywordClassifier
    router: Router
    jobs: Operations
    reports: Reports
    announcer: Announcer


@dataclass
class App:
    """Everything a process needs, built from settings."""

    settings: Settings
    clock: Clock
    blobs: BlobStore
    notifier: Notifier
    tickets: TicketService
    incidents: IncidentService
    """Outages and planned shut-offs that absorb residents' reports."""
    outbox: OutboxWorker
    mail_gateway: MailGateway
    transcriber: Transcriber
    voicemail: VoicemailFiler
    voice_to_text: VoiceToText
    """Transcribes residents' voice notes with the voicemail's speech service."""
    operations: OperationsKit
    scheduler: OpsScheduler | None
    """Ticks the operations jobs (None: ``[operations] scheduler_enabled`` is off)."""
    leadership: Leadership
    """Which periodic jobs this process leads in the cluster (all of them on SQLite)."""
    channel_states: dict[str, str] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        """The database URL with housedesk's SQLite pragmas applied."""
        return database_url(self.settings)


def database_url(settings: Settings) -> str:
    """The configured database URL, with SQLite pragmas."""
    return sqlite_url(settings.database.url, settings.database.sqlite_synchronous)


def bootstrap(settings: Settings, *, clock: Clock | None = None) -> App:
    """Build the app; tests pass a clock of their own."""
    clock = clock or SystemClock()
    notifier = Notifier(
        NotifySettings(
            help_address=settings.email.help_address,
            max_attempts=settings.outbox.max_attempts,
        ),
        clock,
    )
    outbox = OutboxWorker(
        clock,
        policy=RetryPolicy(settings.outbox.base_delay_s, settings.outbox.max_delay_s),
        batch_size=settings.outbox.batch_size,
        lease_seconds=settings.outbox.lease_s,
        poll_interval=settings.outbox.poll_interval_s,
        lanes=lanes(settings),
    )
    blobs = open_blob_store(settings)
    identity = this_process(clock, settings.cluster.node_id)
    tickets = TicketService(clock, notifier)
    operations = build_operations(
        settings.operations, tickets, max_attempts=settings.outbox.max_attempts
    )
    incidents = IncidentService(
        clock,
        tickets,
        max_attempts=settings.outbox.max_attempts,
        announcer=operations.announcer,
    )
    email = settings.email
    gateway = MailGateway(
        tickets,
        blobs,
        clock,
        GatewaySettings(
            help_address=email.help_address,
            max_attachment_bytes=email.max_attachment_bytes,
            default_category=email.default_category,
            reopen_window=timedelta(days=email.reopen_window_days),
            acks_per_sender_per_hour=email.acks_per_sender_per_hour,
            authentication=SenderAuthentication(AuthMode(email.authentication), email.authserv_id),
            tickets_per_sender_per_hour=email.tickets_per_sender_per_hour,
            max_attachments=email.max_attachments,
            max_mime_parts=email.max_mime_parts,
            note_address=email.note_address,
        ),
        categorize=operations.classifier.categorize,
        incidents=incidents,
    )
    speech = settings.speech
    transcriber = Transcriber(
        speech.models_dir or settings.storage.speech_models_dir,
        max_workers=speech.workers,
        max_duration_s=speech.max_duration_s,
    )
    voicemail = VoicemailFiler(
        tickets,
        blobs,
        transcriber,
        FilingSettings(
            default_language=speech.default_language or settings.service.default_language,
            default_category=settings.voicemail.default_category,
        ),
        categorize=operations.classifier.categorize,
        incidents=incidents,
    )
    gateway.voicemail = from_email(voicemail)
    scheduler = None
    if settings.operations.scheduler_enabled:
        interval = settings.operations.tick_interval_s
        jobs = {**operations.jobs.jobs, "incidents": IncidentJobs(incidents).run}
        jobs["announcements"] = operations.announcer.run_due
        if settings.retention.gc_daily:
            jobs["gc"] = DailyGc(settings, blobs, identity.node)
        scheduler = OpsScheduler(jobs, clock, interval)
    return App(
        settings=settings,
        clock=clock,
        blobs=blobs,
        notifier=notifier,
        tickets=tickets,
        incidents=incidents,
        outbox=outbox,
        mail_gateway=gateway,
        transcriber=transcriber,
        voicemail=voicemail,
        voice_to_text=voice_notes(transcriber),
        operations=operations,
        scheduler=scheduler,
        leadership=Leadership(
            identity,
            clock,
            check_s=settings.cluster.leader_check_s,
        ),
    )


def lanes(settings: Settings) -> dict[str, Lane]:
    """The outbox lanes: the defaults, with what ``[outbox.lanes.<route>]`` changes."""
    configured = settings.outbox.lanes
    result = dict(DEFAULT_LANES)
    for route, lane in configured.items():
        default = DEFAULT_LANES[route]
        result[route] = Lane(
            concurrency=lane.concurrency or default.concurrency,
            send_timeout_s=lane.send_timeout_s or default.send_timeout_s,
        )
    return result


def build_operations(
    settings: OperationsSettings, tickets: TicketService, *, max_attempts: int = 8
) -> OperationsKit:
    """The operations parts; automatic routing becomes a ticket-creation hook when enabled."""
    classifier = KeywordClassifier(settings.keywords)
    router = Router(
        tickets,
        classifier,
        classified_channels=frozenset(Channel(c) for c in settings.classify_channels),
    )
    if settings.routing_enabled:
        tickets.on_created.append(router.on_created)
    jobs = Operations(
        router,
        nudges=NudgePolicy(settings.remind_before_minutes, settings.nudge_every_minutes),
        digest=DigestPolicy(settings.digest_time, settings.timezone),
        max_attempts=max_attempts,
    )
    return OperationsKit(
        classifier=classifier,
        router=router,
        jobs=jobs,
        reports=Reports(tickets.clock, settings.timezone),
        announcer=Announcer(
            tickets.clock,
            mail_domain=tickets.notifier.settings.mail_domain,
            per_second=settings.announce_per_second,
            max_attempts=max_attempts,
            per_resident_per_hour=settings.announcements_per_resident_per_hour,
            timezone=settings.timezone,
        ),
    )


def voice_notes(transcriber: Transcriber) -> VoiceToText:
    """Residents' Telegram voice notes through the voicemail's offline speech service; a note
    that cannot be transcribed keeps its audio and says why."""

    async def transcribe(audio: bytes, language: str) -> tuple[str, str]:
        try:
            transcript = await transcriber.transcribe(audio, language, "voice.ogg")
        except (NoModelForLanguage, AudioDecodeError, ModelLoadError) as exc:
            return "", f"voice note not transcribed: {exc}"
        return transcript.text, ""

    return transcribe
