"""Announcements: emergency or ordinary, scope, schedule and delivery counts (#18).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0014_incidents")]

    initial = False

    operations: list = []
