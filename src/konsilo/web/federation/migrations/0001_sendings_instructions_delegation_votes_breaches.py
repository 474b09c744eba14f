# The federation cycle: items sent to the bases, instructions, delegations' votes, breaches.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("councils", "0001_organisations_councils_members_policies"),
        ("decisions", "0002_secret_tables_without_rowid"),
    ]

    operations = [
        migrations.CreateModel(
            name="Breach",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event", models.JSONField()),
                ("created_at", models.DateTimeField()),
                (
                    "delegate",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="councils.member",
                    ),
                ),
                (
                    "delegation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="breaches",
                        to="councils.delegation",
                    ),
                ),
                (
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="mandate_breaches",
                        to="decisions.proposal",
                    ),
                ),
            ],
            options={
                "ordering": ["created_at", "pk"],
            },
        ),
        migrations.CreateModel(
            name="Sending",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("schedule", models.JSONField()),
                ("composition", models.CharField(default="pass_through", max_length=32)),
                ("sent_at", models.DateTimeField()),
                (
                    "proposal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="sending",
                        to="decisions.proposal",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="DelegationVote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("ballot", models.JSONField()),
                ("ballot_key", models.CharField(max_length=2000)),
                ("weight", models.CharField(max_length=64)),
                ("cast_by", models.CharField(max_length=64)),
                ("cast_at", models.DateTimeField()),
                (
                    "delegation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="votes",
                        to="councils.delegation",
                    ),
                ),
                (
                    "proposal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="delegation_votes",
                        to="decisions.proposal",
                    ),
                ),
            ],
            options={
                "ordering": ["key", "pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("proposal", "delegation", "ballot_key"),
                        name="delegation_vote_unique",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Instruction",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200)),
                ("weight", models.CharField(max_length=64)),
                ("policy", models.JSONField()),
                ("window", models.JSONField()),
                ("mandate", models.JSONField(blank=True, null=True)),
                ("derived_at", models.DateTimeField(blank=True, null=True)),
                (
                    "base_proposal",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="instruction",
                        to="decisions.proposal",
                    ),
                ),
                (
                    "delegation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="instructions",
                        to="councils.delegation",
                    ),
                ),
                (
                    "sending",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="instructions",
                        to="federation.sending",
                    ),
                ),
            ],
            options={
                "ordering": ["key"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("sending", "delegation"), name="instruction_unique"
                    )
                ],
            },
        ),
    ]
