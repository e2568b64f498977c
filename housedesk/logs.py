"""Logging set-up: one format, quiet libraries, and no secret in any line.

httpx (under python-telegram-bot) logs every request's URL at INFO, and a Bot API URL
carries the bot's token (``/bot<TOKEN>/getMe``); aiohttp and aiogram may log URLs too.
:class:`RedactSecrets` rewrites every record a handler emits (message, arguments, exception
text and stack) so that tokens, webhook secrets and URL passwords never reach a log.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from housedesk.settings.config import Settings

MASK = "***"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("tortoise", "apscheduler")  # one line per round is not news
PROCESS_UMASK = 0o077
"""Files and directories housedesk creates are its own: 0600 and 0700."""

_PATTERNS = (
    # A Bot API URL path: /bot123456:AA...; the bot's id before the colon is public.
    (re.compile(r"(bot\d+:)[A-Za-z0-9_-]+"), rf"\g<1>{MASK}"),
    # A password in a URL: scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@", re.IGNORECASE), rf"\g<1>{MASK}@"),
    # Secrets as a query parameter, form field, header or JSON key.
    (
        re.compile(
            r"((?:secret_token|x-telegram-bot-api-secret-token|password|passwd|token)"
            r"[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;]+",
            re.IGNORECASE,
        ),
        rf"\g<1>{MASK}",
    ),
)
_EXCEPTIONS = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Rewrites a record so that no known secret or secret-looking URL part is in it.

    Added to handlers (a logger's own filters do not see records of its children).
    ``secrets`` are configured values (tokens, passwords) masked wherever they appear.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is masked whole; short values
        # (an empty or 1-3 character "password") would mask ordinary words.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret masked."""
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place (every later handler sees it masked); never drop it."""
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings: bot tokens, webhook secret, passwords."""
    telegram = settings.telegram
    values = [
        secret.get_secret_value()
        for secret in (telegram.resident_token, telegram.staff_token, telegram.webhook_secret)
        if secret is not None
    ]
    values += [
        settings.email.imap.password,
        settings.email.outgoing.password or "",
        settings.voicemail.http_token,
        settings.pbx.status_token,
        urlsplit(settings.database.url).password or "",
    ]
    return [value for value in values if value]


def install_redaction(redactor: RedactSecrets) -> None:
    """Add ``redactor`` to every handler there is now (the root's and any logger's own)."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(redactor)


def configure_logging(settings: Settings) -> None:
    """The process's logging: level and format from settings, secrets masked everywhere."""
    logging.basicConfig(level=settings.service.log_level, format=LOG_FORMAT)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction(RedactSecrets(configured_secrets(settings)))


def secure_process(data_dir: Path) -> None:
    """Keep what the process writes private: umask 077, and the data directory 0700."""
    os.umask(PROCESS_UMASK)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if data_dir.stat().st_uid == os.getuid():
        data_dir.chmod(0o700)
