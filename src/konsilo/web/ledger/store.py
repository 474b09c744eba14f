"""The tree's stored hashes: tlog-tiles rows read as a `konsilo.record.HashReader`.

A `TreeTile` (level L, index N) holds the hashes (8·L, 256·N + i). Any other perfect subtree
hash (level 8·L + r) is the root of 2^r consecutive hashes of one tile, folded on read: an
inclusion proof in a tree of 10,000,000 leaves reads three tiles in one query and folds a few
hundred hashes, and nothing is ever recomputed from the leaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import reduce
from operator import or_

from django.db.models import Q

from konsilo.record import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    HashId,
    MissingHashError,
    root_from_leaf_hashes,
)
from konsilo.web.ledger.models import TreeTile

_MASK = TILE_WIDTH - 1


def _tile_of(hid: HashId) -> tuple[int, int, int, int]:
    """(tile level, tile index, first position, count) of the tile hashes behind a subtree."""
    level, index = hid
    tile_level, rest = divmod(level, TILE_HEIGHT)
    first = index << rest
    return tile_level, first >> TILE_HEIGHT, first & _MASK, 1 << rest


def load_tiles(
    organisation_id: int, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored data of tiles ``(level, index)``, one query; missing tiles are left out."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    condition = reduce(or_, (Q(level=level, index=index) for level, index in wanted))
    rows = (
        TreeTile.objects.filter(organisation_id=organisation_id)
        .filter(condition)
        .values_list("level", "index", "data")
    )
    return {(level, index): bytes(data) for level, index, data in rows}


class StoredHashReader:
    """Reads perfect subtree hashes of one organisation's tree from its stored tiles."""

    def __init__(self, organisation_id: int) -> None:
        self.organisation_id = organisation_id

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        places = [_tile_of(hid) for hid in ids]
        tiles = load_tiles(self.organisation_id, {(tl, tn) for tl, tn, _, _ in places})
        out = []
        for hid, (tile_level, tile_index, first, count) in zip(ids, places, strict=True):
            data = tiles.get((tile_level, tile_index), b"")
            chunk = data[first * HASH_SIZE : (first + count) * HASH_SIZE]
            if len(chunk) != count * HASH_SIZE:
                raise MissingHashError(
                    f"hash {hid}: tile {tile_level}/{tile_index} holds "
                    f"{len(data) // HASH_SIZE} hashes, the subtree needs positions "
                    f"{first} to {first + count - 1}"
                )
            if count == 1:
                out.append(chunk)
            else:
                hashes = [chunk[i : i + HASH_SIZE] for i in range(0, len(chunk), HASH_SIZE)]
                out.append(root_from_leaf_hashes(hashes))
        return out
