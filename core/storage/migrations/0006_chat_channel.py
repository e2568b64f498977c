"""Channel-neutral names: a chat account is ``chat``, no longer ``telegram``.

``ContactKind.CHAT`` and ``Channel.CHAT`` (an account on the chat platform the bots run on)
replace the Telegram-named members. Stored rows follow: ``contact.kind``, ``ticket.channel``
and the ``channel`` a ticket's ``created`` event records. The column descriptions change on
PostgreSQL (its column comments); SQLite keeps no column comments, and its AlterField would
rebuild the table, so there only the model state moves.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from core.storage.migration_ops import AlterDescription
from core.storage.models import Channel, ContactKind

_RENAME_ROWS = [
    ('UPDATE "contact" SET "kind" = \'chat\' WHERE "kind" = \'telegram\''),
    ('UPDATE "ticket" SET "channel" = \'chat\' WHERE "channel" = \'telegram\''),
]
_UNRENAME_ROWS = [
    ('UPDATE "contact" SET "kind" = \'telegram\' WHERE "kind" = \'chat\''),
    ('UPDATE "ticket" SET "channel" = \'telegram\' WHERE "channel" = \'chat\''),
]
_EVENT_CHANNEL = {
    "sqlite": (
        'UPDATE "ticket_event" SET "data" = json_set("data", \'$.channel\', \'{new}\')'
        " WHERE \"type\" = 'created' AND json_extract(\"data\", '$.channel') = '{old}'"
    ),
    "postgres": (
        'UPDATE "ticket_event" SET "data" = jsonb_set("data"::jsonb, \'{{channel}}\','
        " '\"{new}\"')"
        " WHERE \"type\" = 'created' AND \"data\"::jsonb ->> 'channel' = '{old}'"
    ),
}


async def _event_channel(schema_editor: Any, old: str, new: str) -> None:
    sql = _EVENT_CHANNEL[schema_editor.DIALECT]
    await schema_editor.client.execute_script(sql.format(old=old, new=new))


async def _events_forward(apps: Any, schema_editor: Any) -> None:
    await _event_channel(schema_editor, "telegram", "chat")


async def _events_backward(apps: Any, schema_editor: Any) -> None:
    await _event_channel(schema_editor, "chat", "telegram")


class Migration(migrations.Migration):
    dependencies = [("models", "0005_ticket_version")]

    initial = False

    operations = [
        ops.RunSQL(_RENAME_ROWS, reverse_sql=_UNRENAME_ROWS),
        ops.RunPython(_events_forward, _events_backward),
        AlterDescription(
            model_name="Contact",
            name="kind",
            field=fields.CharEnumField(
                description="CHAT: chat\nEMAIL: email\nPHONE: phone",
                enum_type=ContactKind,
                max_length=16,
            ),
        ),
        AlterDescription(
            model_name="Ticket",
            name="channel",
            field=fields.CharEnumField(
                description="CHAT: chat\nEMAIL: email\nVOICEMAIL: voicemail\nPHONE: phone\nCLI: cli",
                enum_type=Channel,
                max_length=16,
            ),
        ),
    ]
