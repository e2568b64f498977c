"""Incidents: outages that absorb a building's reports (#18).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0013_desk_sessions")]

    initial = False

    operations: list = []
