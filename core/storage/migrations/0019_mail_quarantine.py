"""Mail that keeps failing is set aside (``failed_mail``) instead of retried for ever.

Each failed mail is counted under a key that stays the same when the sender's server or
the IMAP poller brings it again; after the configured number of failures it is kept with
its raw bytes for ``housedesk quarantine`` and answered as accepted (#16, #14).
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0018_bot_events")]

    initial = False

    operations = [
        ops.CreateModel(
            name="FailedMail",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("key", fields.CharField(max_length=64, unique=True)),
                ("sender", fields.CharField(default="", max_length=320)),
                ("subject", fields.CharField(default="", max_length=200)),
                ("content", fields.BinaryField()),
                ("attempts", fields.IntField(default=0)),
                ("last_error", fields.TextField(default="", unique=False)),
                ("first_failed_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "quarantined_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "failed_mail",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A mail whose taking in failed, known by :attr:`key` "
                "whichever way it comes again.",
            },
            bases=["Model"],
        ),
    ]
