"""Processes and job leaders of a cluster (#19).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0016_shared_blobs")]

    initial = False

    operations: list = []
