"""RFC 9162 Merkle tree hashing, proofs from stored subtree hashes, and their verification.

The record's entries are the leaves of one RFC 9162 (RFC 6962) Merkle tree with SHA-256:

    leaf  = SHA-256(0x00 || entry)
    node  = SHA-256(0x01 || left || right)
    MTH({}) = SHA-256("")

A store keeps every *perfect* subtree hash exactly once, named by ``(level, index)``: the
hash of the perfect subtree covering leaves ``[index * 2**level, (index + 1) * 2**level)``.
Level 0 holds the leaf hashes. Any proof or root for any tree size is a fold of a few of
those hashes, so the server never recomputes the tree: the ``*_ids`` functions say which
ids a proof needs (one query), and the proof functions read them through a `HashReader`.

`TreeAppender` is the sequencer's side: from the stored right edge of the tree (one hash
per set bit of the size) it takes a batch of new leaf hashes and returns the new perfect
subtree hashes to store, the new size and the new root.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, and rejects every hash
that is not 32 bytes long.

>>> root = root_from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b")])
>>> root == node_hash(leaf_hash(b"a"), leaf_hash(b"b"))
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AppendResult",
    "HashId",
    "HashReader",
    "MemoryHashReader",
    "MissingHashError",
    "ProofError",
    "TreeAppender",
    "consistency_proof",
    "consistency_proof_ids",
    "inclusion_proof",
    "inclusion_proof_ids",
    "leaf_hash",
    "node_hash",
    "right_edge_ids",
    "root_from_leaf_hashes",
    "subtree_ids",
    "tree_root",
    "tree_root_ids",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree, SHA-256 of the empty string."""

HashId = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""


class ProofError(ValueError):
    """A proof, a hash or a tree size failed verification; the message says why."""


class MissingHashError(ValueError):
    """A hash reader was asked for a subtree hash it does not hold."""


class HashReader(Protocol):
    """Reads stored perfect subtree hashes, in the order of the ids asked for."""

    def read_hashes(self, ids: Sequence[HashId]) -> Sequence[bytes]:
        """Return the hash of each ``(level, index)`` in ``ids``, in the same order."""
        ...


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 || entry).

    >>> import base64
    >>> base64.b64encode(leaf_hash(b"hello world")).decode()
    'TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0='
    """
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    _check_hash("left", left)
    _check_hash("right", right)
    return hashlib.sha256(b"\x01" + left + right).digest()


def _node(left: bytes, right: bytes) -> bytes:
    # Unchecked variant for hot loops whose inputs were already checked.
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash(field: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, bytes | bytearray) else repr(value)
        raise ProofError(f"{field}: expected a {HASH_SIZE}-byte SHA-256 hash, got {got}")


def _check_size(field: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProofError(f"{field}: expected a non-negative integer, got {value!r}")


def _largest_power_of_two_below(n: int) -> int:
    """Return k, the largest power of two with k < n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return MTH of the leaves whose leaf hashes are given (RFC 9162 §2.1.1).

    >>> root_from_leaf_hashes([]) == EMPTY_ROOT
    True
    """
    for i, h in enumerate(hashes):
        _check_hash(f"leaf hash {i}", h)
    if not hashes:
        return EMPTY_ROOT
    # Bottom-up over the right edge: combine equal-sized perfect subtrees as they complete.
    stack: list[tuple[int, bytes]] = []
    for h in hashes:
        level, cur = 0, h
        while stack and stack[-1][0] == level:
            cur = _node(stack.pop()[1], cur)
            level += 1
        stack.append((level, cur))
    return _fold([h for _, h in stack])


def _fold(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect subtree hashes of strictly decreasing size, right to left."""
    result = hashes[-1]
    for h in reversed(hashes[:-1]):
        result = _node(h, result)
    return result


