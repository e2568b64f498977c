"""``job_run``: the last run of each periodic job owed once per period (the daily clean-up),
whichever process ran it, so it fires once across a cluster and across restarts (#19)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0024_desk_tally")]

    initial = False

    operations = [
        ops.CreateModel(
            name="JobRun",
            fields=[
                (
                    "job",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100),
                ),
                ("period", fields.CharField(max_length=40)),
                ("node", fields.CharField(max_length=64)),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("done", fields.IntField(null=True)),
            ],
            options={
                "table": "job_run",
                "app": "models",
                "pk_attr": "job",
                "table_description": "The last run of a periodic job that is owed once per "
                "period (a day, say), by whichever process ran it: so it fires once across a "
                "cluster and across restarts.",
            },
            bases=["Model"],
        ),
    ]
