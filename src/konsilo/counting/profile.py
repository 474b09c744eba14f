"""Ranked ballot profiles: identical ballots merged, with exact weights, held as arrays.

A ranking is a sequence of preference groups, most preferred first; a group with more than
one candidate is an equal ranking. Most rules refuse equal rankings (``require_strict``);
Schulze and Meek with equalisation accept them. Identical rankings are merged and their
weights added, and the distinct rankings are kept in one canonical (sorted) order, so the
order of ballots in the input can never change a result.

Strict profiles (no equal rankings) are held as a padded index matrix, one row per distinct
ranking with ``-1`` after the last preference, and one exact weight per row: an ``int64``
array when every weight is a whole number, ``Fraction``\\ s otherwise. A million full rankings
over 30 candidates take 30 MB this way, where tuples would take gigabytes; ``rankings`` and
``weights`` are still available as tuples, built on first use. Profiles with equal rankings
keep the general form (tuples of groups).

>>> p = RankedProfile.from_rankings(["Ana", "Bea"], [["Ana", "Bea"], ["Bea"], ["Ana", "Bea"]])
>>> int(p.num_ballots), len(p.rankings)
(3, 2)
>>> q = RankedProfile.from_indices(["Ana", "Bea"], [[1], [0, 1], [0, 1]])
>>> q.to_canonical() == p.to_canonical()
True
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import chain
from typing import Any, NoReturn

import numpy as np
import numpy.typing as npt

__all__ = ["EqualRankingError", "ProfileError", "RankedProfile", "Ranking", "StrictBallots"]

Ranking = tuple[tuple[int, ...], ...]
"""A ranking as groups of candidate indices, most preferred first."""

IntMatrix = npt.NDArray[np.signedinteger[Any]]

_INT64_SAFE = 1 << 62  # totals of int64 weights stay below this, so sums never overflow
_SMALL = 256  # up to this many ballots given as lists, plain Python beats numpy's overhead


class ProfileError(ValueError):
    """A ballot profile is malformed; the message names the ballot and the problem."""


class EqualRankingError(ProfileError):
    """A rule that needs strict rankings was given a ballot that ranks candidates equally."""


@dataclass(frozen=True, slots=True)
class StrictBallots:
    """A strict profile's distinct rankings as arrays, for counting rules that use numpy.

    ``matrix[r]`` lists candidate indices, most preferred first, padded with ``-1``; rows
    are distinct, non-empty and in canonical order. Exactly one of ``counts`` (whole weights,
    ``int64``) and ``fractions`` (exact weights) is set, one entry per row.
    """

    matrix: IntMatrix
    counts: npt.NDArray[np.int64] | None
    fractions: tuple[Fraction, ...] | None

    @property
    def lengths(self) -> npt.NDArray[np.int64]:
        """How many candidates each row ranks."""
        lengths: npt.NDArray[np.int64] = np.count_nonzero(self.matrix >= 0, axis=1).astype(np.int64)
        return lengths


def _as_group(item: str | Collection[str]) -> tuple[str, ...]:
    if isinstance(item, str):
        return (item,)
    return tuple(item)


def _small_dtype(n: int) -> type[np.signedinteger[Any]]:
    if n < 127:
        return np.int8
    if n < 32767:
        return np.int16
    return np.int32


def _bad_ballot(row: int, problem: str) -> NoReturn:
    raise ProfileError(f"ballot {row + 1}: {problem}")


def _matrix_from_lists(rows: Sequence[Sequence[int]], n: int) -> IntMatrix:
    """A padded matrix from Python lists of indices (ragged lists are padded with -1)."""
    count = len(rows)
    dtype = _small_dtype(n)
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=count)
    width = int(lengths.max()) if count else 0
    total = int(lengths.sum())
    try:
        try:
            flat = np.fromiter(chain.from_iterable(rows), dtype=dtype, count=total)
        except OverflowError:
            # An index too large for the narrow type: read it wide, so it is reported.
            dtype = np.int64
            flat = np.fromiter(chain.from_iterable(rows), dtype=dtype, count=total)
    except (OverflowError, TypeError, ValueError) as exc:
        raise ProfileError(f"rankings: candidate indices must be whole numbers ({exc})") from None
    if count and bool((lengths == width).all()):
        return flat.reshape(count, width)
    matrix = np.full((count, width), -1, dtype=dtype)
    matrix[np.arange(width) < lengths[:, None]] = flat
    return matrix


def _check_matrix(matrix: IntMatrix, n: int) -> bool:
    """Indices in range, padding only after the last preference, no candidate twice.

    Returns whether the matrix has no padding at all (every row of full width).
    """
    if not matrix.size:
        return False
    low, high = int(matrix.min()), int(matrix.max())
    if low < -1 or high >= n:
        bad = int(np.flatnonzero(((matrix < -1) | (matrix >= n)).any(axis=1))[0])
        value = int(matrix[bad][(matrix[bad] < -1) | (matrix[bad] >= n)][0])
        _bad_ballot(bad, f"candidate index {value} is not between 0 and {n - 1}")
    if matrix.shape[1] > 1 and low < 0:
        ranked = matrix >= 0
        gaps = ~ranked[:, :-1] & ranked[:, 1:]
        if gaps.any():
            _bad_ballot(int(np.flatnonzero(gaps.any(axis=1))[0]), "-1 padding before a preference")
    if n <= 62:
        twice = _ranked_twice_bits(matrix, n, padded=low < 0)
    else:
        ordered = np.sort(matrix, axis=1)
        twice = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(axis=1)
    if twice.any():
        _bad_ballot(int(np.flatnonzero(twice)[0]), "a candidate is ranked twice")
    return low >= 0


_CHECK_BLOCK = 1 << 16  # rows per block: the block's temporaries stay in the cache


def _ranked_twice_bits(matrix: IntMatrix, n: int, *, padded: bool) -> npt.NDArray[np.bool_]:
    """Rows that rank a candidate twice, for up to 62 candidates: each row's set of ranked
    candidates as a bit mask (padding sets bit ``n``, masked out), whose population count is
    below the number of preferences exactly when one repeats."""
    bits: type[np.unsignedinteger[Any]] = np.uint32 if n <= 31 else np.uint64
    one = bits(1)
    padding_bit = np.left_shift(one, bits(n))
    twice = np.zeros(matrix.shape[0], dtype=bool)
    for start in range(0, matrix.shape[0], _CHECK_BLOCK):
        block = matrix[start : start + _CHECK_BLOCK]
        if padded:
            ranked = block >= 0
            shifts = np.where(ranked, block, n).astype(bits)
            length = ranked.sum(axis=1)
        else:
            shifts = block.astype(bits, copy=False)
            length = np.full(block.shape[0], block.shape[1])
        seen = np.bitwise_or.reduce(np.left_shift(one, shifts), axis=1)
        seen &= ~padding_bit
        twice[start : start + _CHECK_BLOCK] = np.bitwise_count(seen) != length
    return twice


def _row_keys(matrix: IntMatrix, n: int) -> list[npt.NDArray[np.int64]]:
    """Integer keys whose lexicographic order is the rows' order (-1 padding sorts first)."""
    bits = max(n.bit_length(), 1)
    per_key = 62 // bits
    keys = []
    columns = np.ascontiguousarray(matrix.T)
    for start in range(0, matrix.shape[1], per_key):
        key = np.zeros(matrix.shape[0], dtype=np.int64)
        for column in columns[start : start + per_key]:
            key <<= bits
            key |= column + 1
        keys.append(key)
    return keys


