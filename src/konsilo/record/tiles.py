"""C2SP tlog-tiles (c2sp.org/tlog-tiles): the log served as static files.

A tile at level ``L`` and index ``N`` holds up to 256 consecutive hashes of tree level
``8·L``: hash ``i`` is the perfect subtree hash ``(8·L, N·256 + i)`` in the ids of
`konsilo.record.merkle`. A full tile has 256 hashes (8,192 bytes); the last tile of a
level for a tree of size ``s`` is partial, with ``floor(s / 256**L) mod 256`` hashes, and
is served at ``<path>.p/<width>``. Entry bundles (``tile/entries/<N>``) hold the entries of
the same 256 leaves, each with a big-endian uint16 length prefix.

This module formats and parses paths, lists the tiles of a tree, builds tile contents from
a `HashReader`, encodes entry bundles, and reads hashes back out of fetched tiles through
`TileHashReader` (the caller's ``fetch`` does the I/O).

>>> tile_path(Tile(0, 1234067))
'tile/0/x001/x234/067'
>>> parse_tile_path("tile/entries/x001/234.p/17")
Tile(level=0, index=1234, width=17, entries=True)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from konsilo.record.merkle import (
    HASH_SIZE,
    HashId,
    HashReader,
    MissingHashError,
    root_from_leaf_hashes,
)

__all__ = [
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "EntryBundleError",
    "Tile",
    "TileError",
    "TileHashReader",
    "changed_tiles",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "entry_bundles_for_size",
    "format_tile_index",
    "parse_tile_path",
    "read_tile",
    "tile_hash_ids",
    "tile_path",
    "tile_width",
    "tiles_for_size",
]

TILE_HEIGHT = 8
"""Tree levels per tile level: a tile of level L holds hashes of tree level 8·L."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile (and entries in a full entry bundle): 256."""

MAX_TILE_LEVEL = 63
"""The highest tile level a path may name."""

MAX_ENTRY_SIZE = 0xFFFF
"""The largest entry an entry bundle can hold: 65,535 bytes (uint16 length prefix)."""

_PATH = re.compile(r"tile/(entries|0|[1-9][0-9]*)/((?:x[0-9]{3}/)*)([0-9]{3})(?:\.p/([0-9]+))?")


class TileError(ValueError):
    """A tile path or tile content is malformed; the message names the path."""


class EntryBundleError(ValueError):
    """An entry bundle cannot be encoded or decoded; the message names the entry."""


@dataclass(frozen=True, order=True)
class Tile:
    """A tile: ``level`` L, ``index`` N and ``width`` (256 for a full tile), or an entry bundle."""

    level: int
    index: int
    width: int = TILE_WIDTH
    entries: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_TILE_LEVEL:
            raise TileError(f"tile level: expected 0 to {MAX_TILE_LEVEL}, got {self.level}")
        if self.entries and self.level != 0:
            raise TileError(f"entry bundle: expected level 0, got {self.level}")
        if self.index < 0:
            raise TileError(f"tile index: expected a non-negative integer, got {self.index}")
        if not 1 <= self.width <= TILE_WIDTH:
            raise TileError(f"tile width: expected 1 to {TILE_WIDTH}, got {self.width}")

    @property
    def is_full(self) -> bool:
        """Whether the tile holds all 256 hashes (or entries)."""
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """The tile's path under the log's URL prefix."""
        return tile_path(self)


def format_tile_index(index: int) -> str:
    """Format a tile index as 3-digit groups, ``x`` before every group but the last.

    >>> format_tile_index(1234067), format_tile_index(0), format_tile_index(1000)
    ('x001/x234/067', '000', 'x001/000')
    """
    if index < 0:
        raise TileError(f"tile index: expected a non-negative integer, got {index}")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(tile: Tile) -> str:
    """Return ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]``."""
    kind = "entries" if tile.entries else str(tile.level)
    partial = "" if tile.is_full else f".p/{tile.width}"
    return f"tile/{kind}/{format_tile_index(tile.index)}{partial}"


