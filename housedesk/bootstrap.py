"""The one place that creates and wires housedesk's parts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core.clock import Clock, SystemClock
from core.messaging.notifications import Notifier, NotifySettings
from core.messaging.outbox import OutboxWorker, RetryPolicy
from core.storage.blobs import BlobStore
from core.storage.db import sqlite_url
from core.tickets.service import TicketService
from housedesk.operations import OperationsKit, build_operations
from housedesk.settings.config import Settings
from intake.email.authentication import AuthMode, SenderAuthentication
from intake.email.gateway import GatewaySettings, MailGateway
from intake.speech.transcriber import Transcriber
from intake.voicemail.filing import FilingSettings, VoicemailFiler, from_email


@dataclass
class App:
    """Everything a process needs, built from settings."""

    settings: Settings
    clock: Clock
    blobs: BlobStore
    notifier: Notifier
    tickets: TicketService
    outbox: OutboxWorker
    mail_gateway: MailGateway
    transcriber: Transcriber
    voicemail: VoicemailFiler
    operations: OperationsKit
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
    )
    blobs = BlobStore(settings.storage.blobs_dir)
    tickets = TicketService(clock, notifier)
    operations = build_operations(
        settings.operations, tickets, max_attempts=settings.outbox.max_attempts
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
        ),
        categorize=operations.classifier.categorize,
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
    )
    gateway.voicemail = from_email(voicemail)
    return App(
        settings=settings,
        clock=clock,
        blobs=blobs,
        notifier=notifier,
        tickets=tickets,
        outbox=outbox,
        mail_gateway=gateway,
        transcriber=transcriber,
        voicemail=voicemail,
        operations=operations,
    )
