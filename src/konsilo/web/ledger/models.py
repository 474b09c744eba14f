"""The record's entries as stored rows.

Each row is one change, written by an action in the same transaction as the change itself.
The data is canonical JSON (konsilo.canonical). Leaf indices are assigned by the record's
sequencer in batches; until then ``index`` is empty and the row is waiting to be sequenced.
"""

from __future__ import annotations

from django.db import models


class Entry(models.Model):
    organisation = models.ForeignKey(
        "councils.Organisation", on_delete=models.PROTECT, related_name="entries"
    )
    index = models.BigIntegerField(null=True, blank=True)
    entry_type = models.CharField(max_length=64)
    council = models.CharField(max_length=64, blank=True, default="")
    actor = models.CharField(max_length=64, blank=True, default="")
    recorded_at = models.DateTimeField()
    data = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "index"], name="ledger_entry_unique_index"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "entry_type"])]

    def __str__(self) -> str:
        return f"{self.entry_type} #{self.index if self.index is not None else '?'}"


class LongText(models.Model):
    """A text too long for an entry, kept by its SHA-256 and published beside the log."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    text = models.TextField()

    def __str__(self) -> str:
        return self.sha256
