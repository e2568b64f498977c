"""Mail that cannot be taken in, kept aside (#16).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0018_bot_events")]

    initial = False

    operations: list = []
