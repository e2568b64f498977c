"""Placeholder for #14: outage-day speed (filled in or removed this session)."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0020_desk_speed")]

    initial = False

    operations: list = []
