"""The open tickets in an index of their own, so the desk's monitor, /load and the journal's
deadline filters read a few thousand index rows instead of every open ticket's row (#17).

A partial index (``WHERE status IN`` the open statuses) holding every column the open-now
query reads: it stays as small as the open tickets however many are closed, and both
SQLite and PostgreSQL answer the query from the index alone. No rows change.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from core.storage.indexes import WhereIndex


class Migration(migrations.Migration):
    dependencies = [("models", "0019_mail_quarantine")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Ticket",
            index=WhereIndex(
                fields=[
                    "status",
                    "category_id",
                    "building_id",
                    "assignee_id",
                    "due_at",
                    "response_due_at",
                    "first_response_at",
                    "needs_attention",
                ],
                name="ticket_open_now",
                where="status IN ('in_progress', 'new', 'on_hold', 'reopened')",
            ),
        ),
    ]
