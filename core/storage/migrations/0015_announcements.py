"""Announcements: emergency or ordinary, scope, schedule and delivery counts (#18).

An announcement now has a kind (an emergency one always goes, and first), a status (a
draft waits for its sender's confirmation, then it is scheduled or sent), a scope within
its building (entrances, floors, flats), a time to go out, a resumable cursor, its own
timeline and an optional incident it is the public face of. Flats learn their entrance and
floor, so a scope can name them. Outbox rows remember their announcement, so its delivered
and failed messages can be counted afterwards. Announcements from before were sent at once
to a whole building: they read as ordinary, sent, and already reported to their senders.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from core.storage.models import AnnouncementKind, AnnouncementStatus


_REPORTED = 'UPDATE "announcement" SET "reported_at" = "created_at"'
"""Announcements from before were never counted: their senders are not told about them now."""


def _json(default: type, db_default: str) -> fields.JSONField:
    return fields.JSONField(
        default=default,
        db_default=db_default,
        encoder=functools.partial(dumps, separators=(",", ":")),
        decoder=loads,
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0014_incidents")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Unit", name="entrance", field=fields.CharField(null=True, max_length=16)
        ),
        ops.AddField(
            model_name="Unit", name="floor", field=fields.CharField(null=True, max_length=16)
        ),
        ops.AddField(
            model_name="Announcement",
            name="kind",
            field=fields.CharEnumField(
                default=AnnouncementKind.ORDINARY,
                db_default="ordinary",
                description="ORDINARY: ordinary\nEMERGENCY: emergency",
                enum_type=AnnouncementKind,
                max_length=16,
            ),
        ),
        ops.AddField(
            model_name="Announcement",
            name="status",
            field=fields.CharEnumField(
                default=AnnouncementStatus.DRAFT,
                db_default="sent",
                description="DRAFT: draft\nSCHEDULED: scheduled\nSENDING: sending\nSENT: sent\n"
                "CANCELLED: cancelled",
                enum_type=AnnouncementStatus,
                max_length=16,
            ),
        ),
        ops.AddField(model_name="Announcement", name="scope", field=_json(dict, "{}")),
        ops.AddField(
            model_name="Announcement",
            name="send_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Announcement",
            name="sent_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="Announcement", name="cursor", field=fields.IntField(default=0, db_default=0)
        ),
        ops.AddField(model_name="Announcement", name="history", field=_json(list, "[]")),
        ops.AddField(
            model_name="Announcement",
            name="incident",
            field=fields.ForeignKeyField(
                "models.Incident",
                source_field="incident_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="announcements",
                on_delete=OnDelete.SET_NULL,
            ),
        ),
        ops.AddField(
            model_name="Announcement",
            name="reported_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(model_name="Announcement", index=Index(fields=["status", "send_at"])),
        ops.RunSQL(_REPORTED, reverse_sql=ops.RunSQL.noop),
        ops.AddField(
            model_name="OutboxMessage", name="announcement_id", field=fields.IntField(null=True)
        ),
        ops.AddIndex(model_name="OutboxMessage", index=Index(fields=["announcement_id", "status"])),
    ]
