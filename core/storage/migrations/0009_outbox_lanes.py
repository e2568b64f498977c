"""Outbox lanes: each row has a ``priority`` (lower goes first), and the claim query of a
lane (one route) finds its due rows through an index in the order it sends them.

The index ``(status, channel, priority, next_attempt_at)`` replaces ``(status,
next_attempt_at)``: every claim names its route, and every other look-up of pending rows
that starts with ``status`` still uses the new index's first column. ``(channel, recipient,
status)`` answers the claim's question whether a recipient has an earlier row or one in
flight. Rows already queued get the default priority, the one of an ordinary notification.
"""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0008_inbound_updates")]

    initial = False

    operations = [
        ops.AddField(
            model_name="OutboxMessage",
            name="priority",
            field=fields.SmallIntField(default=5, db_default=5),
        ),
        ops.RemoveIndex(model_name="OutboxMessage", fields=["status", "next_attempt_at"]),
        ops.AddIndex(
            model_name="OutboxMessage",
            index=Index(fields=["status", "channel", "priority", "next_attempt_at"]),
        ),
        ops.AddIndex(
            model_name="OutboxMessage",
            index=Index(fields=["channel", "recipient", "status"]),
        ),
    ]
