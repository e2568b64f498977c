"""Indexes for the look-ups every request makes (a requester's recent tickets, a timeline,
a person's contacts, the staff of a building, the residents of a flat) and for the
scheduler's minute-by-minute look for open tickets near their deadline."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0003_operations")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Attachment",
            index=Index(fields=["ticket_id"]),
        ),
        ops.AddIndex(
            model_name="Contact",
            index=Index(fields=["person_id"]),
        ),
        ops.AddIndex(
            model_name="MessageRef",
            index=Index(fields=["ticket_id"]),
        ),
        ops.AddIndex(
            model_name="Ticket",
            index=Index(fields=["requester_id", "created_at"]),
        ),
        ops.AddIndex(
            model_name="Ticket",
            index=Index(fields=["assignee_id", "status"]),
        ),
        ops.AddIndex(
            model_name="Ticket",
            index=Index(fields=["building_id", "status"]),
        ),
        ops.AddIndex(
            model_name="Ticket",
            index=Index(fields=["status", "due_at"]),
        ),
        ops.AddIndex(
            model_name="TicketEvent",
            index=Index(fields=["ticket_id", "at"]),
        ),
        # The many-to-many tables have their unique index on (person_id, …) only.
        ops.RunSQL(
            'CREATE INDEX "idx_residency_unit_id" ON "residency" ("unit_id")',
            reverse_sql='DROP INDEX "idx_residency_unit_id"',
        ),
        ops.RunSQL(
            'CREATE INDEX "idx_staff_building_building_id" ON "staff_building" ("building_id")',
            reverse_sql='DROP INDEX "idx_staff_building_building_id"',
        ),
    ]
