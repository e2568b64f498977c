"""Chat updates are stored before they are confirmed (``inbound_update``), and attachments
are indexed by blob digest, so ``housedesk gc`` asks cheaply whether a blob is in use."""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0007_message_routes")]

    initial = False

    operations = [
        ops.CreateModel(
            name="InboundUpdate",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("bot", fields.CharField(max_length=32)),
                ("update_id", fields.BigIntField()),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("last_error", fields.TextField(default="", unique=False)),
                ("received_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("next_attempt_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "handled_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "quarantined_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "inbound_update",
                "app": "models",
                "unique_together": (("bot", "update_id"),),
                "pk_attr": "id",
                "table_description": "An update a chat bot received, stored before it is "
                "confirmed and handled from here.",
            },
            bases=["Model"],
        ),
        ops.AddIndex(
            model_name="InboundUpdate",
            index=Index(fields=["bot", "handled_at", "next_attempt_at"]),
        ),
        ops.AddIndex(
            model_name="Attachment",
            index=Index(fields=["sha256"]),
        ),
    ]
