"""Attachments in PostgreSQL: content-addressed chunks (#19).

Processes on separate machines share one PostgreSQL database; with ``[blobs] store =
"postgres"`` they share the attachments too (``core.storage.blobs.postgres``): a ``blob``
row per digest (NULL while its one transaction writes it) and its bytes in ``blob_chunk``
rows of 256 KiB. The tables exist only on PostgreSQL: on SQLite that store is refused, so
SQLite databases are left as they are. No tortoise model maps them: the store reads and
writes its chunks with plain SQL, a few at a time.
"""

from __future__ import annotations

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_CREATE = """
CREATE TABLE "blob" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "sha256" CHAR(64) UNIQUE,
    "size" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL
);
CREATE TABLE "blob_chunk" (
    "blob_id" BIGINT NOT NULL REFERENCES "blob" ("id") ON DELETE CASCADE,
    "seq" INT NOT NULL,
    "data" BYTEA NOT NULL,
    PRIMARY KEY ("blob_id", "seq")
);
"""
_DROP = 'DROP TABLE "blob_chunk"; DROP TABLE "blob";'


async def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.DIALECT == "postgres":
        await schema_editor.client.execute_script(_CREATE)


async def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.DIALECT == "postgres":
        await schema_editor.client.execute_script(_DROP)


class Migration(migrations.Migration):
    dependencies = [("models", "0015_announcements")]

    initial = False

    operations = [ops.RunPython(_create, _drop)]