def subtree_ids(start: int, end: int) -> list[HashId]:
    """Return the ids of the maximal perfect subtrees covering leaves [start, end), left to right.

    For the ranges that proofs use (``start`` a multiple of the largest power of two not
    above ``end - start``) the subtrees shrink from left to right and folding their hashes
    right to left gives MTH(D[start:end]).

    >>> subtree_ids(0, 13)
    [(3, 0), (2, 2), (0, 12)]
    """
    if start < 0 or end < start:
        raise ValueError(f"leaf range: expected 0 <= start <= end, got [{start}, {end})")
    ids: list[HashId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        ids.append((level, start >> level))
        start += 1 << level
    return ids


def right_edge_ids(size: int) -> list[HashId]:
    """Return the ids of the perfect subtrees on the right edge of a tree of ``size`` leaves.

    One per set bit of ``size``, largest first; together they are the compact state a
    `TreeAppender` starts from.

    >>> right_edge_ids(6)
    [(2, 0), (1, 2)]
    """
    _check_size("size", size)
    return subtree_ids(0, size)


tree_root_ids = right_edge_ids


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTH form PATH(index, D[size]), from the leaf's sibling upward."""
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTH form PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1)."""
    if old_size in {0, new_size}:
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, whole = 0, new_size, old_size, True
    while True:
        if m == hi - lo:
            if not whole:
                ranges.append((lo, hi))
            break
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def _check_index(index: int, size: int) -> None:
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ProofError(f"index: expected a leaf index below the tree size {size}, got {index}")


def _check_sizes(old_size: int, new_size: int) -> None:
    _check_size("old_size", old_size)
    _check_size("new_size", new_size)
    if old_size > new_size:
        raise ProofError(
            f"old_size: expected at most new_size {new_size}, got {old_size} (a tree never shrinks)"
        )


def _ids_for(ranges: Sequence[tuple[int, int]]) -> tuple[list[list[HashId]], list[HashId]]:
    per_range = [subtree_ids(lo, hi) for lo, hi in ranges]
    unique = list(dict.fromkeys(i for ids in per_range for i in ids))
    return per_range, unique


def _read(reader: HashReader, ids: Sequence[HashId]) -> dict[HashId, bytes]:
    if not ids:
        return {}
    hashes = reader.read_hashes(ids)
    if len(hashes) != len(ids):
        raise MissingHashError(f"hash reader: asked for {len(ids)} hashes, got {len(hashes)}")
    for hid, h in zip(ids, hashes, strict=True):
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise MissingHashError(f"hash reader: hash {hid} is not {HASH_SIZE} bytes")
    return {hid: bytes(h) for hid, h in zip(ids, hashes, strict=True)}


def _hashes_for(ranges: Sequence[tuple[int, int]], reader: HashReader) -> list[bytes]:
    per_range, unique = _ids_for(ranges)
    table = _read(reader, unique)
    return [_fold([table[i] for i in ids]) for ids in per_range]


def inclusion_proof_ids(index: int, size: int) -> list[HashId]:
    """Return the stored subtree ids (no duplicates) that the inclusion proof needs.

    >>> inclusion_proof_ids(5, 8)
    [(0, 4), (1, 3), (2, 0)]
    """
    _check_index(index, size)
    return _ids_for(_inclusion_ranges(index, size))[1]


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """Return PATH(index, D[size]) (RFC 9162 §2.1.3.1), read through one ``read_hashes`` call."""
    _check_index(index, size)
    return _hashes_for(_inclusion_ranges(index, size), reader)


def consistency_proof_ids(old_size: int, new_size: int) -> list[HashId]:
    """Return the stored subtree ids (no duplicates) that the consistency proof needs.

    >>> consistency_proof_ids(6, 8)
    [(1, 2), (1, 3), (2, 0)]
    """
    _check_sizes(old_size, new_size)
    return _ids_for(_consistency_ranges(old_size, new_size))[1]


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """Return PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1) through one ``read_hashes`` call.

    The proof is empty when ``old_size`` is 0 (the empty tree is consistent with every
    tree, as c2sp.org/tlog-witness has it) or equal to ``new_size``.
    """
    _check_sizes(old_size, new_size)
    return _hashes_for(_consistency_ranges(old_size, new_size), reader)


def tree_root(size: int, reader: HashReader) -> bytes:
    """Return MTH(D[size]) from the stored right-edge subtree hashes."""
    ids = right_edge_ids(size)
    if not ids:
        return EMPTY_ROOT
    table = _read(reader, ids)
    return _fold([table[i] for i in ids])


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        _check_hash(f"proof[{i}]", h)


def verify_inclusion(
    *, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof exactly as RFC 9162 §2.1.3.2; raise `ProofError` if it fails.

    ``size`` and ``root`` must come from the same signed checkpoint: the size is bound only
    through the shape of the proof.

    >>> a, b = leaf_hash(b"a"), leaf_hash(b"b")
    >>> verify_inclusion(index=1, size=2, leaf_hash=b, proof=[a], root=node_hash(a, b))
    >>> verify_inclusion(index=0, size=2, leaf_hash=b, proof=[a], root=node_hash(a, b))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    konsilo.record.merkle.ProofError: inclusion proof: the computed root ... does not match ...
    """
    _check_size("index", index)
    _check_size("size", size)
    _check_hash("leaf_hash", leaf_hash)
    _check_hash("root", root)
    _check_proof(proof)
    # 1. If leaf_index >= tree_size, fail.
    if index >= size:
        raise ProofError(f"index: expected a leaf index below the tree size {size}, got {index}")
    # 2.-3.
    fn, sn = index, size - 1
    r = leaf_hash
    # 4.
    for p in proof:
        if sn == 0:
            raise ProofError(
                f"inclusion proof: {len(proof)} hashes is too many for index {index} "
                f"in a tree of size {size}"
            )
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    # 5.
    if sn != 0:
        raise ProofError(
            f"inclusion proof: {len(proof)} hashes is too few for index {index} "
            f"in a tree of size {size}"
        )
    if r != root:
        raise ProofError(
            f"inclusion proof: the computed root {r.hex()} does not match the "
            f"expected root {root.hex()}"
        )


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof exactly as RFC 9162 §2.1.4.2; raise `ProofError` if it fails.

    Edges the RFC leaves open: equal sizes need an empty proof and equal roots; old size 0
    needs an empty proof and the empty-tree root SHA-256("") as the old root.

    >>> a, b = leaf_hash(b"a"), leaf_hash(b"b")
    >>> verify_consistency(old_size=1, new_size=2, old_root=a, new_root=node_hash(a, b),
    ...                    proof=[b])
    """
    _check_sizes(old_size, new_size)
    _check_hash("old_root", old_root)
    _check_hash("new_root", new_root)
    _check_proof(proof)
    if old_size == new_size:
        if proof:
            raise ProofError(
                f"consistency proof: expected an empty proof for equal sizes {old_size}, "
                f"got {len(proof)} hashes"
            )
        if old_root != new_root:
            raise ProofError(
                f"consistency proof: trees of equal size {old_size} have different roots "
                f"{old_root.hex()} and {new_root.hex()}"
            )
        return
    if old_size == 0:
        if proof:
            raise ProofError(
                f"consistency proof: expected an empty proof from the empty tree, "
                f"got {len(proof)} hashes"
            )
        if old_root != EMPTY_ROOT:
            raise ProofError(
                f"old_root: the tree of size 0 has root SHA-256('') {EMPTY_ROOT.hex()}, "
                f"got {old_root.hex()}"
            )
        return
    # 1. If consistency_path is an empty array, fail.
    if not proof:
        raise ProofError(
            f"consistency proof: expected a non-empty proof from size {old_size} "
            f"to size {new_size}, got none"
        )
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3.-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof: {len(proof)} hashes is too many from size {old_size} "
                f"to size {new_size}"
            )
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    if sn != 0:
        raise ProofError(
            f"consistency proof: {len(proof)} hashes is too few from size {old_size} "
            f"to size {new_size}"
        )
    if fr != old_root:
        raise ProofError(
            f"consistency proof: the computed old root {fr.hex()} does not match the "
            f"old root {old_root.hex()} of size {old_size}"
        )
    if sr != new_root:
        raise ProofError(
            f"consistency proof: the computed new root {sr.hex()} does not match the "
            f"new root {new_root.hex()} of size {new_size}"
        )


class MemoryHashReader:
    """An in-memory store of perfect subtree hashes, for tests and small tools.

    >>> reader = MemoryHashReader.from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b")])
    >>> reader.read_hashes([(1, 0)]) == [node_hash(leaf_hash(b"a"), leaf_hash(b"b"))]
    True
    """

    def __init__(self, hashes: Mapping[HashId, bytes] | None = None) -> None:
        self.hashes: dict[HashId, bytes] = dict(hashes or {})

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Sequence[bytes]) -> MemoryHashReader:
        """Build the store of every perfect subtree hash of a tree with these leaves."""
        reader = cls()
        reader.add(TreeAppender().append(leaf_hashes).new_hashes)
        return reader

    def add(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Store ``(level, index, hash)`` triples, e.g. `AppendResult.new_hashes`."""
        for level, index, h in items:
            _check_hash(f"hash ({level}, {index})", h)
            self.hashes[(level, index)] = bytes(h)

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        """Return the stored hash of each id; raise `MissingHashError` for an unknown one."""
        try:
            return [self.hashes[i] for i in ids]
        except KeyError as exc:
            raise MissingHashError(
                f"hash reader: no stored hash for (level, index) {exc}"
            ) from None


