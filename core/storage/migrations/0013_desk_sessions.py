"""The dispatcher's desk (#17): staff sign-in sessions (``desk_session``) and single-use
sign-in links (``desk_link``), both stored as the sha256 of their secret; indexes that let
the desk's journal read a building's, a status's, an assignee's or a category's tickets newest
first without reading every ticket; and a trigram index of titles and descriptions for its
text search (SQLite: an FTS5 table kept by triggers; PostgreSQL: pg_trgm GIN indexes)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from core.storage.migration_ops import PerDialectSQL


def _person(related_name: str) -> fields.ForeignKeyField:
    return fields.ForeignKeyField(
        "models.Person",
        source_field="person_id",
        db_constraint=True,
        to_field="id",
        related_name=related_name,
        on_delete=OnDelete.CASCADE,
    )


def _id() -> fields.IntField:
    return fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)


def _at(null: bool = False) -> fields.DatetimeField:
    return fields.DatetimeField(null=null, auto_now=False, auto_now_add=False)


_ROW = "(rowid, title, description) VALUES (new.id, new.title, new.description)"
_GONE = (
    "(ticket_text, rowid, title, description) VALUES ('delete', old.id, old.title, old.description)"
)
TEXT_INDEX = {
    "sqlite": [
        "CREATE VIRTUAL TABLE ticket_text USING fts5(title, description, content='ticket',"
        " content_rowid='id', tokenize='trigram')",
        "INSERT INTO ticket_text(ticket_text) VALUES ('rebuild')",
        f"CREATE TRIGGER ticket_text_insert AFTER INSERT ON ticket BEGIN"
        f" INSERT INTO ticket_text{_ROW}; END",
        f"CREATE TRIGGER ticket_text_delete AFTER DELETE ON ticket BEGIN"
        f" INSERT INTO ticket_text{_GONE}; END",
        f"CREATE TRIGGER ticket_text_update AFTER UPDATE OF title, description ON ticket BEGIN"
        f" INSERT INTO ticket_text{_GONE}; INSERT INTO ticket_text{_ROW}; END",
    ],
    "postgres": [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        'CREATE INDEX "idx_ticket_title_trgm" ON "ticket" USING gin ("title" gin_trgm_ops)',
        'CREATE INDEX "idx_ticket_description_trgm" ON "ticket"'
        ' USING gin ("description" gin_trgm_ops)',
    ],
}
NO_TEXT_INDEX = {
    "sqlite": [
        "DROP TRIGGER ticket_text_update",
        "DROP TRIGGER ticket_text_delete",
        "DROP TRIGGER ticket_text_insert",
        "DROP TABLE ticket_text",
    ],
    "postgres": [
        'DROP INDEX "idx_ticket_description_trgm"',
        'DROP INDEX "idx_ticket_title_trgm"',
    ],
}


class Migration(migrations.Migration):
    dependencies = [("models", "0012_emergency_instructions_i18n")]

    initial = False

    operations = [
        ops.CreateModel(
            name="DeskSession",
            fields=[
                ("id", _id()),
                ("person", _person("desk_sessions")),
                ("token_sha256", fields.CharField(unique=True, max_length=64)),
                ("via", fields.CharField(max_length=16)),
                ("created_at", _at()),
                ("expires_at", _at()),
                ("ended_at", _at(null=True)),
            ],
            options={
                "table": "desk_session",
                "app": "models",
                "indexes": [Index(fields=["person_id"])],
                "pk_attr": "id",
                "table_description": "A member of staff signed in to the dispatcher's desk.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DeskLink",
            fields=[
                ("id", _id()),
                ("person", _person("desk_links")),
                ("code_sha256", fields.CharField(unique=True, max_length=64)),
                ("created_at", _at()),
                ("expires_at", _at()),
                ("used_at", _at(null=True)),
            ],
            options={
                "table": "desk_link",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A single-use, short-lived sign-in link to the desk.",
            },
            bases=["Model"],
        ),
        ops.AddIndex(model_name="Ticket", index=Index(fields=["building_id", "created_at"])),
        ops.AddIndex(model_name="Ticket", index=Index(fields=["status", "created_at"])),
        ops.AddIndex(model_name="Ticket", index=Index(fields=["assignee_id", "created_at"])),
        ops.AddIndex(model_name="Ticket", index=Index(fields=["category_id", "created_at"])),
        PerDialectSQL(TEXT_INDEX, NO_TEXT_INDEX),
    ]
