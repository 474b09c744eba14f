"""The tree's stored hashes: tlog-tiles rows read as a `konsilo.record.HashReader`.

A `TreeTile` (level L, index N) holds the hashes (8·L, 256·N + i). Any other perfect subtree
hash (level 8·L + r) is the root of 2^r consecutive hashes of one tile, folded on read: an
inclusion proof in a tree of 10,000,000 leaves reads three tiles in one query and folds a few
hundred hashes, and nothing is ever recomputed from the leaves.

The proofs' reads are plain SQL (`read_proof`: the latest checkpoint, the entry and the tiles in
one statement). On PostgreSQL they are bound on the server with binary results, so that
psycopg can prepare them (``KONSILO_PG_PREPARE_THRESHOLD``) and bytea arrives as bytes rather
than hex text: planning a statement of a few point lookups costs more than running it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from django.db import connection
from psycopg.types.numeric import Int8

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


def _fetch(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one read statement of the record (``%s`` placeholders).

    On PostgreSQL with psycopg 3 the statement is bound on the server and its results come
    in binary, through a cursor of psycopg's own on Django's connection (Django's cursors bind
    on the client, which rules out both). Integers are sent as int8, so that one statement has
    one parameter signature and psycopg prepares it once. With the query log on (DEBUG) it
    goes through Django's cursor, to be logged like every other query.
    """
    if connection.vendor == "postgresql" and not connection.queries_logged:
        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        bound = [Int8(p) if type(p) is int else p for p in params]
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, bound, binary=True)
            return cursor.fetchall()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


@lru_cache(maxsize=64)
def _sql(vendor: str, part: str, tiles: int) -> str:
    """The statement `load_tiles` (part "tiles") or `read_proof` (part "proof") runs."""
    qn = connection.ops.quote_name
    org, level, index, data = (qn(n) for n in ("organisation_id", "level", "index", "data"))
    # Point lookups on the (organisation, level, index) key joined with UNION ALL: an OR of
    # conditions makes SQLite scan the whole table, and arrays (= ANY, unnest) cost
    # PostgreSQL more than the few lookups themselves.
    one_tile = (
        f"SELECT 2, {level}, {index}, {data}, NULL FROM {qn(TreeTile._meta.db_table)} "  # noqa: S608
        f"WHERE {org} = %s AND {level} = %s AND {index} = %s"
    )
    parts = [one_tile] * tiles
    if part == "proof":
        cp = qn(Checkpoint._meta.db_table)
        size, root, note = qn("size"), qn("root"), qn("note")
        parts[:0] = [
            f"SELECT 0, 0, c.{size}, c.{root}, c.{note} FROM (SELECT {size}, {root}, {note} "  # noqa: S608
            f"FROM {cp} WHERE {org} = %s ORDER BY {size} DESC LIMIT 1) AS c",
            f"SELECT 1, 0, {index}, {qn('body')}, NULL FROM {qn(Entry._meta.db_table)} "  # noqa: S608
            f"WHERE {org} = %s AND {index} = %s",
        ]
    return " UNION ALL ".join(parts)


def load_tiles(
    organisation_id: int, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored data of tiles ``(level, index)``, one query; missing tiles are left out."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params: list[int] = []
    for level, index in wanted:
        params += [organisation_id, level, index]
    rows = _fetch(_sql(connection.vendor, "tiles", len(wanted)), params)
    return {(level, index): bytes(data) for _, level, index, data, _ in rows}


def read_proof(
    organisation_id: int, index: int, tile_keys: Iterable[tuple[int, int]]
) -> tuple[tuple[int, bytes, str] | None, bytes | None, dict[tuple[int, int], bytes]]:
    """The latest signed checkpoint (size, root, note), the bytes of entry ``index`` and the
    stored tiles ``tile_keys``, in one statement and so from one snapshot of the database.

    Each is None (or left out) when there is none.
    """
    wanted = sorted(set(tile_keys))
    params: list[int] = [organisation_id, organisation_id, index]
    for level, tile_index in wanted:
        params += [organisation_id, level, tile_index]
    latest: tuple[int, bytes, str] | None = None
    body: bytes | None = None
    tiles: dict[tuple[int, int], bytes] = {}
    for kind, level, number, data, note in _fetch(
        _sql(connection.vendor, "proof", len(wanted)), params
    ):
        if kind == 0:
            latest = (int(number), bytes(data), str(note))
        elif kind == 1:
            body = None if data is None else bytes(data)
        else:
            tiles[(int(level), int(number))] = bytes(data)
    return latest, body, tiles


def tiles_of(ids: Iterable[HashId]) -> set[tuple[int, int]]:
    """The tiles ``(level, index)`` that hold the subtree hashes ``ids``."""
    return {_tile_of(hid)[:2] for hid in ids}


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

    def __init__(
        self, organisation_id: int, tiles: Mapping[tuple[int, int], bytes] | None = None
    ) -> None:
        """``tiles`` were read already (by `read_proof`); only the others are queried."""
        self.organisation_id = organisation_id
        self.tiles = tiles or {}

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        places = [_tile_of(hid) for hid in ids]
        wanted = {(tl, tn) for tl, tn, _, _ in places}
        tiles = {key: self.tiles[key] for key in wanted if key in self.tiles}
        if len(tiles) < len(wanted):
            tiles.update(load_tiles(self.organisation_id, wanted - tiles.keys()))
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
    rows = _fetch(sql, params)
    return rows[0] if rows else None


def signed_checkpoint(organisation_id: int, size: int) -> tuple[bytes, str] | None:
    """(root, note) of the organisation's signed checkpoint of ``size``, if there is one."""
    qn = connection.ops.quote_name
    row = _one(
        f"SELECT {qn('root')}, {qn('note')} FROM {qn(Checkpoint._meta.db_table)} "  # noqa: S608
        f"WHERE {qn('organisation_id')} = %s AND {qn('size')} = %s",
        [organisation_id, size],
    )
    return None if row is None else (bytes(row[0]), str(row[1]))
