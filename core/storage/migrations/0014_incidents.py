"""Incidents (#18): an outage or planned shut-off (``incident``), the buildings it affects
(``incident_area``, optionally only some flats), the residents whose reports it absorbed
(``incident_link``) and its own timeline (``incident_event``). New tables only: nothing
stored before changes.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from core.storage.models import Channel, IncidentKind, IncidentStatus, LinkStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0013_desk_sessions")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Incident",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="EMERGENCY: emergency\nPLANNED: planned",
                        enum_type=IncidentKind,
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=IncidentStatus.ACTIVE,
                        description="SCHEDULED: scheduled\nACTIVE: active\nRESOLVED: resolved",
                        enum_type=IncidentStatus,
                        max_length=16,
                    ),
                ),
                (
                    "category",
                    fields.ForeignKeyField(
                        "models.Category",
                        source_field="category_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="incidents",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("title", fields.CharField(max_length=200)),
                (
                    "texts",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "keywords",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("starts_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "expected_end_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="incidents",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "opened_by",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="opened_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="incidents_opened",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("opened_by_label", fields.CharField(default="system", max_length=200)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("version", fields.IntField(default=1)),
            ],
            options={
                "table": "incident",
                "app": "models",
                "indexes": [Index(fields=["status", "starts_at"])],
                "pk_attr": "id",
                "table_description": "An outage or planned shut-off that absorbs the reports of the buildings it affects.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IncidentArea",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="areas",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "building",
                    fields.ForeignKeyField(
                        "models.Building",
                        source_field="building_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="incident_areas",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "flats",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "incident_area",
                "app": "models",
                "unique_together": (("incident", "building"),),
                "indexes": [Index(fields=["building_id"])],
                "pk_attr": "id",
                "table_description": "A building an incident affects: all of it, or only the flats listed.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IncidentEvent",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("type", fields.CharField(max_length=32)),
                ("text", fields.TextField(default="", unique=False)),
                (
                    "actor",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="actor_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="incident_events",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("actor_label", fields.CharField(default="system", max_length=200)),
                (
                    "data",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "incident_event",
                "app": "models",
                "indexes": [Index(fields=["incident_id", "at"])],
                "pk_attr": "id",
                "table_description": "One row of the timeline of an incident: who did what, when.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IncidentLink",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "incident",
                    fields.ForeignKeyField(
                        "models.Incident",
                        source_field="incident_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "person",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="incident_links",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "channel",
                    fields.CharEnumField(
                        description="CHAT: chat\nEMAIL: email\nVOICEMAIL: voicemail\nPHONE: phone\nCLI: cli",
                        enum_type=Channel,
                        max_length=16,
                    ),
                ),
                ("text", fields.TextField(default="", unique=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default=LinkStatus.LINKED,
                        description="LINKED: linked\nUNLINKED: unlinked\nREOPENED: reopened",
                        enum_type=LinkStatus,
                        max_length=16,
                    ),
                ),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="incident_links",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "incident_link",
                "app": "models",
                "unique_together": (("incident", "person"),),
                "pk_attr": "id",
                "table_description": "A resident who reported an incident: told its news instead of getting a ticket.",
            },
            bases=["Model"],
        ),
    ]
