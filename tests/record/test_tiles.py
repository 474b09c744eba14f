"""C2SP tlog-tiles: paths, the spec's size-70,000 example, tile contents, entry bundles."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo.record.merkle import (
    MemoryHashReader,
    MissingHashError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_inclusion,
)
from konsilo.record.tiles import (
    MAX_ENTRY_SIZE,
    EntryBundleError,
    Tile,
    TileError,
    TileHashReader,
    changed_tiles,
    decode_entry_bundle,
    encode_entry_bundle,
    entry_bundles_for_size,
    format_tile_index,
    parse_tile_path,
    read_tile,
    tile_hash_ids,
    tiles_for_size,
)
from tests.record import reference

SIZE = 70_000
LEAVES = [leaf_hash(i.to_bytes(4, "big")) for i in range(SIZE + 500)]
STORE = MemoryHashReader.from_leaf_hashes(LEAVES)


def _served(size: int) -> dict[str, bytes]:
    return {tile.path: read_tile(tile, STORE) for tile in tiles_for_size(size)}


SERVED = _served(SIZE)


def test_tile_index_is_split_in_x_prefixed_groups_of_three_digits() -> None:
    assert format_tile_index(1234067) == "x001/x234/067"
    assert Tile(0, 1234067).path == "tile/0/x001/x234/067"
    assert Tile(2, 5, 17).path == "tile/2/005.p/17"
    assert Tile(0, 1000, 3, entries=True).path == "tile/entries/x001/000.p/3"


@pytest.mark.parametrize(
    "path",
    ["tile/0/x001/x234/067", "tile/63/000", "tile/1/x999/999.p/255", "tile/entries/012.p/1"],
)
def test_tile_paths_round_trip(path: str) -> None:
    assert parse_tile_path(path).path == path


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x000/067",
        "tile/00/067",
        "tile/0/67",
        "tile/0/067.p/0",
        "tile/0/067.p/256",
        "tile/0/067.p/017",
        "tile/64/000",
        "tile/0/x1/067",
        "tile/data/000",
        "/tile/0/000",
        "tile/0/000/",
    ],
)
def test_malformed_or_non_canonical_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(path)


def test_spec_example_tree_of_70000_has_the_published_tiles() -> None:
    tiles = tiles_for_size(70_000)
    level0 = [t for t in tiles if t.level == 0]
    assert sum(t.is_full for t in level0) == 273
    assert [t.width for t in level0 if not t.is_full] == [112]
    assert [(t.index, t.width) for t in tiles if t.level == 1] == [(0, 256), (1, 17)]
    assert [(t.index, t.width) for t in tiles if t.level == 2] == [(0, 1)]
    assert max(t.level for t in tiles) == 2


def test_entry_bundles_follow_the_level_0_tiles() -> None:
    bundles = entry_bundles_for_size(70_000)
    assert len(bundles) == 274
    assert bundles[-1] == Tile(0, 273, 112, entries=True)
    assert entry_bundles_for_size(512)[-1].is_full


def test_level_0_tile_holds_leaf_hashes_and_higher_tiles_hold_subtree_hashes() -> None:
    tile0 = SERVED["tile/0/001"]
    assert tile0 == b"".join(LEAVES[256:512])
    tile1 = SERVED["tile/1/001.p/17"]
    assert len(tile1) == 17 * 32
    # hash i of a level-1 tile: MTH(D[(n·256+i)·256 : (n·256+i+1)·256])
    i = 3
    start = (256 + i) * 256
    assert tile1[i * 32 : (i + 1) * 32] == reference.mth(LEAVES[start : start + 256])
    assert SERVED["tile/2/000.p/1"] == reference.mth(LEAVES[:65536])


def test_tile_hash_ids_name_the_stored_subtrees() -> None:
    assert tile_hash_ids(Tile(1, 2, 3)) == [(8, 512), (8, 513), (8, 514)]
    with pytest.raises(TileError, match="entry bundle"):
        tile_hash_ids(Tile(0, 0, entries=True))


@given(st.integers(0, SIZE - 1), st.integers(1, SIZE))
@settings(max_examples=100)
def test_proofs_read_from_tiles_equal_proofs_from_the_store(index: int, old: int) -> None:
    reader = TileHashReader(SIZE, SERVED.get)
    proof = inclusion_proof(index, SIZE, reader)
    assert proof == inclusion_proof(index, SIZE, STORE)
    verify_inclusion(
        index=index, size=SIZE, leaf_hash=LEAVES[index], proof=proof, root=tree_root(SIZE, STORE)
    )
    assert consistency_proof(old, SIZE, reader) == consistency_proof(old, SIZE, STORE)


def test_root_read_from_tiles_is_the_tree_root() -> None:
    assert tree_root(SIZE, TileHashReader(SIZE, SERVED.get)) == reference.mth(LEAVES[:SIZE])


def test_missing_partial_tile_falls_back_to_the_full_tile() -> None:
    # The partial tile was deleted once the server completed the full tile.
    served = dict(SERVED)
    del served["tile/0/273.p/112"]
    served["tile/0/273"] = b"".join(LEAVES[273 * 256 : 274 * 256])
    reader = TileHashReader(SIZE, served.get)
    assert tree_root(SIZE, reader) == tree_root(SIZE, STORE)
    assert inclusion_proof(SIZE - 1, SIZE, reader) == inclusion_proof(SIZE - 1, SIZE, STORE)


def test_an_older_tree_is_read_from_the_tiles_of_a_bigger_one() -> None:
    later = _served(SIZE + 500)
    assert "tile/1/001.p/17" not in later
    reader = TileHashReader(SIZE, later.get, served_size=SIZE + 500)
    assert tree_root(SIZE, reader) == tree_root(SIZE, STORE)
    assert consistency_proof(1000, SIZE, reader) == consistency_proof(1000, SIZE, STORE)
    with pytest.raises(TileError, match="served_size"):
        TileHashReader(SIZE + 1, later.get, served_size=SIZE)


def test_tile_of_the_wrong_length_is_rejected() -> None:
    served = dict(SERVED)
    served["tile/0/273.p/112"] = served["tile/0/273.p/112"][:-1]
    with pytest.raises(TileError, match=r"tile/0/273\.p/112"):
        inclusion_proof(SIZE - 1, SIZE, TileHashReader(SIZE, served.get))


def test_hash_beyond_the_tree_is_missing() -> None:
    with pytest.raises(MissingHashError, match="not a complete subtree"):
        TileHashReader(SIZE, SERVED.get).read_hashes([(0, SIZE)])
    with pytest.raises(MissingHashError, match="could not be fetched"):
        TileHashReader(SIZE, {}.get).read_hashes([(0, 0)])


def test_entry_bundle_uses_big_endian_uint16_lengths() -> None:
    entries = [b"", b"x", b"y" * 300, b"z" * MAX_ENTRY_SIZE]
    data = encode_entry_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01x"
    assert data[5:7] == (300).to_bytes(2, "big")
    assert decode_entry_bundle(data, width=4) == entries


def test_entry_over_65535_bytes_is_refused_with_a_clear_message() -> None:
    with pytest.raises(EntryBundleError, match=r"entry 1 .*65,536 bytes.*65,535.*by hash"):
        encode_entry_bundle([b"ok", b"z" * (MAX_ENTRY_SIZE + 1)])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00", "truncated length"),
        (b"\x00\x05abc", "claims 5 bytes"),
        (b"\x00\x00", "expected 2"),
    ],
)
def test_malformed_entry_bundles_are_rejected(data: bytes, reason: str) -> None:
    with pytest.raises(EntryBundleError, match=reason):
        decode_entry_bundle(data, width=2)


@given(st.lists(st.binary(max_size=600), max_size=256))
def test_any_entry_bundle_round_trips(entries: list[bytes]) -> None:
    assert decode_entry_bundle(encode_entry_bundle(entries), width=len(entries)) == entries


@given(st.integers(0, 200_000), st.integers(0, 70_000))
def test_changed_tiles_are_exactly_the_tiles_the_old_tree_lacks(old: int, growth: int) -> None:
    new = old + growth
    before = {*tiles_for_size(old), *entry_bundles_for_size(old)}
    after = {*tiles_for_size(new), *entry_bundles_for_size(new)}
    assert set(changed_tiles(old, new)) == after - before
    assert len(changed_tiles(old, new)) == len(after - before)