def parse_tile_path(path: str) -> Tile:
    """Parse a tile or entry bundle path; only the canonical spelling is accepted."""
    match = _PATH.fullmatch(path)
    if not match:
        raise TileError(
            f"tile path: expected 'tile/<L>/<N>[.p/<W>]' or 'tile/entries/<N>[.p/<W>]', "
            f"got {path!r}"
        )
    kind, upper, last, width = match.groups()
    index = int(upper.replace("x", "").replace("/", "") + last)
    if width is not None and not 1 <= int(width) < TILE_WIDTH:
        raise TileError(f"tile path {path!r}: a partial tile has width 1 to 255, got {width}")
    entries = kind == "entries"
    level = 0 if entries else int(kind)
    if level > MAX_TILE_LEVEL:
        raise TileError(f"tile path {path!r}: level {level} is above {MAX_TILE_LEVEL}")
    tile = Tile(level, index, TILE_WIDTH if width is None else int(width), entries)
    if tile_path(tile) != path:
        raise TileError(f"tile path {path!r}: not canonical, expected {tile_path(tile)!r}")
    return tile


def tile_width(level: int, index: int, size: int) -> int:
    """Return the width of tile (level, index) in a tree of ``size`` leaves, 0 if it has none.

    >>> tile_width(0, 273, 70_000), tile_width(1, 1, 70_000), tile_width(2, 0, 70_000)
    (112, 17, 1)
    """
    hashes = size >> (TILE_HEIGHT * level)
    full = hashes >> TILE_HEIGHT
    if index < full:
        return TILE_WIDTH
    if index == full:
        return hashes & (TILE_WIDTH - 1)
    return 0


def tiles_for_size(size: int) -> list[Tile]:
    """Return every hash tile of a tree of ``size`` leaves, level by level, full then partial."""
    if size < 0:
        raise TileError(f"tree size: expected a non-negative integer, got {size}")
    tiles: list[Tile] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        hashes = size >> (TILE_HEIGHT * level)
        full, partial = divmod(hashes, TILE_WIDTH)
        tiles.extend(Tile(level, n) for n in range(full))
        if partial:
            tiles.append(Tile(level, full, partial))
        level += 1
    return tiles


def entry_bundles_for_size(size: int) -> list[Tile]:
    """Return every entry bundle of a log of ``size`` entries, the last one maybe partial."""
    if size < 0:
        raise TileError(f"tree size: expected a non-negative integer, got {size}")
    full, partial = divmod(size, TILE_WIDTH)
    bundles = [Tile(0, n, entries=True) for n in range(full)]
    if partial:
        bundles.append(Tile(0, full, partial, entries=True))
    return bundles


def changed_tiles(old_size: int, new_size: int) -> list[Tile]:
    """Return the hash tiles and entry bundles of ``new_size`` that ``old_size`` lacks.

    After a batch grows the tree, these are the only files to write: every other tile of
    the new tree already exists with the same contents.

    >>> [t.path for t in changed_tiles(250, 260)]
    ['tile/0/000', 'tile/0/001.p/4', 'tile/1/000.p/1', 'tile/entries/000', 'tile/entries/001.p/4']
    """
    if not 0 <= old_size <= new_size:
        raise TileError(
            f"tree sizes: expected 0 <= old_size <= new_size, got {old_size} and {new_size}"
        )
    hash_tiles: list[Tile] = []
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        first = (old_size >> (TILE_HEIGHT * level)) >> TILE_HEIGHT
        last = (new_size >> (TILE_HEIGHT * level)) >> TILE_HEIGHT
        for index in range(first, last + 1):
            width = tile_width(level, index, new_size)
            if width and width != tile_width(level, index, old_size):
                hash_tiles.append(Tile(level, index, width))
        level += 1
    bundles = [Tile(0, t.index, t.width, entries=True) for t in hash_tiles if t.level == 0]
    return [*hash_tiles, *bundles]


def tile_hash_ids(tile: Tile) -> list[HashId]:
    """Return the stored subtree ids of the hashes in a tile, in tile order."""
    if tile.entries:
        raise TileError(f"{tile.path}: an entry bundle holds entries, not hashes")
    level = TILE_HEIGHT * tile.level
    start = tile.index * TILE_WIDTH
    return [(level, start + i) for i in range(tile.width)]


