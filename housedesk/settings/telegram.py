"""``[telegram]``: the residents' and the staff bot."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TelegramSettings(BaseModel):
    """``[telegram]``; a bot without a token is off and everything else runs.

    Like ``housedesk.settings.config.Section`` (unknown keys are errors), without importing it:
    ``housedesk.settings.config`` imports this module.
    """

    model_config = ConfigDict(extra="forbid")

    api_base: str = "https://api.telegram.org"
    """Bot API server root: Telegram's, a self-hosted telegram-bot-api, or a test stand-in."""
    resident_token: SecretStr | None = None
    """The residents' building bot (in practice from HOUSEDESK_TELEGRAM__RESIDENT_TOKEN)."""
    staff_token: SecretStr | None = None
    """The staff bot (HOUSEDESK_TELEGRAM__STAFF_TOKEN)."""
    mode: Literal["polling", "webhook"] = "polling"
    """How updates arrive: long polling, or webhooks served by housedesk's HTTP server."""
    webhook_url: str | None = None
    """Webhook mode: the public URL of housedesk's HTTP server; the bots add
    ``/telegram/resident`` and ``/telegram/staff``."""
    webhook_secret: SecretStr | None = None
    """Webhook mode: checked on every request (``X-Telegram-Bot-Api-Secret-Token``);
    1-256 of ``A-Z a-z 0-9 _ -``."""
    redis_url: str | None = None
    """Keep conversation state in Redis (``redis://host:6379/0``) instead of the database."""
    resident_bot_username: str | None = None
    """For deep links and QR posters; asked from Telegram (getMe) when not set."""
    staff_bot_username: str | None = None
    """For invite links; asked from Telegram (getMe) when not set."""
    polling_timeout_s: int = Field(25, ge=1, le=50)
    """Long-polling wait per getUpdates request."""
    messages_per_second: int = Field(30, ge=1)
    """Messages each bot sends per second at most, answers and outbox together (Telegram
    allows about 30); each counts until a second after its request came back."""
    report_window_minutes: int = Field(10, ge=0)
    """How long after a report the resident's further messages join it."""
    reports_per_hour: int = Field(10, ge=1)
    """New requests one resident may open through the bot in an hour (emergencies are never
    refused); more get a polite answer."""
    update_max_attempts: int = Field(5, ge=1)
    """An update whose handling fails this many times (while the database answers) is
    quarantined: set aside for ``housedesk quarantine``, and the managers are told."""
    keep_handled_updates_days: int = Field(7, ge=1)
    update_lease_s: float = Field(30.0, ge=1, le=600)
    """A process claims stored updates for this long (renewed while it handles them): how long
    the updates a killed process had in hand wait before another process takes them."""
    """``housedesk gc`` deletes updates handled longer ago than this."""

    @field_validator("api_base", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_TOKEN.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_url_and_secret(self) -> TelegramSettings:
        if self.mode == "webhook" and (self.webhook_url is None or self.webhook_secret is None):
            raise ValueError("webhook mode needs webhook_url and webhook_secret")
        return self
