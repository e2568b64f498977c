"""Attachments in PostgreSQL: content-addressed chunks (#19).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0015_announcements")]

    initial = False

    operations: list = []
