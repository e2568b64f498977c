"""Email test fixtures: the Dovecot IMAP server and the recording SMTP sink."""

from __future__ import annotations

from tests.servers.dovecot import dovecot
from tests.servers.smtp_sink import smtp_sink

__all__ = ["dovecot", "smtp_sink"]
