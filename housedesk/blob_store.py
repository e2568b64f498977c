"""The blob store ``[blobs] store`` names, built from settings."""

from __future__ import annotations

from core.storage.blobs import BlobStore
from core.storage.blobs.fallback import WithFallback
from core.storage.blobs.local import LocalBlobStore
from core.storage.blobs.postgres import PostgresBlobStore
from housedesk.settings.config import ConfigError, Settings

STORES = ("local", "postgres", "s3")


def open_blob_store(settings: Settings) -> BlobStore:
    """The configured store; a shared one also reads what is left in the local directory
    (blobs written there before ``housedesk blobs migrate`` moved them)."""
    store = named_store(settings, settings.blobs.store)
    previous = previous_store(settings)
    return store if previous is None else WithFallback(store, previous)


def previous_store(settings: Settings) -> LocalBlobStore | None:
    """The local directory a shared store replaced; None when the local store is in use."""
    if settings.blobs.store == "local":
        return None
    return LocalBlobStore(settings.storage.blobs_dir)


def named_store(settings: Settings, name: str) -> BlobStore:
    """The store called ``name``, as configured; :class:`ConfigError` when it cannot work."""
    if name == "local":
        return LocalBlobStore(settings.storage.blobs_dir)
    if name == "postgres":
        if not settings.database.url.startswith("postgres"):
            raise ConfigError(
                'blobs.store = "postgres" needs a PostgreSQL database (database.url); '
                'with SQLite keep store = "local"'
            )
        return PostgresBlobStore()
    if name == "s3":
        s3 = settings.blobs.s3
        if not s3.bucket:
            raise ConfigError('blobs.store = "s3" needs blobs.s3.bucket')
        # Imported here: aioboto3 takes a good part of a second to load, and every process
        # and command would pay it for a store it does not use.
        from core.storage.blobs.s3 import S3BlobStore, S3Location

        location = S3Location(
            bucket=s3.bucket,
            endpoint_url=s3.endpoint_url or None,
            region=s3.region,
            prefix=s3.prefix,
            access_key_id=s3.access_key_id or None,
            secret_access_key=s3.secret_access_key.get_secret_value() or None,
            addressing_style=s3.addressing_style,
        )
        return S3BlobStore(location, scratch=settings.storage.data_dir)
    raise ConfigError(f"unknown blob store {name!r}: choose one of {', '.join(STORES)}")
