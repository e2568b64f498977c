import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from core.storage.models import PlanKind


class Migration(migrations.Migration):
    dependencies = [("models", "0002_invites_conversations_rating_comment")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Announcement",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "building",
                    fields.ForeignKeyField(
                        "models.Building",
                        source_field="building_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="announcements",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("text", fields.TextField(unique=False)),
                ("photo_sha256", fields.CharField(null=True, max_length=64)),
                (
                    "actor",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="actor_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="announcements",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("actor_label", fields.CharField(default="system", max_length=200)),
                (
                    "counts",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "announcement",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A message sent to every registered resident of a building, or of all buildings.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OpsMark",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("key", fields.CharField(unique=True, max_length=200)),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="ops_marks",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "ops_mark",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A scheduled action already taken (breach, reminder, nudge, digest), so it happens once.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RoutingPlan",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="routing_plans",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="DEFERRED: deferred\nDUTY: duty",
                        enum_type=PlanKind,
                        max_length=16,
                    ),
                ),
                (
                    "member_ids",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("step", fields.IntField(default=0)),
                ("escalate_after_minutes", fields.IntField(default=15)),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "next_at",
                    fields.DatetimeField(
                        null=True, db_index=True, auto_now=False, auto_now_add=False
                    ),
                ),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("outcome", fields.CharField(default="", max_length=32)),
            ],
            options={
                "table": "routing_plan",
                "app": "models",
                "pk_attr": "id",
                "table_description": "Automatic routing still to do for a ticket: opening hours to wait for, or a duty ladder.",
            },
            bases=["Model"],
        ),
    ]
