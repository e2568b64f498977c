import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from core.storage.models import Channel, ContactKind, EventType, OutboxStatus, Role, Status


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Building",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=32)),
                ("name", fields.CharField(max_length=200)),
                ("address", fields.CharField(default="", max_length=300)),
                ("timezone", fields.CharField(default="UTC", max_length=64)),
                ("language", fields.CharField(default="en", max_length=8)),
                ("phone", fields.CharField(null=True, max_length=32)),
                ("duty_phone", fields.CharField(null=True, max_length=32)),
                ("emergency_instructions", fields.TextField(default="", unique=False)),
                ("zone", fields.CharField(null=True, max_length=64)),
                (
                    "hours",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "holidays",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "building",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A building (or estate) residents report from.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Category",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("code", fields.CharField(unique=True, max_length=32)),
                (
                    "names",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("priority", fields.IntField(default=3)),
                ("emergency", fields.BooleanField(default=False)),
                ("response_minutes", fields.IntField(null=True)),
                ("resolution_minutes", fields.IntField(null=True)),
                ("business_hours", fields.BooleanField(default=False)),
                ("trade", fields.CharField(null=True, max_length=64)),
            ],
            options={
                "table": "category",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A kind of request with its priority and deadlines.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="DutyRoster",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(unique=True, max_length=100)),
                (
                    "building",
                    fields.ForeignKeyField(
                        "models.Building",
                        source_field="building_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="rosters",
                        on_delete=OnDelete.CASCADE,
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
                ("escalate_after_minutes", fields.IntField(default=15)),
            ],
            options={
                "table": "duty_roster",
                "app": "models",
                "pk_attr": "id",
                "table_description": "An ordered after-hours duty list, for one building or for all (``building`` null).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="StaffChat",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("chat_id", fields.BigIntField(unique=True)),
                ("title", fields.CharField(default="", max_length=200)),
                (
                    "building",
                    fields.ForeignKeyField(
                        "models.Building",
                        source_field="building_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="staff_chats",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("trade", fields.CharField(null=True, max_length=64)),
            ],
            options={
                "table": "staff_chat",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A Telegram group that receives the work of a trade and/or building.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Unit",
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
                        db_constraint=True,
                        to_field="id",
                        related_name="units",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("number", fields.CharField(max_length=32)),
            ],
            options={
                "table": "unit",
                "app": "models",
                "unique_together": (("building", "number"),),
                "pk_attr": "id",
                "table_description": "A flat or premises in a building.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Person",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("name", fields.CharField(max_length=200)),
                (
                    "role",
                    fields.CharEnumField(
                        default=Role.RESIDENT,
                        description="RESIDENT: resident\nTECHNICIAN: technician\nDISPATCHER: dispatcher\nMANAGER: manager\nADMIN: admin",
                        enum_type=Role,
                        max_length=16,
                    ),
                ),
                ("language", fields.CharField(null=True, max_length=8)),
                (
                    "trades",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                (
                    "work_hours",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("active", fields.BooleanField(default=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "buildings",
                    fields.ManyToManyField(
                        "models.Building",
                        unique=True,
                        db_constraint=True,
                        through="staff_building",
                        forward_key="building_id",
                        backward_key="person_id",
                        related_name="staff",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "units",
                    fields.ManyToManyField(
                        "models.Unit",
                        unique=True,
                        db_constraint=True,
                        through="residency",
                        forward_key="unit_id",
                        backward_key="person_id",
                        related_name="residents",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
            ],
            options={
                "table": "person",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A resident or a member of staff.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Absence",
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
                        related_name="absences",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(default="vacation", max_length=16)),
                ("starts", fields.DateField()),
                ("ends", fields.DateField()),
            ],
            options={
                "table": "absence",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A period a member of staff is away (vacation, sick leave).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Contact",
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
                        related_name="contacts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "kind",
                    fields.CharEnumField(
                        description="TELEGRAM: telegram\nEMAIL: email\nPHONE: phone",
                        enum_type=ContactKind,
                        max_length=16,
                    ),
                ),
                ("value", fields.CharField(max_length=255)),
                ("blocked", fields.BooleanField(default=False)),
            ],
            options={
                "table": "contact",
                "app": "models",
                "unique_together": (("kind", "value"),),
                "pk_attr": "id",
                "table_description": "A way to recognise and reach a person (Telegram user id, email, phone).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Ticket",
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
                        related_name="tickets",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "unit",
                    fields.ForeignKeyField(
                        "models.Unit",
                        source_field="unit_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="tickets",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "requester",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="requester_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="requested",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "category",
                    fields.ForeignKeyField(
                        "models.Category",
                        source_field="category_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tickets",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "assignee",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="assignee_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="assigned",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "linked_to",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="linked_to_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="follow_ups",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("priority", fields.IntField(default=3)),
                (
                    "channel",
                    fields.CharEnumField(
                        description="TELEGRAM: telegram\nEMAIL: email\nVOICEMAIL: voicemail\nPHONE: phone\nCLI: cli",
                        enum_type=Channel,
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=Status.NEW,
                        description="NEW: new\nIN_PROGRESS: in_progress\nON_HOLD: on_hold\nDONE: done\nCLOSED: closed\nREJECTED: rejected\nREOPENED: reopened",
                        enum_type=Status,
                        max_length=16,
                    ),
                ),
                ("title", fields.CharField(max_length=300)),
                ("description", fields.TextField(default="", unique=False)),
                ("language", fields.CharField(default="en", max_length=8)),
                ("verified", fields.BooleanField(default=True)),
                ("needs_attention", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "response_due_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("due_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "first_response_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                (
                    "resolved_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("closed_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("rating", fields.IntField(null=True)),
            ],
            options={
                "table": "ticket",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One request, shown to people as ``#<id>``.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MessageRef",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("channel", fields.CharField(max_length=32)),
                ("external_id", fields.CharField(max_length=255)),
                ("inbound", fields.BooleanField(default=True)),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="message_refs",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "message_ref",
                "app": "models",
                "unique_together": (("channel", "external_id"),),
                "pk_attr": "id",
                "table_description": "A message id of a channel, linked to a ticket (email Message-ID, Telegram chat:message).",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="OutboxMessage",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("channel", fields.CharField(max_length=32)),
                ("recipient", fields.CharField(max_length=255)),
                (
                    "payload",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("idempotency_key", fields.CharField(unique=True, max_length=200)),
                (
                    "status",
                    fields.CharEnumField(
                        default=OutboxStatus.PENDING,
                        description="PENDING: pending\nSENT: sent\nFAILED: failed",
                        enum_type=OutboxStatus,
                        max_length=16,
                    ),
                ),
                ("attempts", fields.IntField(default=0)),
                ("max_attempts", fields.IntField(default=8)),
                ("next_attempt_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "locked_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("last_error", fields.TextField(default="", unique=False)),
                ("external_id", fields.CharField(null=True, max_length=255)),
                (
                    "ticket",
                    fields.ForeignKeyField(
                        "models.Ticket",
                        source_field="ticket_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="outbox",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("sent_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "outbox",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A message to send, written in the same transaction as the change that caused it.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="TicketEvent",
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
                        related_name="events",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "type",
                    fields.CharEnumField(
                        description="CREATED: created\nPUBLIC_REPLY: public_reply\nINTERNAL_NOTE: internal_note\nSTATUS_CHANGED: status_changed\nASSIGNED: assigned\nATTACHMENT: attachment\nRATING: rating\nDEADLINE_BREACH: deadline_breach\nNOTIFICATION_SENT: notification_sent\nNOTIFICATION_FAILED: notification_failed\nROUTING: routing",
                        enum_type=EventType,
                        max_length=32,
                    ),
                ),
                ("public", fields.BooleanField(default=False)),
                ("text", fields.TextField(default="", unique=False)),
                (
                    "actor",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="actor_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="events",
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
                "table": "ticket_event",
                "app": "models",
                "pk_attr": "id",
                "table_description": "One row of the timeline of a ticket: who did what, when.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Attachment",
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
                        related_name="attachments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "event",
                    fields.ForeignKeyField(
                        "models.TicketEvent",
                        source_field="event_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="attachments",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("sha256", fields.CharField(max_length=64)),
                ("size", fields.BigIntField()),
                (
                    "content_type",
                    fields.CharField(default="application/octet-stream", max_length=128),
                ),
                ("original_name", fields.CharField(default="", max_length=255)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "attachment",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A file on a ticket, stored content-addressed by sha256.",
            },
            bases=["Model"],
        ),
    ]