@dataclass(frozen=True)
class AppendResult:
    """What one batch appended: the new size and root, and the new subtree hashes to store."""

    size: int
    root: bytes
    new_hashes: tuple[tuple[int, int, bytes], ...]
    """Every perfect subtree hash completed by the batch, as (level, index, hash), leaves first
    within each leaf; store each exactly once."""


class TreeAppender:
    """The sequencer's incremental Merkle tree (a compact range over [0, size)).

    It holds only the right edge of the tree: one perfect subtree hash per set bit of the
    size. Appending a batch returns every newly completed perfect subtree hash, so the store
    receives each subtree hash once and nothing is ever recomputed.

    >>> appender = TreeAppender()
    >>> result = appender.append([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")])
    >>> result.size, [(level, index) for level, index, _ in result.new_hashes]
    (3, [(0, 0), (0, 1), (1, 0), (0, 2)])
    >>> result.root == root_from_leaf_hashes([leaf_hash(x) for x in (b"a", b"b", b"c")])
    True
    """

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        """Start from a stored tree: its size and the hashes of `right_edge_ids` (size)."""
        ids = right_edge_ids(size)
        if len(edge) != len(ids):
            raise ValueError(
                f"edge: a tree of size {size} has {len(ids)} right-edge subtree hashes "
                f"{ids}, got {len(edge)}"
            )
        for hid, h in zip(ids, edge, strict=True):
            _check_hash(f"edge hash {hid}", h)
        self._size = size
        self._edge: list[tuple[int, int, bytes]] = [
            (level, index, bytes(h)) for (level, index), h in zip(ids, edge, strict=True)
        ]

    @classmethod
    def from_reader(cls, size: int, reader: HashReader) -> TreeAppender:
        """Start from the right-edge hashes of a tree of ``size`` leaves read from a store."""
        ids = right_edge_ids(size)
        table = _read(reader, ids)
        return cls(size, [table[i] for i in ids])

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def edge(self) -> tuple[bytes, ...]:
        """The right-edge subtree hashes, largest first (the state to resume from)."""
        return tuple(h for _, _, h in self._edge)

    @property
    def root(self) -> bytes:
        """MTH of the tree so far."""
        if not self._edge:
            return EMPTY_ROOT
        return _fold([h for _, _, h in self._edge])

    def append(self, leaf_hashes: Sequence[bytes]) -> AppendResult:
        """Append a batch of leaf hashes; return the new size, root and hashes to store.

        The appender is updated in place; if storing the result fails, start again from
        the stored state with `from_reader`.
        """
        for i, h in enumerate(leaf_hashes):
            _check_hash(f"leaf hash {i} of the batch", h)
        edge = list(self._edge)
        new: list[tuple[int, int, bytes]] = []
        size = self._size
        for h in leaf_hashes:
            level, index, cur = 0, size, bytes(h)
            new.append((level, index, cur))
            while edge and edge[-1][0] == level:
                left = edge.pop()
                cur = _node(left[2], cur)
                level, index = level + 1, index >> 1
                new.append((level, index, cur))
            edge.append((level, index, cur))
            size += 1
        self._edge, self._size = edge, size
        return AppendResult(size=size, root=self.root, new_hashes=tuple(new))
