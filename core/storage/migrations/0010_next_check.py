"""Tickets carry ``next_check_at``, when the scheduler next looks at their deadlines, so a
round reads only the tickets due (through an index) instead of every open one; and
newest-first lists get an index on ``created_at``.

Open tickets that still owe a response or a resolution get their creation time: the first
round after the upgrade looks at each of them once, in batches, and writes its precise next
check (which depends on the configured reminder and nudge intervals). Every other ticket
has none.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_OWED = (
    'UPDATE "ticket" SET "next_check_at" = "created_at"'
    " WHERE \"status\" IN ('new', 'in_progress', 'on_hold', 'reopened')"
    ' AND "resolved_at" IS NULL'
    ' AND ("due_at" IS NOT NULL'
    ' OR ("response_due_at" IS NOT NULL AND "first_response_at" IS NULL))'
)


class Migration(migrations.Migration):
    dependencies = [("models", "0009_outbox_lanes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Ticket",
            name="next_check_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(model_name="Ticket", index=Index(fields=["next_check_at"])),
        ops.AddIndex(model_name="Ticket", index=Index(fields=["created_at"])),
        ops.RunSQL(_OWED, reverse_sql=ops.RunSQL.noop),
    ]
