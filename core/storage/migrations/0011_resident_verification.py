"""Residents who register through the bot claim a flat (``residency_claim``); the claim is
verified by the phone number in the directory or by a dispatcher. Residencies from before
have no claim and count as verified, as they did."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from core.storage.models import ClaimStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0010_next_check")]

    initial = False

    operations = [
        ops.CreateModel(
            name="ResidencyClaim",
            fields=[
                (
                    "id",
                    fields.IntField(generated=True, primary_key=True, unique=True, db_index=True),
                ),
                (
                    "person",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="claims",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "unit",
                    fields.ForeignKeyField(
                        "models.Unit",
                        source_field="unit_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="claims",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "status",
                    fields.CharEnumField(
                        default=ClaimStatus.UNVERIFIED,
                        description="UNVERIFIED: unverified\nPENDING: pending\n"
                        "VERIFIED: verified\nREJECTED: rejected",
                        enum_type=ClaimStatus,
                        max_length=16,
                    ),
                ),
                ("method", fields.CharField(default="", max_length=16)),
                (
                    "decided_by",
                    fields.ForeignKeyField(
                        "models.Person",
                        source_field="decided_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="claims_decided",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                (
                    "decided_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "residency_claim",
                "app": "models",
                "unique_together": (("person", "unit"),),
                "pk_attr": "id",
                "table_description": "A flat a resident registered to through the bot, and "
                "how that was checked.",
            },
            bases=["Model"],
        ),
    ]
