"""The record as stored rows: entries, the tree's hash tiles, signed checkpoints.

Each entry is one change, written by an action in the same transaction as the change itself.
Its data is canonical JSON (konsilo.canonical). Leaf indices are assigned by the sequencer
(konsilo.web.ledger.sequencer) in batches; until then ``index`` and ``body`` are empty and the
row is pending. At sequencing the entry's exact bytes (the Merkle leaf data, RFC-CONTRACT §1)
are stored in ``body``, so what was signed is what is served and exported.

The tree is stored as C2SP tlog-tiles: a `TreeTile` at tile level L and index N holds the
hashes (8·L, 256·N + i) of `konsilo.record.merkle`, one tile row growing until it is full.
Every signed checkpoint is kept (`Checkpoint`); `LogState` is the per-organisation row the
sequencer locks, holding the log's origin and its size.
"""

from __future__ import annotations

from django.db import models


class Entry(models.Model):
    """One record entry; pending while ``index`` is null.

    Unlinkable entries (secret ballots, participation) have a random negative primary key,
    no actor and no time until the sequencer gives them the time of their batch. While
    pending, ``position`` holds their place in the order of writes (a number drawn from the
    same counter as the ids of the other entries); the sequencer clears it.
    """

    # No index of its own: the unique (organisation, index) constraint below starts with it,
    # and one index fewer is one page fewer written by every append.
    organisation = models.ForeignKey(
        "councils.Organisation", on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    index = models.BigIntegerField(null=True, blank=True)
    entry_type = models.CharField(max_length=64)
    council = models.CharField(max_length=64, blank=True, default="")
    actor = models.CharField(max_length=64, blank=True, default="")
    recorded_at = models.DateTimeField(null=True, blank=True)
    data = models.TextField()
    body = models.BinaryField(null=True, blank=True)
    position = models.BigIntegerField(null=True, blank=True)

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


class LogState(models.Model):
    """The organisation's log: its origin line and sequenced size; the sequencer's lock row."""

    organisation = models.OneToOneField(
        "councils.Organisation", on_delete=models.PROTECT, related_name="log_state"
    )
    origin = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    # The sequencer's self-audit: the next signed entry whose bytes it re-hashes against the
    # stored tree (it goes round the whole log again and again).
    audited = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.origin} ({self.size})"


class TreeTile(models.Model):
    """A tlog-tiles hash tile: up to 256 hashes of tree level 8·level, concatenated."""

    organisation = models.ForeignKey(
        "councils.Organisation", on_delete=models.PROTECT, related_name="tree_tiles"
    )
    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "level", "index"], name="ledger_tile_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"tile {self.level}/{self.index}"


class Checkpoint(models.Model):
    """A signed C2SP checkpoint of the organisation's log, exactly as signed."""

    organisation = models.ForeignKey(
        "councils.Organisation", on_delete=models.PROTECT, related_name="checkpoints"
    )
    size = models.BigIntegerField()
    root = models.BinaryField()
    note = models.TextField()
    signed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "size"], name="ledger_checkpoint_unique_size"
            ),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.size}"


class WorkerHeartbeat(models.Model):
    """A running `konsilo worker`, seen at ``seen_at``; the write path then leaves it the
    sequencing."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker_id
