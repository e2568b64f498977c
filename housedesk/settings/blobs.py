"""``[blobs]``: where attachments are stored."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr


class S3Settings(BaseModel):
    """``[blobs.s3]``: an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...)."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str = ""
    """The S3 API's URL; empty: AWS (the region's endpoint)."""
    region: str = "us-east-1"
    bucket: str = ""
    prefix: str = "housedesk/blobs/"
    """Every key starts with this, so the bucket may hold other things too."""
    access_key_id: str = ""
    """Empty: the usual AWS sources (environment, instance profile)."""
    secret_access_key: SecretStr = SecretStr("")
    """In practice from ``HOUSEDESK_BLOBS__S3__SECRET_ACCESS_KEY``; never logged."""
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    """``path`` for most self-hosted servers (MinIO), ``auto`` for AWS."""


class BlobSettings(BaseModel):
    """``[blobs]``; unknown keys are errors (like ``housedesk.settings.config.Section``)."""

    model_config = ConfigDict(extra="forbid")

    store: Literal["local", "postgres", "s3"] = "local"
    """``local``: files under ``[storage] data_dir``/blobs; ``postgres``: in the database
    (PostgreSQL only); ``s3``: in the bucket of ``[blobs.s3]``."""
    s3: S3Settings = S3Settings()
