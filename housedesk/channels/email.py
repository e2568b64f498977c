"""Start and stop the email channel: SMTP intake (on every process), IMAP polling (on the
process that leads ``imap``), outgoing mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.messaging.routes import Route
from housedesk.bootstrap import App
from housedesk.channels.rating import rating_links
from housedesk.cluster.leadership import cancelled_on_resign
from housedesk.settings.config import listen_address
from intake.email.imap_poller import ImapConfig, ImapPoller
from intake.email.quarantine import QuarantiningIngest
from intake.email.smtp_sender import SmtpSender, SmtpSettings
from intake.email.smtp_server import (
    SmtpServer,
    SmtpServerConfig,
    recover_spool,
    start_smtp_server,
)
from intake.email.spool import SpoolLock, lock_spool

log = logging.getLogger("housedesk")


@dataclass
class EmailChannel:
    """The running parts of the email channel."""

    smtp: SmtpServer | None = None
    spool: SpoolLock | None = None

    async def stop(self) -> None:
        """Stop taking mail in; mail already spooled is finished first."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            await smtp.close()
        spool, self.spool = self.spool, None
        if spool is not None:
            spool.release()


def register_mail_sender(app: App) -> None:
    """Send outbox rows of channel ``email`` through the configured relay."""
    out = app.settings.email.outgoing
    if not out.enabled:
        log.info("email: outgoing mail is off")
        return
    sender = SmtpSender(
        SmtpSettings(
            host=out.host,
            port=out.port,
            from_address=out.from_address or app.settings.email.help_address,
            starttls=out.starttls,
            ssl=out.ssl,
            user=out.user,
            password=out.password,
            timeout=out.timeout_s,
            links=rating_links(app.settings),
        ),
        app.blobs,
    )
    app.outbox.register(Route.EMAIL, sender)
    log.info("email: sending through %s:%s", out.host, out.port)


async def start_email(app: App) -> EmailChannel:
    """Start whatever the ``[email]`` section turns on."""
    settings = app.settings.email
    channel = EmailChannel()
    register_mail_sender(app)
    ingest = QuarantiningIngest(app.mail_gateway, app.clock, settings.quarantine_after)
    if settings.smtp_enabled:
        host, port = listen_address(settings.smtp_listen)
        channel.spool = spool = lock_spool(app.settings.storage.data_dir / "spool")
        recovered = await recover_spool(spool, ingest)
        if recovered.processed or recovered.kept:
            log.info(
                "email: recovered %s spooled mail(s), %s kept for retry",
                recovered.processed,
                recovered.kept,
            )
        channel.smtp = await start_smtp_server(
            SmtpServerConfig(
                help_address=settings.help_address,
                spool_dir=spool.directory,
                accept_domains=tuple(settings.accept_domains),
                host=host,
                port=port,
                max_message_bytes=settings.max_message_bytes,
            ),
            ingest,
        )
        app.channel_states["email_smtp"] = "up"
        log.info(
            "email: SMTP intake on %s:%s for %s", host, channel.smtp.port, settings.help_address
        )
    else:
        log.info("email: SMTP intake is off")
    imap = settings.imap
    if imap.enabled:
        poller = ImapPoller(
            ImapConfig(
                host=imap.host,
                user=imap.user,
                password=imap.password,
                port=imap.port,
                security=imap.security,
                folder=imap.folder,
                poll_interval=imap.poll_interval_s,
                processed_folder=imap.processed_folder,
                rejected_folder=imap.rejected_folder,
            ),
            ingest,
        )
        app.leadership.add("imap", cancelled_on_resign(poller.run))  # one process polls
        app.channel_states["email_imap"] = "up"
        log.info(
            "email: IMAP %s@%s:%s/%s is polled by the process that leads imap",
            imap.user,
            imap.host,
            imap.port,
            imap.folder,
        )
    return channel