def read_tile(tile: Tile, reader: HashReader) -> bytes:
    """Return the contents of a hash tile: its hashes concatenated, read in one query."""
    ids = tile_hash_ids(tile)
    hashes = reader.read_hashes(ids)
    if len(hashes) != len(ids) or any(len(h) != HASH_SIZE for h in hashes):
        raise MissingHashError(f"{tile.path}: the hash reader did not return {len(ids)} hashes")
    return b"".join(hashes)


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Encode entries as a bundle: each one a big-endian uint16 length, then its bytes.

    >>> encode_entry_bundle([b"ab", b""]).hex()
    '000261620000'
    """
    if len(entries) > TILE_WIDTH:
        raise EntryBundleError(
            f"entry bundle: expected at most {TILE_WIDTH} entries, got {len(entries)}"
        )
    parts = []
    for i, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise EntryBundleError(
                f"entry {i} of the bundle: {len(entry):,} bytes is over the limit of "
                f"{MAX_ENTRY_SIZE:,} bytes (uint16 length); store long texts by hash"
            )
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def decode_entry_bundle(data: bytes, *, width: int | None = None) -> list[bytes]:
    """Decode an entry bundle; with ``width``, require exactly that many entries."""
    entries: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise EntryBundleError(
                f"entry bundle: entry {len(entries)} has a truncated length at byte {pos}"
            )
        size = int.from_bytes(data[pos : pos + 2], "big")
        if pos + 2 + size > len(data):
            raise EntryBundleError(
                f"entry bundle: entry {len(entries)} claims {size} bytes, "
                f"only {len(data) - pos - 2} remain"
            )
        entries.append(bytes(data[pos + 2 : pos + 2 + size]))
        pos += 2 + size
    if len(entries) > TILE_WIDTH:
        raise EntryBundleError(
            f"entry bundle: expected at most {TILE_WIDTH} entries, got {len(entries)}"
        )
    if width is not None and len(entries) != width:
        raise EntryBundleError(f"entry bundle: expected {width} entries, got {len(entries)}")
    return entries


class TileHashReader:
    """A `HashReader` over the tiles of a log of ``size`` leaves, fetched through ``fetch``.

    ``fetch(path)`` returns the tile's bytes, or None if the server has no such file (a
    partial tile may be gone once the full tile exists; then the full tile is used).
    ``served_size`` is the size of the tree whose tiles the server holds now (its latest
    checkpoint), when it has grown beyond ``size``: a tile of a bigger tree starts with the
    same hashes. This reader does not authenticate tiles: check every proof built from it
    against a signed checkpoint of ``size``, as `konsilo.record.merkle.verify_inclusion` does.
    """

    def __init__(
        self,
        size: int,
        fetch: Callable[[str], bytes | None],
        *,
        served_size: int | None = None,
    ) -> None:
        served = size if served_size is None else served_size
        if not 0 <= size <= served:
            raise TileError(
                f"tree size: expected 0 <= size <= served_size, got {size} and {served}"
            )
        self.size = size
        self.served_size = served
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}

    def _tile(self, level: int, index: int) -> list[bytes]:
        key = (level, index)
        if key in self._tiles:
            return self._tiles[key]
        width = tile_width(level, index, self.served_size)
        tile = Tile(level, index, width)
        data = self._fetch(tile.path)
        if data is None and not tile.is_full:
            full = self._fetch(Tile(level, index).path)
            data = None if full is None else full[: width * HASH_SIZE]
        if data is None:
            raise MissingHashError(f"{tile.path}: the tile could not be fetched")
        if len(data) != width * HASH_SIZE:
            raise TileError(
                f"{tile.path}: expected {width * HASH_SIZE} bytes ({width} hashes), got {len(data)}"
            )
        hashes = [bytes(data[i : i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]
        self._tiles[key] = hashes
        return hashes

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        """Return each subtree hash, computed from the tile hashes at the level below it."""
        out = []
        for level, index in ids:
            if level < 0 or index < 0 or (index + 1) << level > self.size:
                raise MissingHashError(
                    f"hash ({level}, {index}): not a complete subtree of a tree of size {self.size}"
                )
            tile_level, rest = divmod(level, TILE_HEIGHT)
            first = index << rest  # position at tree level 8·tile_level
            tile = self._tile(tile_level, first >> TILE_HEIGHT)
            start = first & (TILE_WIDTH - 1)
            out.append(root_from_leaf_hashes(tile[start : start + (1 << rest)]))
        return out
