"""Sign-in sessions and one-time links for the dispatcher's desk (#17).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0012_emergency_instructions_i18n")]

    initial = False

    operations: list = []
