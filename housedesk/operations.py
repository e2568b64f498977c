"""The operations parts built from ``[operations]``: router, jobs, reports, announcements."""

from __future__ import annotations

from dataclasses import dataclass

from core.operations.announcements import Announcer
from core.operations.classify import KeywordClassifier
from core.operations.deadlines import NudgePolicy
from core.operations.jobs import DigestPolicy, Operations
from core.operations.routing import Router
from core.reports.figures import Reports
from core.tickets.service import TicketService
from housedesk.settings.operations import OperationsSettings
from presentation.channels import channel_of_word


@dataclass(frozen=True)
class OperationsKit:
    """What bootstrap keeps on the app for the channels, the staff bot and the CLI.

    ``classifier.categorize`` is the ``categorize`` function the email gateway and the
    voicemail filer take.
    """

    classifier: KeywordClassifier
    router: Router
    jobs: Operations
    reports: Reports
    announcer: Announcer


def build_operations(
    settings: OperationsSettings, tickets: TicketService, *, max_attempts: int = 8
) -> OperationsKit:
    """Build the parts and register automatic routing as a ticket-creation hook."""
    classifier = KeywordClassifier(settings.keywords)
    router = Router(
        tickets,
        classifier,
        classified_channels=frozenset(channel_of_word(c) for c in settings.classify_channels),
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
        ),
    )
