"""Tickets carry a version, so a change made on a stale copy is refused, not written over."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0004_lookup_indexes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Ticket",
            name="version",
            field=fields.IntField(default=1, db_default=1),
        ),
    ]
