"""Helpers for the record's web tests: read the stored log, rewrite it as an attacker would."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction

from konsilo.record import TILE_HEIGHT, TreeAppender, leaf_hash
from konsilo.web.ledger.actions import append
from konsilo.web.ledger.models import Entry, TreeTile


def bodies(organisation: Any) -> list[bytes]:
    """The stored bytes of the sequenced entries, in index order."""
    rows = (
        Entry.objects.filter(organisation=organisation, index__isnull=False)
        .order_by("index")
        .values_list("body", flat=True)
    )
    return [bytes(b) for b in rows]


def rebuild_tiles(organisation: Any, entries: list[bytes]) -> None:
    """Replace the stored tiles with those of a tree of ``entries``: a consistent rewrite."""
    result = TreeAppender().append([leaf_hash(b) for b in entries])
    tiles: dict[tuple[int, int], list[bytes]] = defaultdict(list)
    for level, index, h in result.new_hashes:
        if level % TILE_HEIGHT == 0:
            tiles[(level // TILE_HEIGHT, index >> TILE_HEIGHT)].append((index, h))  # type: ignore[arg-type]
    TreeTile.objects.filter(organisation=organisation).delete()
    TreeTile.objects.bulk_create(
        TreeTile(
            organisation=organisation,
            level=level,
            index=index,
            data=b"".join(h for _, h in sorted(hashes)),  # type: ignore[misc]
        )
        for (level, index), hashes in tiles.items()
    )


def append_one(organisation: Any, n: int = 0, **kwargs: Any) -> Entry:
    with transaction.atomic():
        return append("test.entry", {"n": n}, organisation=organisation, **kwargs)
