"""Several ``housedesk run`` processes on one PostgreSQL database (#19).

* ``cluster_node``: one row per running process (node id, host, pid, start, heartbeat, the
  periodic jobs it leads), so ``/healthz`` and ``housedesk status`` can show the cluster.
* ``rate_bucket``: token buckets every process takes from, so a bot's Telegram budget is
  one for the whole cluster instead of one per process.
* ``inbound_update`` gets ``chat`` (whose conversation the update belongs to) and
  ``locked_until`` (claimed by one process until then): any process may handle any stored
  update, and one chat's updates are handled one process at a time, in order. Rows stored
  before keep an empty chat and no claim.
"""

import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0016_shared_blobs")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ClusterNode",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                ("node", fields.CharField(unique=True, max_length=64)),
                ("host", fields.CharField(max_length=255)),
                ("pid", fields.IntField()),
                ("started_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("last_seen", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "leads",
                    fields.JSONField(
                        default=list,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
            ],
            options={
                "table": "cluster_node",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A running ``housedesk run`` process: its heartbeat and "
                "the periodic jobs it leads.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="RateBucket",
            fields=[
                (
                    "key",
                    fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100),
                ),
                ("capacity", fields.FloatField()),
                ("per_second", fields.FloatField()),
                ("tokens", fields.FloatField()),
                ("stamp", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "held_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "rate_bucket",
                "app": "models",
                "pk_attr": "key",
                "table_description": "A token bucket every process takes from (one sending "
                "budget shared by a cluster).",
            },
            bases=["Model"],
        ),
        ops.AddField(
            model_name="InboundUpdate",
            name="chat",
            field=fields.CharField(default="", db_default="", max_length=64),
        ),
        ops.AddField(
            model_name="InboundUpdate",
            name="locked_until",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="InboundUpdate",
            index=Index(fields=["bot", "chat", "handled_at"]),
        ),
    ]
