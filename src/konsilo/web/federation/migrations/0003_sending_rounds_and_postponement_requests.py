# Amendments outside the mandates (§3.10): rounds of a sending, postponement requests, settlements.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("councils", "0001_organisations_councils_members_policies"),
        ("decisions", "0002_secret_tables_without_rowid"),
        ("federation", "0002_instruction_higher_opens_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="PostponementRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("voted_sha256", models.CharField(max_length=64)),
                ("requested_by", models.CharField(max_length=64)),
                ("events", models.JSONField()),
                ("requested_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["requested_at", "pk"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="instruction",
            name="instruction_unique",
        ),
        migrations.AddField(
            model_name="instruction",
            name="round",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="sending",
            name="out_of_mandate_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sending",
            name="round",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="sending",
            name="settlement",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="instruction",
            constraint=models.UniqueConstraint(
                fields=("sending", "delegation", "round"), name="instruction_unique"
            ),
        ),
        migrations.AddField(
            model_name="postponementrequest",
            name="instruction",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="postponement_requests",
                to="federation.instruction",
            ),
        ),
        migrations.AddField(
            model_name="postponementrequest",
            name="sending",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="postponement_requests",
                to="federation.sending",
            ),
        ),
        migrations.AddConstraint(
            model_name="postponementrequest",
            constraint=models.UniqueConstraint(
                fields=("instruction", "voted_sha256"), name="postponement_request_unique"
            ),
        ),
    ]
