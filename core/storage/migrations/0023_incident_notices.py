"""Placeholder for #18: incident notices (filled in or removed this session)."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0022_desk_speed_more")]

    initial = False

    operations: list = []
