"""Every kind of input that can be quarantined, by kind (``housedesk quarantine`` and
``/healthz`` read them all)."""

from __future__ import annotations

from core.messaging.inbox import UpdateQuarantine
from core.messaging.quarantine import Quarantine
from housedesk.bootstrap import App
from intake.email.quarantine import MailQuarantine


def quarantines(app: App) -> dict[str, Quarantine]:
    """Chat updates and mails; a mail is retried through the app's mail gateway."""
    return {q.kind: q for q in (UpdateQuarantine(), MailQuarantine(app.mail_gateway))}
