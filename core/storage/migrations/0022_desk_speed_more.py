"""Placeholder for #17: desk speed (filled in or removed this session)."""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0021_runtime_speed")]

    initial = False

    operations: list = []
