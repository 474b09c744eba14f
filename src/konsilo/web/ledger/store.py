"""The tree's stored hashes: tlog-tiles rows read as a `konsilo.record.HashReader`.

A `TreeTile` (level L, index N) holds the hashes (8·L, 256·N + i). Any other perfect subtree
hash (level 8·L + r) is the root of 2^r consecutive hashes of one tile, folded on read: an
inclusion proof in a tree of 10,000,000 leaves reads three tiles in one query and folds a few
hundred hashes, and nothing is ever recomputed from the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection

from konsilo.record import (
    HASH_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    HashId,
    MissingHashError,
)
from konsilo.web.ledger.models import Checkpoint, Entry, TreeTile

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
    # One statement of point lookups on the (organisation, level, index) key, joined with
    # UNION ALL: an OR of conditions makes SQLite scan the whole table. Plain SQL, since this
    # is the proofs' hot path.
    qn = connection.ops.quote_name
    one = (
        f"SELECT {qn('level')}, {qn('index')}, {qn('data')} FROM "  # noqa: S608
        f"{qn(TreeTile._meta.db_table)} WHERE {qn('organisation_id')} = %s "
        f"AND {qn('level')} = %s AND {qn('index')} = %s"
    )
    sql = " UNION ALL ".join([one] * len(wanted))
    params: list[int] = []
    for level, index in wanted:
        params += [organisation_id, level, index]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(level, index): bytes(data) for level, index, data in cursor.fetchall()}


@lru_cache(maxsize=1024)
def tile_pyramid(data: bytes) -> tuple[bytes, ...]:
    """Every perfect subtree hash inside a tile's hashes: level r holds MTH of 2^r of them.

    Cached by the tile's bytes themselves, so a changed tile is never served from the cache;
    the tiles a proof climbs through above the leaves are the same for every proof.
    """
    sha = hashlib.sha256
    levels = [data]
    level = data
    while len(level) >= 2 * HASH_SIZE:
        view = memoryview(level)
        pairs = len(level) // (2 * HASH_SIZE)
        level = b"".join(
            sha(b"\x01" + view[i : i + 2 * HASH_SIZE]).digest()
            for i in range(0, pairs * 2 * HASH_SIZE, 2 * HASH_SIZE)
        )
        levels.append(level)
    return tuple(levels)


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
            rest = count.bit_length() - 1
            at = (first >> rest) * HASH_SIZE
            out.append(tile_pyramid(data)[rest][at : at + HASH_SIZE])
        return out


def _one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def latest_signed(organisation_id: int) -> tuple[int, bytes, str] | None:
    """(size, root, note) of the organisation's latest signed checkpoint, in one cheap query."""
    qn = connection.ops.quote_name
    row = _one(
        f"SELECT {qn('size')}, {qn('root')}, {qn('note')} FROM "  # noqa: S608
        f"{qn(Checkpoint._meta.db_table)} WHERE {qn('organisation_id')} = %s "
        f"ORDER BY {qn('size')} DESC LIMIT 1",
        [organisation_id],
    )
    return None if row is None else (int(row[0]), bytes(row[1]), str(row[2]))


def entry_body(organisation_id: int, index: int) -> bytes | None:
    """The stored bytes of entry ``index``, None if there is no such sequenced entry."""
    qn = connection.ops.quote_name
    row = _one(
        f"SELECT {qn('body')} FROM {qn(Entry._meta.db_table)} "  # noqa: S608
        f"WHERE {qn('organisation_id')} = %s AND {qn('index')} = %s",
        [organisation_id, index],
    )
    return None if row is None or row[0] is None else bytes(row[0])
