"""Event types for the bots' daily use (#15).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0017_cluster")]

    initial = False

    operations: list = []
