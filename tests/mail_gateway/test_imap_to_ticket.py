"""IMAP → gateway → ticket on a real Dovecot.

A crash between the commit and the \\Seen flag makes no second ticket.
"""

from __future__ import annotations

from core.storage.models import OutboxMessage, Ticket
from housedesk.bootstrap import App
from intake.email.imap_poller import ImapPoller
from tests.core import factories
from tests.email.test_imap_poller import Mailbox, _config, _mail, mailbox
from tests.servers.dovecot import DovecotServer, dovecot

__all__ = ["dovecot", "mailbox"]


async def test_poll_makes_one_ticket_even_if_the_flag_was_lost(
    app: App, dovecot: DovecotServer, mailbox: Mailbox
) -> None:
    await factories.category("technical")
    folder = mailbox.new_folder()
    mailbox.append(folder, _mail("Broken lift in block B"))
    poller = ImapPoller(_config(dovecot, folder), app.mail_gateway)
    try:
        first = await poller.poll_once()
        assert first.accepted == 1
        assert [t.title for t in await Ticket.all()] == ["Broken lift in block B"]
        assert mailbox.messages(folder)["Broken lift in block B"] == {"\\Seen"}

        # The process died after the commit but before the \Seen flag reached the server;
        # a new process connects again.
        await poller.close()
        mailbox.client.select(folder)
        status, _ = mailbox.client.store("1", "-FLAGS", "\\Seen")
        assert status == "OK" and mailbox.messages(folder)["Broken lift in block B"] == set()
        again = await poller.poll_once()
        assert again.accepted == 1
        assert await Ticket.all().count() == 1
        assert await OutboxMessage.all().count() == 1  # one acknowledgement, not two
        assert mailbox.messages(folder)["Broken lift in block B"] == {"\\Seen"}
    finally:
        await poller.close()
