"""An announcement may carry its text in several languages (``texts``): an incident's notice
goes out through the announcement path, each resident reading it in their language (#18)."""

from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0022_desk_speed_more")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Announcement",
            name="texts",
            field=fields.JSONField(default=dict, db_default="{}", encoder=dumps, decoder=loads),
        ),
    ]