def _merge_rows(
    matrix: IntMatrix, n: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Sort rows canonically and find runs of identical rows: (order, run starts, run ids)."""
    rows = matrix.shape[0]
    keys = _row_keys(matrix, n)
    if not keys:
        order = np.arange(rows, dtype=np.intp)
        return order, np.zeros(min(rows, 1), dtype=np.intp), np.zeros(rows, dtype=np.intp)
    # Sort by the first key alone; only rows that tie on it need the other keys (few, when
    # rankings are mostly distinct; all of them, at worst).
    order = np.argsort(keys[0])
    if len(keys) > 1 and rows > 1:
        first = keys[0][order]
        tied = np.zeros(rows, dtype=bool)
        same = first[1:] == first[:-1]
        tied[1:] |= same
        tied[:-1] |= same
        if tied.any():
            at = np.flatnonzero(tied)
            subset = order[at]
            resolved = np.lexsort([key[subset] for key in keys[::-1]])
            order[at] = subset[resolved]
    change = np.zeros(rows, dtype=bool)
    if rows:
        change[0] = True
    for key in keys:
        ordered = key[order]
        change[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(change)
    run_ids = np.cumsum(change) - 1
    return order, starts, run_ids


@dataclass(frozen=True, slots=True)
class _Pending:
    """Validated strict rows not yet merged into canonical order (see ``_merge``)."""

    matrix: IntMatrix
    counts: npt.NDArray[np.int64] | None
    fractions: tuple[Fraction, ...] | None
    n: int


def _merge(rows: _Pending) -> StrictBallots:
    """Sort rows canonically, merge identical ones, drop those of weight zero."""
    matrix, counts, fractions = rows.matrix, rows.counts, rows.fractions
    order, starts, run_ids = _merge_rows(matrix, rows.n)
    distinct = matrix[order[starts]]
    merged_counts: npt.NDArray[np.int64] | None = None
    merged_fractions: tuple[Fraction, ...] | None = None
    if counts is not None:
        merged_counts = np.add.reduceat(counts[order], starts) if len(starts) else counts[:0].copy()
        keep_rows = merged_counts != 0
        merged_counts = merged_counts[keep_rows]
    else:
        assert fractions is not None
        sums = [Fraction(0)] * len(starts)
        for run, row in zip(run_ids.tolist(), order.tolist(), strict=True):
            sums[run] += fractions[row]
        keep_rows = np.array([s != 0 for s in sums], dtype=bool)
        merged_fractions = tuple(s for s in sums if s != 0)
    if not bool(keep_rows.all()):
        distinct = distinct[keep_rows]
        # Rows of weight zero are gone: drop the columns only they used.
        kept = int(np.count_nonzero(distinct >= 0, axis=1).max()) if len(distinct) else 0
        distinct = np.ascontiguousarray(distinct[:, :kept])
    distinct.setflags(write=False)
    if merged_counts is not None:
        merged_counts.setflags(write=False)
    return StrictBallots(distinct, merged_counts, merged_fractions)


def _int_weights(weights: Sequence[Any], rows: int) -> npt.NDArray[np.int64] | None:
    """Whole weights as int64 when they are all small whole numbers, else None."""
    if not all(
        isinstance(w, int | np.integer) or (isinstance(w, Fraction) and w.denominator == 1)
        for w in weights
    ):
        return None
    try:
        counts = np.array([int(w) for w in weights], dtype=np.int64)
    except OverflowError:
        return None
    if rows and int(np.abs(counts).max()) >= _INT64_SAFE // rows:
        return None
    return counts


class RankedProfile:
    """Distinct rankings with their total weights, over named candidates.

    ``weights[i]`` is the number (or exact fractional weight) of ballots with
    ``rankings[i]``. ``withdrawn`` candidates stay listed but every rule skips them.
    ``empty`` counts ballots that ranked nobody (kept for turnout, never for any candidate).

    Build profiles with ``from_rankings`` (names), ``from_indices`` (indices, fast),
    ``from_grouped`` or ``from_canonical``; the constructor keeps rankings as given.
    """

    candidates: tuple[str, ...]
    withdrawn: frozenset[str]
    empty: Fraction
    title: str

    def __init__(
        self,
        candidates: Sequence[str],
        rankings: Sequence[Ranking] = (),
        weights: Sequence[int | Fraction] = (),
        *,
        withdrawn: Collection[str] = frozenset(),
        empty: int | Fraction = Fraction(0),
        title: str = "",
    ) -> None:
        self._setup(candidates, withdrawn, empty, title)
        if len(rankings) != len(weights):
            raise ProfileError("weights: there must be one weight per ranking")
        self.__dict__["_general"] = (tuple(rankings), tuple(Fraction(w) for w in weights))
        self.__dict__["_arrays"] = None

    def _setup(
        self, candidates: Sequence[str], withdrawn: Collection[str], empty: Any, title: str
    ) -> None:
        names = tuple(candidates)
        if len(set(names)) != len(names):
            raise ProfileError("candidates: a candidate name appears twice")
        gone = frozenset(withdrawn)
        unknown = gone - set(names)
        if unknown:
            raise ProfileError(f"withdrawn: unknown candidate(s) {sorted(unknown)}")
        values = self.__dict__
        values["candidates"] = names
        values["withdrawn"] = gone
        values["empty"] = Fraction(empty)
        values["title"] = title
        values["_index"] = {c: i for i, c in enumerate(names)}

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"RankedProfile is immutable: cannot set {name!r}")

    def __repr__(self) -> str:
        return (
            f"RankedProfile(candidates={self.candidates!r}, ballots={self.num_ballots}, "
            f"withdrawn={sorted(self.withdrawn)!r})"
        )

    @classmethod
    def _from_strict(
        cls,
        candidates: tuple[str, ...],
        ballots: StrictBallots | _Pending,
        *,
        withdrawn: Collection[str],
        empty: Fraction,
        title: str,
    ) -> RankedProfile:
        profile = cls.__new__(cls)
        profile._setup(candidates, withdrawn, empty, title)
        profile.__dict__["_general"] = None
        profile.__dict__["_arrays"] = ballots
        return profile

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_indices(
        cls,
        candidates: Sequence[str],
        rankings: IntMatrix | Sequence[Sequence[int]],
        weights: npt.NDArray[np.integer[Any]] | Sequence[int | Fraction] | None = None,
        *,
        withdrawn: Collection[str] = (),
        title: str = "",
    ) -> RankedProfile:
        """Build a strict profile from candidate indices, most preferred first: the fast way.

        ``rankings`` is a numpy integer matrix padded with ``-1`` after the last preference,
        or a list of lists of indices (of any lengths). ``weights`` gives one whole or exact
        fractional weight per ballot (default one each). Identical rows are merged; a ballot
        ranking nobody counts as empty.

        >>> p = RankedProfile.from_indices(["A", "B", "C"], [[2, 0], [1], [2, 0]], [1, 2, 3])
        >>> p.rankings, p.weights
        ((((1,),), ((2,), (0,))), (Fraction(2, 1), Fraction(4, 1)))
        """
        names = tuple(candidates)
        n = len(names)
        if isinstance(rankings, np.ndarray):
            if rankings.ndim != 2 or not np.issubdtype(rankings.dtype, np.integer):
                raise ProfileError(
                    f"rankings: expected a 2-d integer matrix, got shape {rankings.shape}"
                )
            matrix: IntMatrix = rankings
        elif len(rankings) <= _SMALL:
            return cls._from_small_lists(names, rankings, weights, withdrawn, title)
        else:
            matrix = _matrix_from_lists(rankings, n)
        full_width = _check_matrix(matrix, n)
        rows = matrix.shape[0]
        counts: npt.NDArray[np.int64] | None
        fractions: list[Fraction] | None = None
        if weights is None:
            counts = np.ones(rows, dtype=np.int64)
        elif isinstance(weights, np.ndarray):
            if weights.shape != (rows,) or not np.issubdtype(weights.dtype, np.integer):
                raise ProfileError(f"weights: expected {rows} whole numbers, one per ballot")
            counts = weights.astype(np.int64)
            if rows and int(np.abs(counts).max()) >= _INT64_SAFE // rows:
                counts, fractions = None, [Fraction(int(w)) for w in weights]
        else:
            if len(weights) != rows:
                raise ProfileError(f"weights: expected {rows} weights, one per ballot")
            counts = _int_weights(weights, rows)
            if counts is None:
                try:
                    fractions = [Fraction(w) for w in weights]
                except (TypeError, ValueError) as exc:
                    raise ProfileError(f"weights: not an exact number ({exc})") from None
        if counts is not None and rows and int(counts.min()) < 0:
            bad = int(np.flatnonzero(counts < 0)[0])
            _bad_ballot(bad, f"weight {int(counts[bad])} is negative")
        if fractions is not None:
            for row, weight in enumerate(fractions):
                if weight < 0:
                    _bad_ballot(row, f"weight {weight} is negative")

        # Ballots ranking nobody are empty; columns of padding only are dropped.
        if full_width:
            lengths = np.full(rows, matrix.shape[1], dtype=np.int64)
        elif matrix.size:
            lengths = np.count_nonzero(matrix >= 0, axis=1)
        else:
            lengths = np.zeros(rows, dtype=np.int64)
        nonempty = lengths > 0
        if counts is not None:
            empty = Fraction(int(counts[~nonempty].sum()))
        else:
            assert fractions is not None
            empty = sum((fractions[i] for i in np.flatnonzero(~nonempty)), Fraction(0))
        if not bool(nonempty.all()):
            keep = np.flatnonzero(nonempty)
            matrix = matrix[keep]
            if counts is not None:
                counts = counts[keep]
            else:
                assert fractions is not None
                fractions = [fractions[i] for i in keep]
        width = int(lengths.max()) if rows else 0
        matrix = np.ascontiguousarray(matrix[:, :width], dtype=_small_dtype(n))

        matrix.setflags(write=False)
        # Merging (a sort of every row) waits until something needs the canonical order:
        # counting rules whose result depends only on the multiset of ballots use the rows
        # as they are (``strict_rows``).
        pending = _Pending(matrix, counts, tuple(fractions) if fractions is not None else None, n)
        return cls._from_strict(names, pending, withdrawn=withdrawn, empty=empty, title=title)

    @classmethod
    def _from_small_lists(
        cls,
        names: tuple[str, ...],
        rankings: Sequence[Sequence[int]],
        weights: npt.NDArray[np.integer[Any]] | Sequence[int | Fraction] | None,
        withdrawn: Collection[str],
        title: str,
    ) -> RankedProfile:
        """``from_indices`` for a few ballots, in plain Python (numpy's overhead dominates there).

        Checks, merges and orders exactly as the array path does.
        """
        n = len(names)
        rows = len(rankings)
        keys: list[tuple[int, ...]] = []
        for row, ranking in enumerate(rankings):
            key = tuple(ranking)
            for value in key:
                if not isinstance(value, int | np.integer) or isinstance(value, bool):
                    raise ProfileError(
                        f"rankings: candidate indices must be whole numbers, got {value!r}"
                    )
                if not -1 <= value < n:
                    _bad_ballot(row, f"candidate index {value} is not between 0 and {n - 1}")
            keys.append(tuple(int(v) for v in key))
        for row, key in enumerate(keys):
            end = len(key)
            while end and key[end - 1] == -1:
                end -= 1
            if -1 in key[:end]:
                _bad_ballot(row, "-1 padding before a preference")
            keys[row] = key[:end]
        for row, key in enumerate(keys):
            if len(set(key)) != len(key):
                _bad_ballot(row, "a candidate is ranked twice")
        if weights is None:
            given: list[Any] = [1] * rows
        elif isinstance(weights, np.ndarray):
            if weights.shape != (rows,) or not np.issubdtype(weights.dtype, np.integer):
                raise ProfileError(f"weights: expected {rows} whole numbers, one per ballot")
            given = [int(w) for w in weights.tolist()]
        else:
            if len(weights) != rows:
                raise ProfileError(f"weights: expected {rows} weights, one per ballot")
            given = list(weights)
        whole = _int_weights(given, rows) if given else np.zeros(0, dtype=np.int64)
        exact: list[Any]
        if whole is not None:
            exact = [int(w) for w in whole.tolist()]
        else:
            try:
                exact = [Fraction(w) for w in given]
            except (TypeError, ValueError) as exc:
                raise ProfileError(f"weights: not an exact number ({exc})") from None
        for row, weight in enumerate(exact):
            if weight < 0:
                _bad_ballot(row, f"weight {weight} is negative")
        grouped: dict[tuple[int, ...], Any] = {}
        empty: Any = 0
        for key, weight in zip(keys, exact, strict=True):
            if key:
                grouped[key] = grouped.get(key, 0) + weight
            else:
                empty += weight
        items = sorted((k, w) for k, w in grouped.items() if w)
        width = max((len(k) for k, _ in items), default=0)
        matrix = np.full((len(items), width), -1, dtype=_small_dtype(n))
        for row, (key, _) in enumerate(items):
            matrix[row, : len(key)] = key
        matrix.setflags(write=False)
        if whole is not None:
            counts = np.array([w for _, w in items], dtype=np.int64)
            counts.setflags(write=False)
            ballots = StrictBallots(matrix, counts, None)
        else:
            ballots = StrictBallots(matrix, None, tuple(Fraction(w) for _, w in items))
        return cls._from_strict(
            names, ballots, withdrawn=withdrawn, empty=Fraction(empty), title=title
        )

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
        weight_list = [Fraction(w) for w in weights] if weights is not None else None
        rows: list[list[tuple[int, ...]]] = []
        strict = True
        for number, raw in enumerate(rankings, start=1):
            if weight_list is not None and number > len(weight_list):
                raise ProfileError("weights: there must be one weight per ranking")
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
            if any(len(g) > 1 for g in groups):
                strict = False
            rows.append(groups)
        if weight_list is not None and len(weight_list) != len(rows):
            raise ProfileError("weights: there must be one weight per ranking")
        for number, weight in enumerate(weight_list or (), start=1):
            if weight < 0:
                raise ProfileError(f"ballot {number}: weight {weight} is negative")
        if strict:
            flat = [[g[0] for g in groups] for groups in rows]
            return cls.from_indices(candidates, flat, weight_list, withdrawn=withdrawn, title=title)
        grouped: dict[Ranking, Fraction] = {}
        empty = Fraction(0)
        for number, groups in enumerate(rows):
            weight = weight_list[number] if weight_list is not None else Fraction(1)
            key = tuple(groups)
            if not key:
                empty += weight
                continue
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
        if all(len(g) == 1 for r in grouped for g in r):
            profile = cls.from_indices(
                candidates,
                [[g[0] for g in r] for r in grouped],
                list(grouped.values()),
                withdrawn=withdrawn,
                title=title,
            )
            return profile._with_empty(Fraction(empty))
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
            index: Mapping[str, int] = self.__dict__["_index"]
            return index[candidate]
        except KeyError:
            raise ProfileError(f"unknown candidate {candidate!r}") from None

    def _merged(self) -> StrictBallots | None:
        """The strict rows in canonical order (merging them on first use), or None."""
        held = self.__dict__["_arrays"]
        if isinstance(held, _Pending):
            held = _merge(held)
            self.__dict__["_arrays"] = held
        merged: StrictBallots | None = held
        return merged

    @cached_property
    def rankings(self) -> tuple[Ranking, ...]:
        """The distinct rankings as groups of candidate indices (built on first use)."""
        general = self.__dict__["_general"]
        if general is not None:
            rankings: tuple[Ranking, ...] = general[0]
            return rankings
        ballots = self._merged()
        assert ballots is not None
        singles = [(i,) for i in range(len(self.candidates))]
        get = operator.itemgetter
        lengths = ballots.lengths.tolist()
        return tuple(
            tuple(get(*row[:k])(singles)) if k > 1 else ((row[0],),)
            for row, k in zip(ballots.matrix.tolist(), lengths, strict=True)
        )

    @cached_property
    def weights(self) -> tuple[Fraction, ...]:
        """The exact weight of each distinct ranking (built on first use)."""
        general = self.__dict__["_general"]
        if general is not None:
            weights: tuple[Fraction, ...] = general[1]
            return weights
        ballots = self._merged()
        assert ballots is not None
        if ballots.fractions is not None:
            return ballots.fractions
        assert ballots.counts is not None
        return tuple(map(Fraction, ballots.counts.tolist()))

    @property
    def num_distinct(self) -> int:
        """How many distinct rankings the profile holds."""
        general = self.__dict__["_general"]
        if general is not None:
            return len(general[0])
        ballots = self._merged()
        assert ballots is not None
        return int(ballots.matrix.shape[0])

    @cached_property
    def num_ballots(self) -> Fraction:
        """Total weight of the non-empty ballots."""
        ballots = self.__dict__["_arrays"]
        if ballots is not None and ballots.counts is not None:
            return Fraction(int(ballots.counts.sum()))
        if ballots is not None:
            return sum(ballots.fractions, Fraction(0))
        return sum(self.weights, Fraction(0))

    @cached_property
    def has_equal_rankings(self) -> bool:
        if self.__dict__["_arrays"] is not None:
            return False
        return any(len(g) > 1 for r in self.rankings for g in r)

    @cached_property
    def is_integral(self) -> bool:
        """True when every weight is a whole number of ballots."""
        if self.empty.denominator != 1:
            return False
        ballots = self.__dict__["_arrays"]
        if ballots is not None and ballots.counts is not None:
            return True
        if ballots is not None:
            return all(w.denominator == 1 for w in ballots.fractions)
        return all(w.denominator == 1 for w in self.weights)

    @property
    def continuing(self) -> tuple[str, ...]:
        """Candidates who stand (not withdrawn), in input order."""
        return tuple(c for c in self.candidates if c not in self.withdrawn)

    def require_strict(self, rule: str) -> None:
        """Refuse equal rankings, naming a ballot that has one."""
        if self.__dict__["_arrays"] is not None:
            return
        for ranking in self.rankings:
            for group in ranking:
                if len(group) > 1:
                    names = " = ".join(self.candidates[i] for i in group)
                    raise EqualRankingError(
                        f"{rule} does not allow equal rankings, but a ballot ranks {names} equally"
                    )

    def strict_ballots(self, rule: str = "this rule") -> StrictBallots:
        """The strict rankings as arrays (refusing equal rankings in the name of ``rule``).

        >>> b = RankedProfile.from_indices(["A", "B"], [[1, 0], [1, 0], [0]]).strict_ballots()
        >>> b.matrix.tolist(), b.counts.tolist()
        ([[0, -1], [1, 0]], [1, 2])
        """
        ballots = self._merged()
        if ballots is not None:
            return ballots
        return self._strict_from_general(rule)

    def strict_rows(self, rule: str = "this rule") -> StrictBallots:
        """Like ``strict_ballots`` but in no particular order, identical rows maybe unmerged.

        For rules whose result depends only on the multiset of ballots (sums of exact
        weights): it spares them the sort that the canonical order needs.
        """
        held = self.__dict__["_arrays"]
        if isinstance(held, _Pending):
            return StrictBallots(held.matrix, held.counts, held.fractions)
        return self.strict_ballots(rule)

    @cached_property
    def _strict_cache(self) -> StrictBallots:
        n = len(self.candidates)
        width = max((len(r) for r in self.rankings), default=0)
        matrix = np.full((len(self.rankings), width), -1, dtype=_small_dtype(n))
        for row, ranking in enumerate(self.rankings):
            matrix[row, : len(ranking)] = [g[0] for g in ranking]
        matrix.setflags(write=False)
        counts = _int_weights(self.weights, len(self.weights))
        if counts is not None:
            counts.setflags(write=False)
            return StrictBallots(matrix, counts, None)
        return StrictBallots(matrix, None, self.weights)

    def _strict_from_general(self, rule: str) -> StrictBallots:
        self.require_strict(rule)
        return self._strict_cache

    def strict_arrays(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """Rankings as a padded index matrix (-1 after the last preference) and integer weights.

        For fast counting of strict profiles with whole-ballot weights; exact fractional
        weights must use ``strict_ballots()`` or ``rankings``/``weights``.
        """
        ballots = self.strict_ballots("array counting")
        if ballots.counts is None:
            raise ProfileError("weights: array counting needs whole-number ballot weights")
        matrix = ballots.matrix.astype(np.int32)
        if matrix.shape[1] == 0:
            matrix = np.full((matrix.shape[0], 1), -1, dtype=np.int32)
        return matrix, ballots.counts.copy()

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
        if not empty:
            return self
        ballots: StrictBallots | _Pending | None = self.__dict__["_arrays"]
        if ballots is not None:
            return RankedProfile._from_strict(
                self.candidates,
                ballots,
                withdrawn=self.withdrawn,
                empty=self.empty + empty,
                title=self.title,
            )
        return RankedProfile(
            candidates=self.candidates,
            rankings=self.rankings,
            weights=self.weights,
            withdrawn=self.withdrawn,
            empty=self.empty + empty,
            title=self.title,
        )
