"""Benchmark the pure record package on this machine.

Prints the SHA-256 rate for leaf hashes of 64-byte entries, then builds the store of every
perfect subtree hash of a large tree once (a numpy array per level, or a SQLite file) and
times inclusion and consistency proofs read from it through a HashReader. The floor is
under 5 ms per inclusion proof for a random entry of a 10,000,000-leaf tree.

    PYTHONPATH=src python3 bench/record_pure.py       # 10,000,000 leaves, numpy store
    PYTHONPATH=src python3 bench/record_pure.py --store sqlite --leaves 2000000
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence

import numpy as np

from konsilo.record import (
    HashId,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

FLOOR_MS = 5.0


def sha256_rate(count: int) -> float:
    """Leaf hashes per second of 0x00 || 64-byte entries with hashlib."""
    entries = [os.urandom(64) for _ in range(count)]
    sha = hashlib.sha256
    start = time.perf_counter()
    for entry in entries:
        sha(b"\x00" + entry).digest()
    return count / (time.perf_counter() - start)


def build_levels(leaves: int) -> list[np.ndarray]:
    """Every perfect subtree hash, level by level: levels[l][i] is hash (l, i)."""
    sha = hashlib.sha256
    # Entries are 64 bytes: the leaf index, padded, so the tree is reproducible.
    level0 = b"".join(sha(b"\x00" + i.to_bytes(64, "big")).digest() for i in range(leaves))
    levels = [np.frombuffer(level0, dtype=np.uint8).reshape(-1, 32)]
    while len(levels[-1]) >= 2:
        below = levels[-1]
        pairs = len(below) // 2
        buf = memoryview(below[: 2 * pairs].tobytes())
        up = b"".join(sha(b"\x01" + buf[i : i + 64]).digest() for i in range(0, 64 * pairs, 64))
        levels.append(np.frombuffer(up, dtype=np.uint8).reshape(-1, 32))
    return levels


class NumpyHashReader:
    """Reads stored subtree hashes from one numpy array per level."""

    def __init__(self, levels: list[np.ndarray]) -> None:
        self.levels = levels

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        return [self.levels[level][index].tobytes() for level, index in ids]


class SqliteHashReader:
    """Reads stored subtree hashes from a SQLite table keyed by (level, idx), one query each."""

    def __init__(self, path: str, levels: list[np.ndarray]) -> None:
        self.db = sqlite3.connect(path)
        self.db.execute(
            "CREATE TABLE hashes (level INTEGER, idx INTEGER, hash BLOB, "
            "PRIMARY KEY (level, idx)) WITHOUT ROWID"
        )
        with self.db:
            for level, array in enumerate(levels):
                data = array.tobytes()
                self.db.executemany(
                    "INSERT INTO hashes VALUES (?, ?, ?)",
                    ((level, i, data[32 * i : 32 * i + 32]) for i in range(len(array))),
                )

    def read_hashes(self, ids: Sequence[HashId]) -> list[bytes]:
        # One statement of primary-key point lookups (a row-value IN list makes SQLite scan).
        query = " UNION ALL ".join(
            "SELECT level, idx, hash FROM hashes WHERE level = ? AND idx = ?" for _ in ids
        )
        params = [x for pair in ids for x in pair]
        rows = self.db.execute(query, params).fetchall()
        table = {(level, idx): h for level, idx, h in rows}
        return [table[i] for i in ids]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--proofs", type=int, default=2_000)
    parser.add_argument("--store", choices=["numpy", "sqlite"], default="numpy")
    args = parser.parse_args()

    rate = sha256_rate(1_000_000)
    print(f"SHA-256 leaf hashes (0x00 || 64-byte entry): {rate:,.0f} /s")

    start = time.perf_counter()
    levels = build_levels(args.leaves)
    stored = sum(len(a) for a in levels)
    print(
        f"built {stored:,} subtree hashes of a {args.leaves:,}-leaf tree "
        f"in {time.perf_counter() - start:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.store == "sqlite":
            start = time.perf_counter()
            reader: NumpyHashReader | SqliteHashReader = SqliteHashReader(
                os.path.join(tmp, "hashes.sqlite3"), levels
            )
            print(f"wrote the SQLite store in {time.perf_counter() - start:.1f} s")
        else:
            reader = NumpyHashReader(levels)
        run(args.leaves, args.proofs, reader)


def run(size: int, proofs: int, reader: NumpyHashReader | SqliteHashReader) -> None:
    rng = random.Random(2026)
    root = tree_root(size, reader)
    print(f"root of size {size:,}: {root.hex()}")

    proof_ms, verify_ms = [], []
    for _ in range(proofs):
        index = rng.randrange(size)
        start = time.perf_counter()
        proof = inclusion_proof(index, size, reader)
        mid = time.perf_counter()
        verify_inclusion(
            index=index,
            size=size,
            leaf_hash=leaf_hash(index.to_bytes(64, "big")),
            proof=proof,
            root=root,
        )
        end = time.perf_counter()
        proof_ms.append((mid - start) * 1000)
        verify_ms.append((end - mid) * 1000)
    report("inclusion proof (read + build)", proof_ms)
    report("inclusion proof verification", verify_ms)

    cons_ms = []
    for _ in range(proofs // 4):
        old = rng.randrange(1, size)
        start = time.perf_counter()
        proof = consistency_proof(old, size, reader)
        old_root = tree_root(old, reader)
        cons_ms.append((time.perf_counter() - start) * 1000)
        verify_consistency(
            old_size=old, new_size=size, old_root=old_root, new_root=root, proof=proof
        )
    report("consistency proof + old root (read + build)", cons_ms)

    for label, value in [
        ("mean", statistics.fmean(proof_ms)),
        ("p99", statistics.quantiles(proof_ms, n=100)[98]),
    ]:
        verdict = "meets" if value < FLOOR_MS else "MISSES"
        print(f"{label} inclusion proof {value:.3f} ms {verdict} the {FLOOR_MS:.0f} ms floor")


def report(label: str, ms: list[float]) -> None:
    q = statistics.quantiles(ms, n=100)
    print(
        f"{label}: mean {statistics.fmean(ms):.3f} ms, median {q[49]:.3f} ms, "
        f"p99 {q[98]:.3f} ms over {len(ms):,}"
    )


if __name__ == "__main__":
    main()
