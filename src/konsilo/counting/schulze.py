"""The Schulze method (winning votes), with equal rankings and an optional status quo.

Rule: ``d[x][y]`` is the weight of ballots ranking ``x`` strictly above ``y``; a ballot ranks
the alternatives it leaves out equally, below every alternative it ranks. A link ``x → y``
exists when ``d[x][y] > d[y][x]`` and its strength is ``d[x][y]`` (winning votes). ``p[x][y]``
is the strength of the strongest path from ``x`` to ``y`` (the strength of a path is its
weakest link). ``x`` is better than ``y`` when ``p[x][y] > p[y][x]``; this relation is a strict
partial order, and the Schulze ranking lists its successive maximal groups. The potential
winners are the first group.

Status quo: when ``status_quo`` names an alternative (as LiquidFeedback uses it for competing
initiatives), an initiative is eligible only if it beats the status quo directly
(``d[i][sq] > d[sq][i]``) and is ranked above it (``p[i][sq] > p[sq][i]``). The winners are the
eligible initiatives of the best Schulze group that has any; if none is eligible, the status
quo stands (outcome ``"status_quo"``).

Ties: when several potential winners remain, the result is set-valued (outcome ``"tie"``,
``tied`` holds them), unless the caller asks to settle by lot and gives a published seed; the
draw is then recorded.

Source: Markus Schulze, "A new monotonic, clone-independent, reversal symmetric, and
Condorcet-consistent single-winner election method", Social Choice and Welfare 36 (2011)
267-303, sections 2-3 (its examples are this module's known-answer tests); Behrens, Kistner,
Nitsche, Swierczek, "The Principles of LiquidFeedback" (2014), for the status quo.

Speed: the pairwise matrix is computed with numpy from the distinct rankings, by comparing
rank positions (int8) in blocks and adding the block counts for each distinct ballot weight,
so the arithmetic stays exact integers; the beat paths are a Floyd-Warshall widest-path pass.

>>> p = RankedProfile.from_rankings(["A", "B", "C"], [["A", "B", "C"], ["B", "C", "A"], ["A"]])
>>> r = count(p)
>>> r.winners, r.details["ranking"]
(('A',), [['A'], ['B'], ['C']])
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from fractions import Fraction
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from konsilo.counting.profile import RankedProfile
from konsilo.counting.result import Draw, Result, Round
from konsilo.counting.tiebreak import Lot

__all__ = ["SchulzeError", "count", "count_arrays", "pairwise", "strongest_paths"]

_BLOCK = 1 << 16  # rows per block: long enough to vectorise, short enough to stay in cache


class SchulzeError(ValueError):
    """The Schulze count was asked something impossible; the message names the field."""


def _positions(profile: RankedProfile) -> npt.NDArray[np.int16]:
    """Rank position of every candidate on every distinct ranking (unranked: below all)."""
    if not profile.has_equal_rankings:
        matrix = profile.strict_ballots("Schulze").matrix
        rows, width = matrix.shape
        n = len(profile.candidates)
        lengths = np.count_nonzero(matrix >= 0, axis=1)
        pos = np.empty((rows, n + 1), dtype=np.int16)
        pos[:] = lengths[:, None]
        target = np.where(matrix >= 0, matrix, n).astype(np.intp)
        np.put_along_axis(pos, target, np.arange(width, dtype=np.int16)[None, :], axis=1)
        return pos[:, :n]
    rankings = profile.rankings
    rows, n = len(rankings), len(profile.candidates)
    groups_per_row = np.fromiter(map(len, rankings), dtype=np.int32, count=rows)
    num_groups = int(groups_per_row.sum(dtype=np.int64))
    # One pass over the candidates; a second over the group sizes only when some group holds
    # more than one candidate (as many entries as groups means every group is a singleton).
    cands = np.fromiter(chain.from_iterable(chain.from_iterable(rankings)), dtype=np.int32)
    if len(cands) == num_groups:
        group_of_entry = np.arange(num_groups, dtype=np.int32)
        entries_per_row = groups_per_row
    else:
        sizes = np.fromiter(map(len, chain.from_iterable(rankings)), np.int32, count=num_groups)
        group_of_entry = np.repeat(np.arange(num_groups, dtype=np.int32), sizes)
        row_ends = np.cumsum(groups_per_row, dtype=np.int64)
        entries_per_row = np.add.reduceat(sizes, row_ends - groups_per_row).astype(np.int32)
    pos = np.empty((rows, n), dtype=np.int16)
    pos[:] = groups_per_row[:, None]
    if len(cands) == rows * n and len(cands) == num_groups:
        # Every ballot ranks every candidate strictly: positions are the column numbers.
        order = np.broadcast_to(np.arange(n, dtype=np.int16), (rows, n))
        np.put_along_axis(pos, cands.reshape(rows, n), order, axis=1)
        return pos
    first_group = np.cumsum(groups_per_row, dtype=np.int64) - groups_per_row
    entry_row = np.repeat(np.arange(rows, dtype=np.int32), entries_per_row)
    entry_pos = (group_of_entry - first_group[entry_row]).astype(np.int16)
    pos[entry_row, cands] = entry_pos
    return pos


def _unit_counts(pos: npt.NDArray[Any], *, strict: bool) -> npt.NDArray[np.int64]:
    """``out[x, y]``: how many rows rank x strictly above y, in exact integers.

    Rows are laid out along the fast axis, so each comparison runs over a long contiguous
    vector. Only pairs x < y are compared; when every row is strict (no two candidates share
    a position), the reverse count is the rest of the rows, otherwise it is compared too.
    """
    rows, n = pos.shape
    out = np.zeros((n, n), dtype=np.int64)
    by_candidate = np.ascontiguousarray(pos.T)
    for start in range(0, rows, _BLOCK):
        block = by_candidate[:, start : start + _BLOCK]
        size = block.shape[1]
        for x in range(n - 1):
            rest = block[x + 1 :]
            above = np.count_nonzero(block[x] < rest, axis=1)
            out[x, x + 1 :] += above
            if strict:
                out[x + 1 :, x] += size - above
            else:
                out[x + 1 :, x] += np.count_nonzero(block[x] > rest, axis=1)
    return out


def _pairwise_scaled(profile: RankedProfile) -> tuple[list[list[int]], int, tuple[int, ...]]:
    """The pairwise matrix over standing candidates as integers times a common denominator."""
    standing = tuple(i for i, c in enumerate(profile.candidates) if c not in profile.withdrawn)
    n = len(standing)
    if not profile.num_distinct:
        return [[0] * n for _ in range(n)], 1, standing
    full = _positions(profile)
    strict = bool((full.max(axis=1) == len(profile.candidates) - 1).all())
    pos = full[:, list(standing)]
    narrow = pos.astype(np.int8) if pos.max(initial=0) < 127 else pos
    counts = None if profile.has_equal_rankings else profile.strict_ballots("Schulze").counts
    if counts is not None:
        scale = 1
        scaled = counts.tolist()
    elif profile.is_integral:
        scale = 1
        scaled = list(map(int, profile.weights))
    else:
        scale = math.lcm(*{w.denominator for w in profile.weights})
        scaled = [w.numerator * (scale // w.denominator) for w in profile.weights]
    return _weighted_matrix(narrow, scaled, strict=strict), scale, standing


def _weighted_matrix(
    pos: npt.NDArray[Any], weights: Sequence[int] | npt.NDArray[np.int64], *, strict: bool
) -> list[list[int]]:
    """Exact pairwise counts with integer row weights: rows are grouped by equal weight."""
    n = pos.shape[1]
    total = np.zeros((n, n), dtype=object)
    if isinstance(weights, np.ndarray):
        distinct = np.unique(weights).tolist()
        if len(distinct) == 1:
            total += _unit_counts(pos, strict=strict).astype(object) * int(distinct[0])
        else:
            for weight in distinct:
                rows = np.flatnonzero(weights == weight)
                total += _unit_counts(pos[rows], strict=strict).astype(object) * int(weight)
    elif len(set(weights)) == 1:
        total += _unit_counts(pos, strict=strict).astype(object) * weights[0]
    else:
        by_weight: dict[int, list[int]] = {}
        for row, weight in enumerate(weights):
            by_weight.setdefault(weight, []).append(row)
        for weight, group in by_weight.items():
            total += _unit_counts(pos[group], strict=strict).astype(object) * weight
    matrix = [[int(total[x, y]) for y in range(n)] for x in range(n)]
    for x in range(n):
        matrix[x][x] = 0
    return matrix


def pairwise(profile: RankedProfile) -> dict[str, dict[str, Fraction]]:
    """``d[x][y]``: exact weight of ballots ranking ``x`` strictly above ``y`` (standing only).

    >>> p = RankedProfile.from_rankings(["A", "B"], [["A"], [{"A", "B"}]])
    >>> pairwise(p)["A"]["B"], pairwise(p)["B"]["A"]
    (Fraction(1, 1), Fraction(0, 1))
    """
    matrix, scale, standing = _pairwise_scaled(profile)
    names = [profile.candidates[i] for i in standing]
    return {
        x: {y: Fraction(matrix[a][b], scale) for b, y in enumerate(names) if b != a}
        for a, x in enumerate(names)
    }


def _widest_paths(d: Sequence[Sequence[int]]) -> list[list[int]]:
    n = len(d)
    p = np.zeros((n, n), dtype=object)
    for x in range(n):
        for y in range(n):
            if x != y and d[x][y] > d[y][x]:
                p[x, y] = d[x][y]
    for k in range(n):
        through = np.minimum(p[:, k : k + 1], p[k : k + 1, :])
        p = np.maximum(p, through)
        for x in range(n):
            p[x, x] = 0
    return [[int(p[x, y]) for y in range(n)] for x in range(n)]


def strongest_paths(d: Mapping[str, Mapping[str, Fraction]]) -> dict[str, dict[str, Fraction]]:
    """``p[x][y]``: strength of the strongest path (winning votes) from ``x`` to ``y``.

    >>> strongest_paths({"A": {"B": Fraction(2)}, "B": {"A": Fraction(1)}})["A"]["B"]
    Fraction(2, 1)
    """
    names = list(d)
    scale = math.lcm(*(v.denominator for row in d.values() for v in row.values()), 1)
    ints = [[int(d[x].get(y, Fraction(0)) * scale) if x != y else 0 for y in names] for x in names]
    p = _widest_paths(ints)
    return {
        x: {y: Fraction(p[a][b], scale) for b, y in enumerate(names) if b != a}
        for a, x in enumerate(names)
    }


def _groups(names: Sequence[str], p: Sequence[Sequence[int]]) -> list[list[str]]:
    remaining = list(range(len(names)))
    groups: list[list[str]] = []
    while remaining:
        top = [x for x in remaining if not any(p[y][x] > p[x][y] for y in remaining if y != x)]
        groups.append(sorted(names[x] for x in top))
        remaining = [x for x in remaining if x not in top]
    return groups


def _n(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def count(
    profile: RankedProfile,
    *,
    status_quo: str | None = None,
    seed: str | None = None,
    settle_ties_by_lot: bool = False,
) -> Result:
    """Count a ranked profile by the Schulze method; see the module docstring for the rule.

    ``details`` holds ``d`` and ``p`` (nested mappings of exact numbers), ``ranking`` (groups,
    best first; a group of several is a tie in the Schulze order), ``potential_winners`` and,
    with a status quo, ``eligible`` (initiatives beating it). The one round's ``tallies``
    give, for each alternative, how many others it is better than in the Schulze order.

    >>> p = RankedProfile.from_rankings(["SQ", "I1", "I2"], [["SQ", "I1"], ["I2", "SQ"]])
    >>> count(p, status_quo="SQ").outcome
    'status_quo'
    """
    if settle_ties_by_lot and seed is None:
        raise SchulzeError("seed: settling ties by lot needs a published seed")
    if status_quo is not None:
        if status_quo not in profile.candidates:
            raise SchulzeError(f"status_quo: {status_quo!r} is not an alternative")
        if status_quo in profile.withdrawn:
            raise SchulzeError(f"status_quo: {status_quo!r} is withdrawn")
    matrix, scale, standing = _pairwise_scaled(profile)
    return _decide(
        names=[profile.candidates[i] for i in standing],
        matrix=matrix,
        scale=scale,
        ballots=profile.num_ballots,
        empty=profile.empty,
        status_quo=status_quo,
        seed=seed,
        settle_ties_by_lot=settle_ties_by_lot,
    )


def count_arrays(
    candidates: Sequence[str],
    rankings: npt.NDArray[np.integer[Any]],
    weights: npt.NDArray[np.integer[Any]] | None = None,
    *,
    withdrawn: Collection[str] = (),
    status_quo: str | None = None,
    seed: str | None = None,
    settle_ties_by_lot: bool = False,
) -> Result:
    """Count strict rankings given as a padded index matrix, as ``count`` does for a profile.

    ``rankings[r]`` lists candidate indices, most preferred first, padded with ``-1`` after
    the last preference: the format of ``RankedProfile.strict_arrays()``. ``weights`` are whole
    ballot counts per row (default one each). Rows need not be distinct. This is the fast path
    for very large strict profiles held as arrays; the result is the same as ``count`` of the
    equivalent profile.

    >>> import numpy as np
    >>> count_arrays(["A", "B", "C"], np.array([[0, 1, 2], [1, 2, -1], [0, -1, -1]])).winners
    ('A',)
    """
    names = tuple(candidates)
    n = len(names)
    if len(set(names)) != n:
        raise SchulzeError("candidates: a candidate name appears twice")
    matrix = np.asarray(rankings)
    if matrix.ndim != 2 or not np.issubdtype(matrix.dtype, np.integer):
        raise SchulzeError(f"rankings: expected a 2-d integer matrix, got shape {matrix.shape}")
    lowest = int(matrix.min()) if matrix.size else 0
    if matrix.size and (lowest < -1 or int(matrix.max()) >= n):
        raise SchulzeError(f"rankings: candidate indices must be from 0 to {n - 1}, or -1 padding")
    rows, width = matrix.shape
    if weights is None:
        row_weights = np.ones(rows, dtype=np.int64)
    else:
        row_weights = np.asarray(weights)
        if row_weights.shape != (rows,) or not np.issubdtype(row_weights.dtype, np.integer):
            raise SchulzeError(f"weights: expected {rows} whole numbers, one per ranking")
        if rows and row_weights.min() < 0:
            raise SchulzeError("weights: a weight is negative")
    complete = lowest >= 0  # no padding anywhere: every row has the same length
    index_type = np.int32 if rows * (n + 1) < 1 << 31 else np.int64
    target: npt.NDArray[np.signedinteger[Any]]
    if complete:
        lengths = np.full(rows, width, dtype=np.int64)
        target = matrix.astype(index_type)
    else:
        ranked = matrix >= 0
        if width > 1 and np.any(~ranked[:, :-1] & ranked[:, 1:]):
            raise SchulzeError("rankings: -1 padding must come after the last preference")
        lengths = np.count_nonzero(ranked, axis=1)
        target = np.where(ranked, matrix, n).astype(index_type)
    nonempty = lengths > 0
    # One scatter writes each ranked candidate's position; padding lands in a spare row. The
    # positions are laid out candidate by candidate, the layout the pairwise counts read, so
    # ``pos`` (ballot by ballot) is a transposed view and needs no copy.
    small = np.int8 if width < 127 else np.int16
    target *= rows
    target += np.arange(rows, dtype=target.dtype)[:, None]
    flat = np.full(rows * (n + 1), -1, dtype=small)
    flat[target.ravel()] = np.broadcast_to(np.arange(width, dtype=small), (rows, width)).ravel()
    pos = flat.reshape(n + 1, rows)[:n].T
    if complete and width == n:
        duplicated = pos.min(initial=0) < 0  # a repeated candidate leaves another unplaced
        placed = lengths
        if duplicated:
            placed = np.count_nonzero(pos >= 0, axis=1)
    else:
        placed = np.count_nonzero(pos >= 0, axis=1)
    if np.any(placed != lengths):
        bad = int(np.flatnonzero(placed != lengths)[0])
        raise SchulzeError(f"rankings: row {bad} ranks a candidate twice")
    if not (complete and width == n):
        pos = np.where(pos < 0, lengths[:, None].astype(small), pos)
    strict = bool((lengths >= n - 1).all())  # at most one unranked: a strict order
    unknown = set(withdrawn) - set(names)
    if unknown:
        raise SchulzeError(f"withdrawn: unknown candidate(s) {sorted(unknown)}")
    if status_quo is not None and (status_quo not in names or status_quo in withdrawn):
        raise SchulzeError(f"status_quo: {status_quo!r} is not a standing alternative")
    if settle_ties_by_lot and seed is None:
        raise SchulzeError("seed: settling ties by lot needs a published seed")
    standing = [i for i, c in enumerate(names) if c not in withdrawn]
    keep = nonempty & (row_weights > 0)
    narrow = pos if len(standing) == n and bool(keep.all()) else pos[keep][:, standing]
    if len(narrow):
        pairwise_counts = _weighted_matrix(narrow, row_weights[keep], strict=strict)
    else:
        pairwise_counts = [[0] * len(standing) for _ in standing]
    return _decide(
        names=[names[i] for i in standing],
        matrix=pairwise_counts,
        scale=1,
        ballots=Fraction(int(row_weights[nonempty].sum())),
        empty=Fraction(int(row_weights[~nonempty].sum())),
        status_quo=status_quo,
        seed=seed,
        settle_ties_by_lot=settle_ties_by_lot,
    )


def _decide(
    *,
    names: list[str],
    matrix: list[list[int]],
    scale: int,
    ballots: Fraction,
    empty: Fraction,
    status_quo: str | None,
    seed: str | None,
    settle_ties_by_lot: bool,
) -> Result:
    if not names:
        raise SchulzeError("candidates: no alternative stands")
    paths = _widest_paths(matrix)
    n = len(names)
    groups = _groups(names, paths)
    better_count = {
        names[x]: Fraction(sum(1 for y in range(n) if paths[x][y] > paths[y][x])) for x in range(n)
    }
    d_exact = {
        names[x]: {names[y]: Fraction(matrix[x][y], scale) for y in range(n) if y != x}
        for x in range(n)
    }
    p_exact = {
        names[x]: {names[y]: Fraction(paths[x][y], scale) for y in range(n) if y != x}
        for x in range(n)
    }
    ranking_text = " > ".join(" = ".join(g) for g in groups)
    lines = [f"Schulze (winning votes) over {_n(ballots)} ballots: ranking {ranking_text}"]
    details: dict[str, Any] = {
        "d": d_exact,
        "p": p_exact,
        "ranking": groups,
        "potential_winners": groups[0],
    }

    outcome = "elected"
    contenders: list[str]
    if status_quo is None:
        contenders = groups[0]
    else:
        sq = names.index(status_quo)
        eligible = sorted(
            names[i]
            for i in range(n)
            if i != sq and matrix[i][sq] > matrix[sq][i] and paths[i][sq] > paths[sq][i]
        )
        details["status_quo"] = status_quo
        details["eligible"] = eligible
        contenders = next(
            ([c for c in g if c in eligible] for g in groups if set(g) & set(eligible)), []
        )
        if eligible:
            lines.append(
                f"{', '.join(eligible)} beat the status quo {status_quo} directly and by beat path"
            )
        else:
            lines.append(f"no initiative beats the status quo {status_quo}")
    draws: list[Draw] = []
    tied: frozenset[str] = frozenset()
    if not contenders:
        winners: tuple[str, ...] = (status_quo,) if status_quo is not None else ()
        outcome = "status_quo"
        lines.append(f"{status_quo} stands: status quo")
    elif len(contenders) == 1:
        winners = (contenders[0],)
        lines.append(f"{contenders[0]} is better than or equal to every other: elected")
    elif settle_ties_by_lot:
        draw = Lot(seed).draw(contenders, reason="tie between Schulze winners")
        draws.append(draw)
        winners = (draw.chosen,)
        lines.append(f"{', '.join(contenders)} tie; {draw.chosen} is drawn by lot: elected")
    else:
        winners = ()
        tied = frozenset(contenders)
        outcome = "tie"
        lines.append(f"{', '.join(contenders)} tie as Schulze winners: tie")
    sentence = "; ".join(lines)
    return Result(
        method="schulze",
        rule={
            "method": "schulze",
            "strength": "winning_votes",
            "status_quo": status_quo,
            "settle_ties_by_lot": settle_ties_by_lot,
        },
        winners=winners,
        rounds=(
            Round(
                number=1,
                tallies=better_count,
                explanation=sentence,
                elected=winners,
                draws=tuple(draws),
                exhausted=empty,
                extra={"ranking": groups},
            ),
        ),
        outcome=outcome,
        summary=sentence,
        tied=tied,
        seed=seed,
        details=details,
    )
