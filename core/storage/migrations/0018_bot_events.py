"""Merges are timeline events of their own (``merged``), no longer ``routing`` events.

A merge used to leave a ``routing`` event with ``decision: merge`` on the surviving ticket;
those rows become ``merged`` events (and back on the way down), so the followers of a
merged ticket are found by type alone. The enum's description changes on PostgreSQL (its
column comment); SQLite keeps no column comments.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from core.storage.migration_ops import AlterDescription
from core.storage.models import EventType

_MERGES = {
    "sqlite": (
        'UPDATE "ticket_event" SET "type" = \'{new}\''
        " WHERE \"type\" = '{old}' AND json_extract(\"data\", '$.decision') = 'merge'"
    ),
    "postgres": (
        'UPDATE "ticket_event" SET "type" = \'{new}\''
        " WHERE \"type\" = '{old}' AND \"data\"::jsonb ->> 'decision' = 'merge'"
    ),
}


async def _retype(schema_editor: Any, old: str, new: str) -> None:
    sql = _MERGES[schema_editor.DIALECT]
    await schema_editor.client.execute_script(sql.format(old=old, new=new))


async def _merges_forward(apps: Any, schema_editor: Any) -> None:
    await _retype(schema_editor, "routing", "merged")


async def _merges_backward(apps: Any, schema_editor: Any) -> None:
    await _retype(schema_editor, "merged", "routing")


class Migration(migrations.Migration):
    dependencies = [("models", "0017_cluster")]

    initial = False

    operations = [
        AlterDescription(
            model_name="TicketEvent",
            name="type",
            field=fields.CharEnumField(
                description="CREATED: created\nPUBLIC_REPLY: public_reply\n"
                "INTERNAL_NOTE: internal_note\nSTATUS_CHANGED: status_changed\n"
                "ASSIGNED: assigned\nATTACHMENT: attachment\nRATING: rating\n"
                "DEADLINE_BREACH: deadline_breach\nNOTIFICATION_SENT: notification_sent\n"
                "NOTIFICATION_FAILED: notification_failed\nROUTING: routing\nMERGED: merged",
                enum_type=EventType,
                max_length=32,
            ),
        ),
        ops.RunPython(_merges_forward, _merges_backward),
    ]
