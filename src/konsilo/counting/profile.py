"""Ranked ballot profiles: identical ballots grouped, with exact weights.

A ranking is a sequence of preference groups, most preferred first; a group with more than
one candidate is an equal ranking. Most rules refuse equal rankings (``require_strict``);
Schulze and Meek with equalisation accept them. Identical rankings are merged and their
weights added, so the order of ballots in the input can never change a result, and a count
over a million ballots works on a few thousand distinct rankings.

>>> p = RankedProfile.from_rankings(["Ana", "Bea"], [["Ana", "Bea"], ["Bea"], ["Ana", "Bea"]])
>>> int(p.num_ballots), len(p.rankings)
(3, 2)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EqualRankingError", "ProfileError", "RankedProfile", "Ranking"]

Ranking = tuple[tuple[int, ...], ...]
"""A ranking as groups of candidate indices, most preferred first."""


class ProfileError(ValueError):
    """A ballot profile is malformed; the message names the ballot and the problem."""


class EqualRankingError(ProfileError):
    """A rule that needs strict rankings was given a ballot that ranks candidates equally."""


def _as_group(item: str | Collection[str]) -> tuple[str, ...]:
    if isinstance(item, str):
        return (item,)
    return tuple(item)


@dataclass(frozen=True, eq=False)
class RankedProfile:
    """Distinct rankings with their total weights, over named candidates.

    ``weights[i]`` is the number (or exact fractional weight) of ballots with
    ``rankings[i]``. ``withdrawn`` candidates stay listed but every rule skips them.
    ``empty`` counts ballots that ranked nobody (kept for turnout, never for any candidate).
    """

    candidates: tuple[str, ...]
    rankings: tuple[Ranking, ...]
    weights: tuple[Fraction, ...]
    withdrawn: frozenset[str] = frozenset()
    empty: Fraction = Fraction(0)
    title: str = ""
    _index: Mapping[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(set(self.candidates)) != len(self.candidates):
            raise ProfileError("candidates: a candidate name appears twice")
        if len(self.rankings) != len(self.weights):
            raise ProfileError("weights: there must be one weight per ranking")
        unknown = self.withdrawn - set(self.candidates)
        if unknown:
            raise ProfileError(f"withdrawn: unknown candidate(s) {sorted(unknown)}")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.candidates)})

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_rankings(
        cls,
        candidates: Sequence[str],
        rankings: Iterable[Sequence[str | Collection[str]]],
        weights: Iterable[int | Fraction] | None = None,
        *,
        withdrawn: Collection[str] = (),
        title: str = "",
    ) -> RankedProfile:
        """Build a profile from rankings given by candidate name (a set for an equal group)."""
        index = {c: i for i, c in enumerate(candidates)}
        grouped: dict[Ranking, Fraction] = {}
        empty = Fraction(0)
        weight_iter = iter(weights) if weights is not None else None
        for number, raw in enumerate(rankings, start=1):
            weight = Fraction(next(weight_iter)) if weight_iter is not None else Fraction(1)
            if weight < 0:
                raise ProfileError(f"ballot {number}: weight {weight} is negative")
            seen: set[int] = set()
            groups: list[tuple[int, ...]] = []
            for item in raw:
                group: list[int] = []
                for name in _as_group(item):
                    if name not in index:
                        raise ProfileError(f"ballot {number}: unknown candidate {name!r}")
                    i = index[name]
                    if i in seen:
                        raise ProfileError(f"ballot {number}: candidate {name!r} ranked twice")
                    seen.add(i)
                    group.append(i)
                if group:
                    groups.append(tuple(sorted(group)))
            if not groups:
                empty += weight
                continue
            key = tuple(groups)
            grouped[key] = grouped.get(key, Fraction(0)) + weight
        return cls.from_grouped(candidates, grouped, withdrawn=withdrawn, empty=empty, title=title)

    @classmethod
    def from_grouped(
        cls,
        candidates: Sequence[str],
        grouped: Mapping[Ranking, int | Fraction],
        *,
        withdrawn: Collection[str] = (),
        empty: int | Fraction = 0,
        title: str = "",
    ) -> RankedProfile:
        """Build a profile from rankings (as index groups) already mapped to their weights."""
        items = sorted((r, Fraction(w)) for r, w in grouped.items() if w)
        return cls(
            candidates=tuple(candidates),
            rankings=tuple(r for r, _ in items),
            weights=tuple(w for _, w in items),
            withdrawn=frozenset(withdrawn),
            empty=Fraction(empty),
            title=title,
        )

    # -- queries ----------------------------------------------------------------------------

    def index(self, candidate: str) -> int:
        """The index of a candidate by name."""
        try:
            return self._index[candidate]
        except KeyError:
            raise ProfileError(f"unknown candidate {candidate!r}") from None

    @cached_property
    def num_ballots(self) -> Fraction:
        """Total weight of the non-empty ballots."""
        return sum(self.weights, Fraction(0))

    @cached_property
    def has_equal_rankings(self) -> bool:
        return any(len(g) > 1 for r in self.rankings for g in r)

    @cached_property
    def is_integral(self) -> bool:
        """True when every weight is a whole number of ballots."""
        return all(w.denominator == 1 for w in self.weights) and self.empty.denominator == 1

    @property
    def continuing(self) -> tuple[str, ...]:
        """Candidates who stand (not withdrawn), in input order."""
        return tuple(c for c in self.candidates if c not in self.withdrawn)

    def require_strict(self, rule: str) -> None:
        """Refuse equal rankings, naming a ballot that has one."""
        for ranking in self.rankings:
            for group in ranking:
                if len(group) > 1:
                    names = " = ".join(self.candidates[i] for i in group)
                    raise EqualRankingError(
                        f"{rule} does not allow equal rankings, but a ballot ranks {names} equally"
                    )

    def strict_arrays(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Rankings as a padded index matrix (-1 after the last preference) and integer weights.

        For fast counting of strict profiles with whole-ballot weights; exact fractional
        weights must use ``rankings``/``weights`` directly.
        """
        self.require_strict("array counting")
        if not self.is_integral:
            raise ProfileError("weights: array counting needs whole-number ballot weights")
        width = max((len(r) for r in self.rankings), default=0)
        matrix = np.full((len(self.rankings), max(width, 1)), -1, dtype=np.int32)
        for row, ranking in enumerate(self.rankings):
            matrix[row, : len(ranking)] = [g[0] for g in ranking]
        weights = np.array([int(w) for w in self.weights], dtype=np.int64)
        return matrix, weights

    # -- canonical form ---------------------------------------------------------------------

    def to_canonical(self) -> dict[str, Any]:
        """The profile as canonical data: rankings by candidate name, weights exact."""
        return {
            "candidates": list(self.candidates),
            "withdrawn": sorted(self.withdrawn),
            "title": self.title,
            "empty": self.empty,
            "ballots": [
                {"ranking": [[self.candidates[i] for i in g] for g in r], "weight": w}
                for r, w in zip(self.rankings, self.weights, strict=True)
            ],
        }

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> RankedProfile:
        """Rebuild a profile from ``to_canonical()`` data (as decoded from canonical JSON)."""
        try:
            ballots = data["ballots"]
            return cls.from_rankings(
                data["candidates"],
                [b["ranking"] for b in ballots],
                [Fraction(b["weight"]) for b in ballots],
                withdrawn=data.get("withdrawn", ()),
                title=data.get("title", ""),
            )._with_empty(Fraction(data.get("empty", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProfileError):
                raise
            raise ProfileError(f"profile: malformed canonical data ({exc})") from None

    def _with_empty(self, empty: Fraction) -> RankedProfile:
        return RankedProfile(
            candidates=self.candidates,
            rankings=self.rankings,
            weights=self.weights,
            withdrawn=self.withdrawn,
            empty=self.empty + empty,
            title=self.title,
        )
