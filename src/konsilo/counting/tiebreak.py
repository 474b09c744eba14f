"""Drawing lots from a published seed, so that anyone can repeat the draw.

The generator is SHA-256 in counter mode over the seed: draw number ``n`` reads
``SHA-256(seed || ":" || n)`` as a big-endian integer and rejects values that would bias the
choice. The tied options are sorted by their code-point order first, so the input order of
ballots or candidates cannot change who is drawn.

A vote's seed must be unknown until voting has ended, or a voter could predict the draw and
vote or time their ballot to suit it. `closing_seed` makes it from the first checkpoint the
record signs after the vote's closing entry: it does not exist before the close, nobody
without the log's signing key can compute its Ed25519 signature, and anyone can re-derive it
from the published checkpoint.

>>> lot = Lot("2026-11-22 public seed")
>>> lot.draw(["Bea", "Ana"], reason="tie for exclusion").chosen in {"Ana", "Bea"}
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from konsilo.counting.result import Draw

__all__ = ["Lot", "LotRequiredError", "closing_seed"]


class LotRequiredError(ValueError):
    """A tie had to be settled by lot and no seed was given."""


class Lot:
    """A deterministic drawing of lots from a seed (the record supplies a public value)."""

    def __init__(self, seed: str | None) -> None:
        self.seed = seed
        self._counter = 0

    def _uniform(self, n: int) -> int:
        if self.seed is None:
            raise LotRequiredError("seed: a tie must be settled by lot, but no seed was given")
        limit = (1 << 256) - ((1 << 256) % n)
        while True:
            digest = hashlib.sha256(f"{self.seed}:{self._counter}".encode()).digest()
            self._counter += 1
            value = int.from_bytes(digest, "big")
            if value < limit:
                return value % n

    def draw(self, among: Iterable[str], *, reason: str) -> Draw:
        """Choose one of ``among`` by lot and return the recorded draw."""
        options = tuple(sorted(set(among)))
        if not options:
            raise ValueError("among: cannot draw from no options")
        counter = self._counter
        chosen = options[0] if len(options) == 1 else options[self._uniform(len(options))]
        return Draw(among=options, chosen=chosen, counter=counter, reason=reason)


def closing_seed(item: str, checkpoint_sha256: bytes) -> str:
    """The seed of an item's lots: the item and the SHA-256 of a signed checkpoint note.

    ``checkpoint_sha256`` is the SHA-256 of the exact bytes of the first checkpoint note
    signed over the vote's closing entry (``vote.closed``), as published; the item's id
    keeps the draws of two votes closed in the same batch apart.

    >>> closing_seed("p-1", bytes(32))
    'p-1/0000000000000000000000000000000000000000000000000000000000000000'
    """
    if len(checkpoint_sha256) != hashlib.sha256().digest_size:
        raise ValueError(
            f"checkpoint_sha256: expected a 32-byte SHA-256, got {len(checkpoint_sha256)} bytes"
        )
    return f"{item}/{checkpoint_sha256.hex()}"
