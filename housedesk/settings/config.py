"""Configuration: a TOML file overridden by ``HOUSEDESK_<SECTION>__<KEY>`` variables.

Validated by pydantic-settings. An unknown key or a bad value is a :class:`ConfigError`
naming the key; an environment variable with our prefix that names no key is warned about.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from housedesk.settings.blobs import BlobSettings
from housedesk.settings.operations import OperationsSettings
from housedesk.settings.paths import anchored
from housedesk.settings.retention import RetentionSettings
from housedesk.settings.telegram import TelegramSettings

ENV_PREFIX = "HOUSEDESK_"
ENV_CONFIG_FILE = "HOUSEDESK_CONFIG"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key."""


class Section(BaseModel):
    """A config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(Section):
    """``[database]``"""

    url: str = "sqlite://data/housedesk.sqlite3"
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"


class StorageSettings(Section):
    """``[storage]``"""

    data_dir: Path = Path("data")
    blob_grace_hours: float = Field(24.0, gt=0)

    @property
    def blobs_dir(self) -> Path:
        """Where attachments are kept."""
        return self.data_dir / "blobs"

    @property
    def speech_models_dir(self) -> Path:
        """Where ``housedesk speech fetch`` installs models."""
        return self.data_dir / "speech_models"


class HttpSettings(Section):
    """``[http]``"""

    listen: str = "127.0.0.1:8080"


class DeskSettings(Section):
    """``[desk]``: the dispatcher's desk under ``/desk`` on housedesk's HTTP server."""

    public_url: str = ""
    """The desk's address as staff reach it (``https://desk.example/desk``); the staff bot's
    menu button and sign-in links point there. Empty: the bot offers no desk."""
    session_hours: float = Field(12.0, gt=0)
    link_minutes: float = Field(10.0, gt=0, le=60)
    """How long a sign-in link from the staff bot may wait before it is used (once)."""
    launch_max_age_s: int = Field(300, ge=10, le=86400)
    """Launch data the chat app signed longer ago than this is refused."""


class LaneSettings(Section):
    """``[outbox.lanes.<route>]``: how many sends of one route run at once, and how long one
    may take (defaults: chat 4 and 60 s, email 2 and 120 s)."""

    concurrency: int | None = Field(None, ge=1, le=64)
    send_timeout_s: float | None = Field(None, gt=0)


class OutboxSettings(Section):
    """``[outbox]``"""

    poll_interval_s: float = Field(5.0, gt=0)
    batch_size: int = Field(20, ge=1)
    max_attempts: int = Field(8, ge=1)
    base_delay_s: float = Field(5.0, gt=0)
    max_delay_s: float = Field(3600.0, gt=0)
    lease_s: float = Field(30.0, gt=0)
    lanes: dict[Literal["resident_chat", "staff_chat", "email"], LaneSettings] = {}
    keep_sent_days: int = Field(30, ge=1)


class ServiceSettings(Section):
    """``[service]``"""

    name: str = "housedesk"
    default_language: str = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ImapSettings(Section):
    """``[email.imap]``: poll an existing mailbox."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "plain"] = "ssl"
    user: str = ""
    password: str = ""
    folder: str = "INBOX"
    poll_interval_s: float = Field(60.0, gt=0)
    processed_folder: str | None = None
    rejected_folder: str | None = None


