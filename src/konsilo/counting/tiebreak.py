"""Drawing lots from a published seed, so that anyone can repeat the draw.

The generator is SHA-256 in counter mode over the seed: draw number ``n`` reads
``SHA-256(seed || ":" || n)`` as a big-endian integer and rejects values that would bias the
choice. The tied options are sorted by their code-point order first, so the input order of
ballots or candidates cannot change who is drawn.

>>> lot = Lot("2026-11-22 public seed")
>>> lot.draw(["Bea", "Ana"], reason="tie for exclusion").chosen in {"Ana", "Bea"}
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from konsilo.counting.result import Draw

__all__ = ["Lot", "LotRequiredError"]


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
