"""A building's emergency instructions per language: ``{"en": ..., "ru": ...}``.

The one text a building had is kept as the instructions in the building's own language.
Going back keeps the text in the building's language (else English, else any one).
SQLite drops the old column in place: the schema editor's way, copying the table, fails on
the rows that refer to their building.
"""

from __future__ import annotations

import functools
import json
from json import dumps, loads
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_OLD = "emergency_instructions_text"


async def _to_languages(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = schema_editor.DIALECT != "sqlite"
    rows = await client.execute_query_dict(
        f'SELECT "id", "language", "{_OLD}" AS "text" FROM "building"'
    )
    update = (
        'UPDATE "building" SET "emergency_instructions" = ($1::text)::jsonb WHERE "id" = $2'
        if postgres
        else 'UPDATE "building" SET "emergency_instructions" = ? WHERE "id" = ?'
    )
    for row in rows:
        if row["text"]:
            texts = {row["language"] or "en": row["text"]}
            await client.execute_query(update, [json.dumps(texts), row["id"]])


async def _to_one_text(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = schema_editor.DIALECT != "sqlite"
    rows = await client.execute_query_dict(
        'SELECT "id", "language", "emergency_instructions" AS "texts" FROM "building"'
    )
    update = (
        f'UPDATE "building" SET "{_OLD}" = $1 WHERE "id" = $2'
        if postgres
        else f'UPDATE "building" SET "{_OLD}" = ? WHERE "id" = ?'
    )
    for row in rows:
        stored = row["texts"]
        texts = json.loads(stored) if isinstance(stored, str) else stored or {}
        text = texts.get(row["language"]) or texts.get("en") or next(iter(texts.values()), "")
        if text:
            await client.execute_query(update, [text, row["id"]])


class _DropOldText(ops.RemoveField):
    """Remove the old text column; on SQLite with ``ALTER TABLE … DROP COLUMN``."""

    def __init__(self) -> None:
        super().__init__(model_name="Building", name=_OLD)

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT == "sqlite":
            await state_editor.client.execute_script(f'ALTER TABLE "building" DROP COLUMN "{_OLD}"')
        else:
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT == "sqlite":
            await state_editor.client.execute_script(
                f'ALTER TABLE "building" ADD COLUMN "{_OLD}" TEXT NOT NULL DEFAULT \'\''
            )
        else:
            await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [("models", "0011_resident_verification")]

    initial = False

    operations = [
        ops.RenameField(model_name="Building", old_name="emergency_instructions", new_name=_OLD),
        ops.AddField(
            model_name="Building",
            name="emergency_instructions",
            field=fields.JSONField(
                default=dict,
                db_default="{}",
                encoder=functools.partial(dumps, separators=(",", ":")),
                decoder=loads,
            ),
        ),
        ops.RunPython(_to_languages, _to_one_text),
        _DropOldText(),
    ]