class OutgoingMailSettings(Section):
    """``[email.outgoing]``: the relay housedesk sends through."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    starttls: bool = False
    ssl: bool = False
    user: str | None = None
    password: str | None = None
    from_address: str | None = None
    timeout_s: float = Field(30.0, gt=0)


class EmailSettings(Section):
    """``[email]``"""

    help_address: str = "help@housedesk.localhost"
    smtp_enabled: bool = True
    smtp_listen: str = "127.0.0.1:2525"
    accept_domains: list[str] = []
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    default_category: str = "technical"
    reopen_window_days: int = Field(14, ge=0)
    acks_per_sender_per_hour: int = Field(5, ge=0)
    tickets_per_sender_per_hour: int = Field(10, ge=1)
    max_attachments: int = Field(20, ge=1)
    max_mime_parts: int = Field(500, ge=10)
    note_address: str = ""
    link_base_url: str = ""
    link_secret: str = ""
    authentication: Literal["trusted-mta", "verify", "none"] = "trusted-mta"
    authserv_id: str = ""
    quarantine_after: int = Field(5, ge=1)
    """Failures of one mail, the same way in a row, before it is set aside for an operator
    (``housedesk quarantine``) and answered as accepted."""
    imap: ImapSettings = ImapSettings()
    outgoing: OutgoingMailSettings = OutgoingMailSettings()


class SpeechSettings(Section):
    """``[speech]``: offline transcription with Vosk."""

    models_dir: Path | None = None
    workers: int = Field(2, ge=1, le=16)
    default_language: str | None = None
    max_duration_s: float = Field(600.0, gt=0)


class VoicemailSettings(Section):
    """``[voicemail]``: where PBX recordings come from."""

    http_token: str = ""
    max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    drop_folder: Path | None = None
    poll_interval_s: float = Field(5.0, gt=0)
    default_category: str = "technical"


class ClusterSettings(Section):
    """``[cluster]``: several ``housedesk run`` processes on one PostgreSQL database."""

    node_id: str = Field("", max_length=64)
    """This process's name in the cluster (``housedesk status``); empty: host, pid and a
    random suffix."""
    leader_check_s: float = Field(5.0, gt=0, le=30)
    """How often a process tries to take the lead of jobs nobody leads, and says it is alive."""


class PbxSettings(Section):
    """``[pbx]``: ``GET /api/pbx/status``, what a PBX's voice menu says to a caller."""

    status_token: str = ""
    espeak_binary: str = "espeak-ng"


class Settings(BaseSettings):
    """Everything housedesk can be told."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    service: ServiceSettings = ServiceSettings()
    database: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    blobs: BlobSettings = BlobSettings()
    http: HttpSettings = HttpSettings()
    outbox: OutboxSettings = OutboxSettings()
    email: EmailSettings = EmailSettings()
    speech: SpeechSettings = SpeechSettings()
    voicemail: VoicemailSettings = VoicemailSettings()
    pbx: PbxSettings = PbxSettings()
    telegram: TelegramSettings = TelegramSettings()
    desk: DeskSettings = DeskSettings()
    operations: OperationsSettings = OperationsSettings()
    retention: RetentionSettings = RetentionSettings()
    cluster: ClusterSettings = ClusterSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment variables win over the file's values (passed as init values)."""
        return env_settings, init_settings


def _split_listen(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"bad listen address {value!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def listen_address(value: str) -> tuple[str, int]:
    """Split ``HOST:PORT``."""
    return _split_listen(value)


def _known_env_names(model: type[BaseModel], prefix: str) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        full = f"{prefix}{name.upper()}"
        names.add(full)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _known_env_names(annotation, f"{full}__")
    return names


def unknown_env_variables(environ: dict[str, str] | None = None) -> list[str]:
    """``HOUSEDESK_*`` variables that name no configuration key."""
    env = os.environ if environ is None else environ
    known = _known_env_names(Settings, ENV_PREFIX) | {ENV_CONFIG_FILE}
    return sorted(
        name for name in env if name.upper().startswith(ENV_PREFIX) and name.upper() not in known
    )


def _format_error(error: ValidationError) -> str:
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"unknown configuration key: {key}"
    return f"bad value for {key}: {first['msg']}"


def load_settings(path: Path | str | None = None) -> Settings:
    """Read the TOML file (``path``, else ``$HOUSEDESK_CONFIG``, else defaults) and the env."""
    chosen = path or os.environ.get(ENV_CONFIG_FILE)
    data: dict[str, Any] = {}
    if chosen:
        file = Path(chosen)
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {file}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"config file {file} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None
    return anchored(settings, Path(chosen).resolve().parent) if chosen else settings
