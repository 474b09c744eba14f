"""Instructions cascade through every level: the item each delegation votes on, and when
its instruction vote opens."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def _fill(apps: Any, schema_editor: Any) -> None:
    instruction = apps.get_model("federation", "Instruction")
    for row in instruction.objects.select_related("sending", "base_proposal"):
        row.higher_id = row.sending.proposal_id
        row.opens_at = row.base_proposal.voting_opened_at
        row.save(update_fields=["higher", "opens_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("decisions", "0002_secret_tables_without_rowid"),
        ("federation", "0001_sendings_instructions_delegation_votes_breaches"),
    ]

    operations = [
        migrations.AddField(
            model_name="instruction",
            name="higher",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="incoming_instructions",
                to="decisions.proposal",
            ),
        ),
        migrations.AddField(
            model_name="instruction",
            name="opens_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(_fill, migrations.RunPython.noop),
    ]
