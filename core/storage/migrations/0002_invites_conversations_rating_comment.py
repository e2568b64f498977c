import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ConversationState",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("key", fields.CharField(unique=True, max_length=255)),
                ("state", fields.CharField(null=True, max_length=255)),
                (
                    "data",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "conversation_state",
                "app": "models",
                "pk_attr": "id",
                "table_description": "Where a chat is in a bot conversation, kept across restarts (aiogram FSM storage).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StaffInvite",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "person",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="invites",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("code_sha256", fields.CharField(unique=True, max_length=64)),
                ("expires_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "staff_invite",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A one-time, expiring code that links a Telegram account to a member of staff.",
            },
            bases=["Model"],
        ),
        ops.AddIndex(
            model_name="OutboxMessage",
            index=Index(fields=["status", "next_attempt_at"]),
        ),
        ops.AddField(
            model_name="Ticket",
            name="rating_comment",
            field=fields.TextField(default="", db_default="", unique=False),
        ),
    ]
