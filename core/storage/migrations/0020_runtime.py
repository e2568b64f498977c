"""Runtime: timeline purge and others (#14).

PLACEHOLDER: its owner fills in the operations (or it is removed before the session ends).
"""

from tortoise import migrations


class Migration(migrations.Migration):
    dependencies = [("models", "0019_mail_quarantine")]

    initial = False

    operations: list = []
