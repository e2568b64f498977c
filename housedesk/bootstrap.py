"""The one place that creates and wires housedesk's parts."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.blobs import BlobStore
from core.clock import Clock, SystemClock
from core.db import sqlite_url
from core.notify import Notifier, NotifySettings
from core.outbox import OutboxWorker, RetryPolicy
from core.tickets import TicketService
from housedesk.config import Settings


@dataclass
class App:
    """Everything a process needs, built from settings."""

    settings: Settings
    clock: Clock
    blobs: BlobStore
    notifier: Notifier
    tickets: TicketService
    outbox: OutboxWorker
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
            help_address=settings.service.help_address,
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
    return App(
        settings=settings,
        clock=clock,
        blobs=BlobStore(settings.storage.blobs_dir),
        notifier=notifier,
        tickets=TicketService(clock, notifier),
        outbox=outbox,
    )
