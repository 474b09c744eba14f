"""Meek STV: every candidate keeps a fraction of each vote that reaches them, in fixed point.

Rule (Hill, Wichmann and Woodall, "Algorithm 123 — Single Transferable Vote by Meek's
method", Computer Journal 30(3), 1987, with the New Zealand rules of Schedule 1A of the
Local Electoral Regulations 2001 where they differ, as Droop.py and stv-rs implement them):

- Every standing candidate has a *keep factor* ``k``: 1 while hopeful, 0 once excluded,
  and between them once elected. A ballot starts with weight 1; each candidate it reaches,
  in order of preference, keeps ``weight × k`` and passes on ``weight × (1 − k)``; what no
  candidate keeps is exhausted. A ballot that ranks only withdrawn candidates is not counted.
- Each iteration counts every ballot with the current keep factors, sets the quota to
  ``(total − exhausted) / (seats + 1)`` plus one unit of the last decimal place, elects
  every hopeful candidate whose vote reaches the quota (in candidate order), and computes
  the total surplus: the sum over elected candidates of ``vote − quota``. It then either
  ends the round (a candidate was elected; or the surplus is at most ``omega``; or the
  surplus stopped falling), or sets each elected candidate's keep factor to
  ``k × quota / vote`` and iterates again.
- A round that elects nobody excludes the candidate with the fewest votes; candidates
  whose vote is within the total surplus of the lowest are tied for exclusion (the
  iteration had not settled the order between them; as Droop.py and stv-rs).
- The count ends when every seat is filled (the other candidates are excluded) or when as
  many hopeful candidates remain as seats (they are elected).
- One exclusion per round, never a batch of sure losers (Algorithm 123; Droop.py's
  ``defeat_batch=none``, the setting the reference transcripts were made with).

Arithmetic: fixed point with ``precision`` decimal places (default 9), exactly as the
reference implementations Droop.py (``meek fixed precision=9 omega=6``) and stv-rs
(``--arithmetic fixed9``): ``weight × k`` and ``weight × (1 − k)`` both rounded down
(OpenSTV's and Droop.py's choice; NZ Schedule 1A rounds what is kept up instead, which
konsilo does not offer), the new keep factor ``⌈⌈k × quota⌉ / vote⌉`` rounded up at both
steps (the NZ rule), divisions by whole numbers truncated. ``arithmetic="fixed64"``
(default) holds values in signed 64 bits like stv-rs's ``FixedDecimal9`` and refuses a
profile whose totals would not fit; ``"bigfixed"`` uses unbounded integers. Every tally
in the result is the exact fixed-point value as a ``Fraction``; tallies plus exhausted
weight always equal the total (rounding residue goes to the exhausted weight).

Equal rankings are refused unless ``equal_rankings`` selects a rule: ``"equalize"``
(stv-rs's equalised counting: a group of equally ranked candidates counts as the average of
every order of them) or ``"droop"`` (Droop.py's rule: the weight is split evenly among the
group's standing candidates and what each passes on goes to the next group; a group with
no standing candidate stops the ballot).

Ties for exclusion: when ``tie_order`` is given (a BLT file's ``[tie ...]`` line, or its
candidate order as Droop.py and stv-rs use), the first tied candidate in that order is
excluded. Otherwise the tied candidate with the fewest votes in the latest earlier round
where their votes differ is excluded, and if they were level in every round, one is drawn
by lot from ``seed`` (``konsilo.counting.tiebreak.Lot``) and the draw is recorded.

Speed: strict ballots are held as a matrix; a ballot's count depends only on the elected
candidates it reaches before its first hopeful candidate, so ballots are grouped by that
prefix and their first hopeful, the groups are updated only when a candidate is elected or
excluded, and each iteration computes a few thousand groups with numpy instead of every
ballot.

>>> from konsilo.counting.profile import RankedProfile
>>> p = RankedProfile.from_rankings(
...     ["Ana", "Bea", "Cy"], [["Ana", "Bea"]] * 6 + [["Bea"]] * 2 + [["Cy"]] * 3
... )
>>> r = count(p, seats=2)
>>> r.winners
('Ana', 'Bea')
>>> str(r.rounds[0].threshold)
'3666666667/1000000000'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from konsilo.counting.profile import RankedProfile, Ranking
from konsilo.counting.result import Draw, Result, Round
from konsilo.counting.tiebreak import Lot

__all__ = ["MeekError", "count"]

EqualRule = Literal["refuse", "equalize", "droop"]
Arithmetic = Literal["fixed64", "bigfixed"]

_HOPEFUL, _ELECTED, _OUT, _PAD = 0, 1, 2, 3
_INT64_MAX = (1 << 63) - 1
_KEEP_LIMIT = 4  # keep factors above this many units leave 64-bit numpy arithmetic
_PASCAL64_MAX_CANDIDATES = 66  # C(n, k) fits in 64 bits for every n <= 66
Array = npt.NDArray[Any]


class MeekError(ValueError):
    """A Meek count was asked something it cannot do; the message names the field."""


def _tdiv(a: Array, d: int) -> Array:
    """Division by a positive whole number, truncated toward zero (as fixed point does)."""
    q = a // d
    negative = a < 0
    if negative.any():
        q = np.where(negative & (q * d != a), q + 1, q)
    return q


def _tdiv_int(a: int, d: int) -> int:
    q = abs(a) // abs(d)
    return q if (a >= 0) == (d > 0) else -q


def _fmt(value: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**places)
    return f"{sign}{whole:,}.{frac:0{places}d}" if places else f"{sign}{whole:,}"


def _names(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class _Strict:
    """Strict ballots grouped by (elected prefix, first hopeful), updated incrementally.

    A ballot's count depends only on the elected candidates it ranks before its first
    hopeful candidate (the *prefix*, in ballot order) and on that first hopeful (the
    *terminal*, who keeps the whole remaining weight). ``groups[p, t]`` is the weight of the
    ballots with prefix ``p`` and terminal ``t`` (``t = n``: none, the rest is exhausted).
    Only the ballots whose terminal is elected or excluded move to another group.
    """

    matrix: Array  # rows x width, candidate indices, -1 padded
    weights: Array  # per row
    n: int
    dtype: Any

    def __post_init__(self) -> None:
        rows, width = self.matrix.shape
        # pos[r, c]: where ballot r ranks candidate c (width: not at all).
        small = np.int8 if width < 120 else np.int16 if width < 32000 else np.int64
        self.pos = np.full((rows, self.n + 1), width, dtype=small)
        target = (
            self.matrix
            if not rows or self.matrix.min() >= 0
            else (np.where(self.matrix >= 0, self.matrix, self.n))
        )
        order = np.broadcast_to(np.arange(width, dtype=small), self.matrix.shape)
        np.put_along_axis(self.pos, target, order, axis=1)
        self.pos[:, self.n] = width
        self.width = width
        self.pre = np.zeros(rows, dtype=np.int64)
        self.term = np.full(rows, self.n, dtype=np.int64)
        self.prefixes: list[tuple[int, ...]] = [()]
        # child[p, c]: the prefix p followed by c, once some ballot has it (-1 before).
        self.child = np.full((8, self.n + 1), -1, dtype=np.int64)
        self.groups = np.zeros((8, self.n + 1), dtype=self.dtype)

    def _extend(self, pre: Array, cands: Array) -> Array:
        found = self.child[pre, cands]
        missing = found < 0
        if missing.any():
            keys = np.unique(pre[missing] * (self.n + 1) + cands[missing])
            for key in keys.tolist():
                parent, cand = divmod(key, self.n + 1)
                self.child[parent, cand] = len(self.prefixes)
                self.prefixes.append((*self.prefixes[parent], cand))
                if len(self.prefixes) > self.groups.shape[0]:
                    size = 2 * len(self.prefixes)
                    grown = np.zeros((size, self.n + 1), dtype=self.dtype)
                    grown[: self.groups.shape[0]] = self.groups
                    self.groups = grown
                    child = np.full((size, self.n + 1), -1, dtype=np.int64)
                    child[: self.child.shape[0]] = self.child
                    self.child = child
            found = self.child[pre, cands]
        return found

    def settle(self, rows: Array, status: Array, start: Array) -> None:
        """Give ``rows`` their new terminal and extend their prefixes with the elected
        candidates they rank from position ``start`` up to it."""
        hopeful = np.flatnonzero(status == _HOPEFUL)
        elected = np.flatnonzero(status == _ELECTED)
        pos = self.pos
        if hopeful.size:
            at = pos[rows[:, None], hopeful[None, :]]
            first = at.argmin(axis=1)
            reach = at[np.arange(rows.size), first].astype(np.int64)
            term = np.where(reach < self.width, hopeful[first], self.n)
        else:
            reach = np.full(rows.size, self.width, dtype=np.int64)
            term = np.full(rows.size, self.n, dtype=np.int64)
        self.term[rows] = term
        if not elected.size:
            return
        at = pos[rows[:, None], elected[None, :]]
        new = (at >= start[:, None]) & (at < reach[:, None])
        counts = new.sum(axis=1)
        most = int(counts.max(initial=0))
        if most == 0:
            return
        if most == 1:
            sel = np.flatnonzero(counts)
            cand = elected[new[sel].argmax(axis=1)]
            self.pre[rows[sel]] = self._extend(self.pre[rows[sel]], cand)
            return
        sel = np.flatnonzero(counts)
        key = np.where(new[sel], at[sel].astype(np.int64), self.width + 1)
        order = np.argsort(key, axis=1, kind="stable")
        for k in range(most):
            deeper = counts[sel] > k
            cand = elected[order[deeper, k]]
            self.pre[rows[sel[deeper]]] = self._extend(self.pre[rows[sel[deeper]]], cand)

    def start(self, status: Array) -> None:
        rows = np.arange(self.matrix.shape[0], dtype=np.int64)
        self.settle(rows, status, np.zeros(rows.size, dtype=np.int64))
        np.add.at(self.groups, (self.pre, self.term), self.weights)

    def changed(self, cands: Sequence[int], status: Array) -> None:
        """Candidates ``cands`` (first hopefuls of some ballots) were elected or excluded."""
        rows = np.flatnonzero(np.isin(self.term, np.asarray(cands, dtype=np.int64)))
        if not rows.size:
            return
        self.groups[:, list(cands)] = 0
        start = self.pos[rows, self.term[rows]]
        self.settle(rows, status, start)
        np.add.at(self.groups, (self.pre[rows], self.term[rows]), self.weights[rows])

    def tally(self, kf: Array, one: int) -> Array:
        """Each candidate's vote (fixed point, ``one`` = 1) under keep factors ``kf``."""
        count = len(self.prefixes)
        groups = self.groups[:count]
        per_prefix = groups.sum(axis=1)
        live = np.flatnonzero(per_prefix != 0)
        tallies = np.zeros(self.n, dtype=self.dtype)
        if not live.size:
            return tallies
        depth = max(len(self.prefixes[p]) for p in live.tolist())
        power = np.full(live.size, one, dtype=self.dtype)
        if depth:
            pm = np.full((live.size, depth), -1, dtype=np.int64)
            for row, p in enumerate(live.tolist()):
                prefix = self.prefixes[p]
                pm[row, : len(prefix)] = prefix
            weight = per_prefix[live]
            for d in range(depth):
                cand = pm[:, d]
                valid = cand >= 0
                if not valid.any():
                    break
                c = cand[valid]
                k = kf[c]
                pw = power[valid]
                used = _tdiv(pw * k, one)
                power[valid] = _tdiv(pw * (one - k), one)
                np.add.at(tallies, c, used * weight[valid])
        tallies += power @ groups[live, : self.n]
        return tallies


def _equalized_weights(keep: Sequence[int], one: int) -> tuple[list[int], int]:
    """stv-rs equalised counting of one group: each candidate's share and what passes on.

    Candidate ``i`` keeps ``k_i / g × Σ_m e_m(u without u_i) / C(g − 1, m)``, where ``u`` are
    the others' unused fractions ``1 − k`` and ``e_m`` the elementary symmetric polynomials,
    expanded one factor ``(X + u_j)`` at a time in group order with every product rounded
    down, as stv-rs does; what passes on is the product of all unused fractions.
    """
    g = len(keep)
    if not all(0 <= k <= one for k in keep):
        return _equalized_weights_signed(keep, one)
    unused = [one - k for k in keep]
    row = [comb(g - 1, m) for m in range(g)]
    # prefixes[i]: the polynomial of the factors before i (shared by every skip >= i).
    prefixes = [[one] + [0] * (g - 1)]
    for a in unused[:-1]:
        p = prefixes[-1]
        prefixes.append(p if a == 0 else [p[0]] + [p[m] + p[m - 1] * a // one for m in range(1, g)])
    shares = []
    for i in range(g):
        poly = prefixes[i]
        for a in unused[i + 1 :]:
            if a:
                poly = [poly[0]] + [poly[m] + poly[m - 1] * a // one for m in range(1, g)]
        weight = sum(poly[m] // row[m] for m in range(g))
        shares.append(weight * keep[i] // one // g)
    passed = one
    for a in unused:
        passed = passed * a // one
    return shares, passed


def _equalized_weights_signed(keep: Sequence[int], one: int) -> tuple[list[int], int]:
    """The same with truncation toward zero, for keep factors outside [0, 1]."""
    g = len(keep)
    unused = [one - k for k in keep]
    row = [comb(g - 1, m) for m in range(g)]
    shares = []
    for i in range(g):
        poly = [one] + [0] * (g - 1)
        for j, a in enumerate(unused):
            if j == i or a == 0:
                continue
            poly = [poly[0]] + [poly[m] + _tdiv_int(poly[m - 1] * a, one) for m in range(1, g)]
        weight = sum(_tdiv_int(poly[m], row[m]) for m in range(g))
        shares.append(_tdiv_int(_tdiv_int(weight * keep[i], one), g))
    passed = one
    for a in unused:
        passed = _tdiv_int(passed * a, one)
    return shares, passed


class _Equal:
    """Equalised counting one distinct ranking at a time, truncating toward zero.

    The reference for ``_Equalized`` and its fallback when a keep factor leaves [0, 1]. A
    ballot's count depends only on the keep factors of the groups it reaches: each
    ballot's per-unit count is kept with the keep factors it read, and reused while they
    hold.
    """

    def __init__(self, rankings: list[Ranking], weights: list[int]) -> None:
        self.rankings = rankings
        self.weights = weights
        self.memo: list[tuple[tuple[int, ...], tuple[int, ...], dict[int, int]] | None] = [
            None
        ] * len(rankings)

    def tally(self, kf: list[int], one: int, n: int) -> list[int]:
        sums = [0] * n
        shares: dict[tuple[int, ...], tuple[list[int], int]] = {}
        for b, (ranking, weight) in enumerate(zip(self.rankings, self.weights, strict=True)):
            memo = self.memo[b]
            if memo is not None and all(kf[c] == k for c, k in zip(memo[0], memo[1], strict=True)):
                amounts = memo[2]
            else:
                read: list[int] = []
                amounts = self._equalize(ranking, kf, one, read, shares)
                self.memo[b] = (tuple(read), tuple(kf[c] for c in read), amounts)
            for c, amount in amounts.items():
                sums[c] += amount * weight
        return sums

    @staticmethod
    def _equalize(
        ranking: Ranking,
        kf: list[int],
        one: int,
        read: list[int],
        shares: dict[tuple[int, ...], tuple[list[int], int]],
    ) -> dict[int, int]:
        amounts: dict[int, int] = {}
        power = one
        for group in ranking:
            read.extend(group)
            if len(group) == 1:
                c = group[0]
                k = kf[c]
                amounts[c] = amounts.get(c, 0) + _tdiv_int(power * k, one)
                power = _tdiv_int(power * (one - k), one)
            else:
                keep = tuple(kf[c] for c in group)
                found = shares.get(keep)
                if found is None:
                    found = shares[keep] = _equalized_weights(keep, one)
                for c, share in zip(group, found[0], strict=True):
                    amounts[c] = amounts.get(c, 0) + _tdiv_int(power * share, one)
                power = _tdiv_int(power * found[1], one)
            if power == 0:
                break
        return amounts


class _DroopSplit:
    """Droop.py's rule for equal rankings, for all such ballots at once with numpy.

    Weight moves in packets: a packet reaching a group splits evenly among the group's
    standing candidates, each keeps its share times its keep factor, and what each passes
    on is a new packet for the next group. Packets are independent, so processing them a
    group level at a time gives exactly the sums of Droop.py's recursive descent.
    """

    def __init__(self, rankings: list[Ranking], weights: list[int], n: int, dtype: Any) -> None:
        members: list[int] = []
        starts: list[int] = []
        sizes: list[int] = []
        depth = max(len(r) for r in rankings)
        self.group_of = np.full((len(rankings), depth), -1, dtype=np.int64)
        for b, ranking in enumerate(rankings):
            for level, group in enumerate(ranking):
                self.group_of[b, level] = len(starts)
                starts.append(len(members))
                sizes.append(len(group))
                members.extend(group)
        self.members = np.array(members, dtype=np.int64)
        self.starts = np.array(starts, dtype=np.int64)
        self.sizes = np.array(sizes, dtype=np.int64)
        self.weights = np.array(weights, dtype=object if max(weights) >= 1 << 62 else dtype)
        self.depth = depth
        self.n = n
        self.dtype = dtype

    def tally(self, kf: Array, one: int) -> Array:
        sums = np.zeros(self.n, dtype=self.dtype)
        standing = (kf[self.members] != 0).astype(np.int64)
        per_group = np.add.reduceat(standing, self.starts) if self.starts.size else standing
        ballot = np.arange(self.group_of.shape[0], dtype=np.int64)
        power = np.full(ballot.size, one, dtype=self.dtype)
        for level in range(self.depth):
            if not ballot.size:
                break
            group = self.group_of[ballot, level]
            alive = group >= 0
            alive[alive] = per_group[group[alive]] > 0
            ballot, group, power = ballot[alive], group[alive], power[alive]
            if not ballot.size:
                break
            share = _tdiv_signed(power, per_group[group])
            size = self.sizes[group]
            first = np.repeat(self.starts[group], size)
            offset = np.arange(first.size) - np.repeat(np.cumsum(size) - size, size)
            cand = self.members[first + offset]
            share = np.repeat(share, size)
            ballot = np.repeat(ballot, size)
            k = kf[cand]
            live = k != 0
            cand, share, ballot, k = cand[live], share[live], ballot[live], k[live]
            np.add.at(sums, cand, _tdiv(share * k, one) * self.weights[ballot])
            power = _tdiv(share * (one - k), one)
            moving = power != 0
            ballot, power = ballot[moving], power[moving]
        return sums


class _Equalized:
    """stv-rs's equalised counting for all equal-ranking ballots at once with numpy.

    Groups are stored once per distinct written group; each iteration computes the shares
    of the groups that weight reaches, all groups of one size together (the polynomial of
    every "skip one" is expanded in group order, rounding each product down as stv-rs),
    then moves every ballot's remaining weight a group level at a time. Keep factors
    outside [0, 1] (an elected candidate below the quota) use the one-ballot-at-a-time
    count in ``_Equal``, which truncates toward zero.
    """

    def __init__(self, rankings: list[Ranking], weights: list[int], n: int, dtype: Any) -> None:
        ids: dict[tuple[int, ...], int] = {}
        members: list[int] = []
        starts: list[int] = []
        sizes: list[int] = []
        depth = max(len(r) for r in rankings)
        self.group_of = np.full((len(rankings), depth), -1, dtype=np.int64)
        for b, ranking in enumerate(rankings):
            for level, group in enumerate(ranking):
                gid = ids.get(group)
                if gid is None:
                    gid = ids[group] = len(starts)
                    starts.append(len(members))
                    sizes.append(len(group))
                    members.extend(group)
                self.group_of[b, level] = gid
        self.members = np.array(members, dtype=np.int64)
        self.starts = np.array(starts, dtype=np.int64)
        self.sizes = np.array(sizes, dtype=np.int64)
        self.weights = np.array(weights, dtype=object if max(weights) >= 1 << 62 else dtype)
        self.depth = depth
        self.n = n
        self.dtype = dtype
        self.slow = _Equal(rankings, weights)
        self.share: Array | None = None
        self.passed: Array = np.zeros(0, dtype=np.int64)
        self.seen: Array = np.zeros(0, dtype=object)

    @staticmethod
    def _mul(a: Array, b: Array, one: int) -> Array:
        """``⌊a × b / one⌋`` for non-negative ``a`` and ``0 <= b <= one``, without overflow."""
        if a.dtype == object:
            result: Array = a * b // one
            return result
        high, low = np.divmod(a, one)
        exact: Array = high * b + low * b // one
        return exact

    def _shares(self, gids: Array, kf: Array, one: int, share: Array, passed: Array) -> None:
        sizes = self.sizes[gids]
        for g in np.unique(sizes).tolist():
            these = gids[sizes == g]
            slots = self.starts[these][:, None] + np.arange(g)[None, :]
            keep = kf[self.members[slots]]
            unused = one - keep
            if g == 1:
                share[slots[:, 0]] = keep[:, 0]
                passed[these] = unused[:, 0]
                continue
            # A coefficient reaches C(g - 1, m) × one: beyond 64 bits, use whole integers.
            wide = self.dtype is object or comb(g - 1, (g - 1) // 2) * one >= 1 << 62
            dtype = object if wide else self.dtype
            poly = np.zeros((these.size, g, g), dtype=dtype)
            poly[:, :, 0] = one
            if wide:
                keep, unused = keep.astype(object), unused.astype(object)
            for j in range(g):
                step = self._mul(poly[:, :, :-1], unused[:, j][:, None, None], one)
                step[:, j, :] = 0
                poly[:, :, 1:] += step
            row = np.array([comb(g - 1, m) for m in range(g)], dtype=dtype)
            weight = (poly // row[None, None, :]).sum(axis=2)
            share[slots] = self._mul(weight, keep, one) // g
            product = np.full(these.size, one, dtype=dtype)
            for j in range(g):
                product = product * unused[:, j] // one
            passed[these] = product

    def tally(self, kf: Array, one: int) -> Array:
        if ((kf < 0) | (kf > one)).any():
            slow = self.slow.tally([int(k) for k in kf.tolist()], one, self.n)
            return np.array(slow, dtype=object)
        sums = np.zeros(self.n, dtype=self.dtype)
        # A group's shares hold while its members' keep factors do: keep them between
        # iterations and recompute only the groups with a changed keep factor.
        if self.share is None or self.share.dtype != np.dtype(self.dtype):
            self.share = np.zeros(self.members.size, dtype=self.dtype)
            self.passed = np.zeros(self.starts.size, dtype=self.dtype)
            self.seen = np.full(self.members.size, -1, dtype=object)
        share, passed = self.share, self.passed
        member_keep = kf[self.members]
        changed = (member_keep != self.seen).astype(np.int64)
        done = np.add.reduceat(changed, self.starts) == 0
        ballot = np.arange(self.group_of.shape[0], dtype=np.int64)
        power = np.full(ballot.size, one, dtype=self.dtype)
        for level in range(self.depth):
            group = self.group_of[ballot, level]
            alive = group >= 0
            ballot, group, power = ballot[alive], group[alive], power[alive]
            if not ballot.size:
                break
            needed = np.unique(group)
            needed = needed[~done[needed]]
            if needed.size:
                self._shares(needed, kf, one, share, passed)
                done[needed] = True
                size = self.sizes[needed]
                slots = np.repeat(self.starts[needed], size) + (
                    np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
                )
                self.seen[slots] = member_keep[slots]
            size = self.sizes[group]
            first = np.repeat(self.starts[group], size)
            slot = first + np.arange(first.size) - np.repeat(np.cumsum(size) - size, size)
            used = np.repeat(power, size) * share[slot] // one
            np.add.at(sums, self.members[slot], used * self.weights[np.repeat(ballot, size)])
            power = power * passed[group] // one
            moving = power != 0
            ballot, power = ballot[moving], power[moving]
        return sums


def _tdiv_signed(a: Array, d: Array) -> Array:
    """Element-wise division by positive whole numbers, truncated toward zero."""
    q = a // d
    negative = a < 0
    if negative.any():
        q = np.where(negative & (q * d != a), q + 1, q)
    return q


class _Count:
    """The state of one Meek count."""

    def __init__(
        self,
        profile: RankedProfile,
        *,
        seats: int,
        precision: int,
        omega: int,
        equal_rankings: EqualRule,
        arithmetic: Arithmetic,
        positive_surplus: bool,
        tie_order: Sequence[str] | None,
        seed: str | None,
        equal_order: Mapping[Ranking, Ranking],
    ) -> None:
        self.profile = profile
        self.names = profile.candidates
        self.n = len(self.names)
        self.seats = seats
        self.places = precision
        self.one = 10**precision
        self.omega = self.one // 10**omega
        self.positive_surplus = positive_surplus
        self.lot = Lot(seed)
        self.tie_rank = None if tie_order is None else self._tie_rank(tie_order)
        withdrawn = {profile.index(c) for c in profile.withdrawn}
        self.status = np.full(self.n, _HOPEFUL, dtype=np.int64)
        self.status[sorted(withdrawn)] = _OUT
        self.standing = [c for c in range(self.n) if c not in withdrawn]
        self._load(profile, withdrawn, equal_rankings, equal_order)
        total_fixed = self.total * self.one
        if arithmetic == "fixed64" and total_fixed > _INT64_MAX:
            raise MeekError(
                f"profile: {self.total} ballots do not fit in 64-bit fixed point with "
                f"{precision} decimal places (at most {_INT64_MAX // self.one}); "
                "count with arithmetic='bigfixed'"
            )
        if (
            arithmetic == "fixed64"
            and isinstance(self.split, _Equalized)
            and self.n > _PASCAL64_MAX_CANDIDATES
        ):
            raise MeekError(
                f"equal_rankings: equalised counting in 64-bit fixed point takes the binomial "
                f"coefficients of up to {self.n} candidates, which exceed 64 bits beyond "
                f"{_PASCAL64_MAX_CANDIDATES} candidates; count with arithmetic='bigfixed'"
            )
        # 64-bit numpy while every product stays in range: a ballot's weight times a keep
        # factor of at most _KEEP_LIMIT, and a vote times a ballot count.
        small = total_fixed * _KEEP_LIMIT < (1 << 62) and self.one * self.one < (1 << 60)
        self.dtype: Any = np.int64 if small else object
        self.kf = np.full(self.n, self.one, dtype=self.dtype)
        self.kf[sorted(withdrawn)] = 0
        self._use_dtype(self.dtype)
        if self.strict is not None:
            self.strict.start(self.status)

    def _use_dtype(self, dtype: Any) -> None:
        self.dtype = dtype
        self.kf = self.kf.astype(dtype)
        if self.split is not None:
            self.split.dtype = dtype
            self.split.weights = self.split.weights.astype(dtype, copy=False)
        if self.strict is not None:
            self.strict.dtype = dtype
            self.strict.weights = self.strict.weights.astype(dtype, copy=False)
            self.strict.groups = self.strict.groups.astype(dtype, copy=False)

    def set_keep(self, cand: int, value: int) -> None:
        """Set a keep factor, leaving 64-bit arithmetic when it grows out of its range."""
        if self.dtype is not object and value > _KEEP_LIMIT * self.one:
            self._use_dtype(object)
        self.kf[cand] = value

    def _tie_rank(self, tie_order: Sequence[str]) -> dict[int, int]:
        order = [self.profile.index(c) for c in tie_order]
        if len(set(order)) != len(order):
            raise MeekError("tie_order: a candidate appears twice")
        rest = [c for c in range(self.n) if c not in set(order)]
        return {c: r for r, c in enumerate(order + rest)}

    def _load(
        self,
        profile: RankedProfile,
        withdrawn: set[int],
        rule: EqualRule,
        equal_order: Mapping[Ranking, Ranking],
    ) -> None:
        if not profile.is_integral:
            raise MeekError("profile: Meek STV in fixed point needs whole-number ballot weights")
        self.strict: _Strict | None = None
        self.split: _DroopSplit | _Equalized | None = None
        if not profile.has_equal_rankings:
            ballots = profile.strict_ballots("Meek STV")
            if ballots.counts is not None:
                matrix, weights = ballots.matrix, ballots.counts
                if withdrawn:
                    gone = np.isin(matrix, sorted(withdrawn)) | (matrix < 0)
                    keep = ~gone.all(axis=1)
                    matrix, weights = matrix[keep], weights[keep]
                self.total = int(weights.sum(dtype=np.int64))
                self.strict = _Strict(matrix, weights, self.n, np.int64)
                return
        strict_rows: list[list[int]] = []
        strict_w: list[int] = []
        eq_rankings: list[Ranking] = []
        eq_w: list[int] = []
        for canonical, weight in zip(profile.rankings, profile.weights, strict=True):
            ranking = equal_order.get(canonical, canonical)
            if sorted(c for g in ranking for c in g) != sorted(c for g in canonical for c in g):
                raise MeekError("equal_order: a written order lists other candidates")
            groups = tuple(
                g for g in (tuple(c for c in grp if c not in withdrawn) for grp in ranking) if g
            )
            if not groups:
                continue
            if all(len(g) == 1 for g in groups):
                strict_rows.append([g[0] for g in groups])
                strict_w.append(int(weight))
            else:
                eq_rankings.append(groups)
                eq_w.append(int(weight))
        if eq_rankings and rule == "refuse":
            group = next(g for r in eq_rankings for g in r if len(g) > 1)
            names = " = ".join(self.names[c] for c in group)
            raise MeekError(
                f"equal_rankings: a ballot ranks {names} equally; Meek STV counts equal "
                "rankings only under a chosen rule: equal_rankings='equalize' (stv-rs "
                "equalised counting) or 'droop' (Droop.py's split)"
            )
        self.total = sum(strict_w) + sum(eq_w)
        if strict_rows:
            width = max(len(r) for r in strict_rows)
            matrix = np.full((len(strict_rows), width), -1, dtype=np.int64)
            for i, row in enumerate(strict_rows):
                matrix[i, : len(row)] = row
            big_w = any(w >= 1 << 62 for w in strict_w)
            w_arr = np.array(strict_w, dtype=object if big_w else np.int64)
            self.strict = _Strict(matrix, w_arr, self.n, np.int64)
        if eq_rankings:
            if rule == "droop":
                self.split = _DroopSplit(eq_rankings, eq_w, self.n, np.int64)
            else:
                self.split = _Equalized(eq_rankings, eq_w, self.n, np.int64)

    # -- counting -------------------------------------------------------------------------

    def tally(self) -> tuple[list[int], int]:
        """Every candidate's vote and the exhausted weight, as fixed-point integers."""
        sums = [0] * self.n
        if self.strict is not None:
            sums = [int(x) for x in self.strict.tally(self.kf, self.one).tolist()]
        if self.split is not None:
            split = self.split.tally(self.kf, self.one)
            sums = [a + int(b) for a, b in zip(sums, split.tolist(), strict=True)]
        exhausted = self.total * self.one - sum(sums)
        return sums, exhausted

    def set_status(self, cands: Sequence[int], status: int) -> None:
        for cand in cands:
            self.status[cand] = status
            if status == _OUT:
                self.kf[cand] = 0
        if self.strict is not None and cands:
            self.strict.changed(cands, self.status)

    def quota(self, exhausted: int) -> int:
        return _tdiv_int(self.total * self.one - exhausted, self.seats + 1) + 1

    def surplus(self, sums: list[int], quota: int, elected: list[int]) -> int:
        if self.positive_surplus:
            return sum(max(sums[c] - quota, 0) for c in elected)
        return sum(sums[c] - quota for c in elected)

    def fraction(self, value: int) -> Fraction:
        return Fraction(value, self.one)

    def fmt(self, value: int) -> str:
        return _fmt(value, self.places)


def count(
    profile: RankedProfile,
    *,
    seats: int,
    seed: str | None = None,
    precision: int = 9,
    omega: int | None = None,
    tie_order: Sequence[str] | None = None,
    equal_rankings: EqualRule = "refuse",
    arithmetic: Arithmetic = "fixed64",
    positive_surplus: bool = False,
    equal_order: Mapping[Ranking, Ranking] | None = None,
) -> Result:
    """Count a Meek STV election for ``seats`` seats (the rule and sources: module docstring).

    ``precision`` is the number of decimal places of the fixed-point arithmetic; an
    iteration stops when the total surplus is at most ``10 ** -omega`` (default two thirds
    of the precision: 6 for 9 places, as Droop.py). ``positive_surplus`` counts an elected
    candidate below the quota as having no surplus instead of a negative one (stv-rs's
    ``--force-positive-surplus``). ``tie_order``, ``seed``: see "Ties" above.
    ``equal_order`` maps a ranking of the profile (groups in candidate order) to the order
    its ballot listed the equal candidates: equalised counting multiplies fixed-point
    fractions in that order, and fixed-point multiplication is not associative, so to
    reproduce stv-rs to the last digit pass ``BltElection.equal_order``.

    Each round of the result is one round of the count (iterations until a candidate is
    elected or the surplus settles, then at most one exclusion), with the tallies, quota,
    exhausted weight and keep factors of its last iteration; a last round elects or
    excludes the remaining candidates and shows the final tallies.
    """
    if seats < 1:
        raise MeekError(f"seats: expected at least 1, got {seats}")
    if not 0 <= precision <= 30:
        raise MeekError(f"precision: expected 0 to 30 decimal places, got {precision}")
    omega_digits = precision * 2 // 3 if omega is None else omega
    if not 0 <= omega_digits <= precision:
        raise MeekError(f"omega: expected 0 to {precision} decimal places, got {omega_digits}")
    if equal_rankings not in ("refuse", "equalize", "droop"):
        raise MeekError(f"equal_rankings: expected refuse, equalize or droop, got {equal_rankings}")
    if arithmetic not in ("fixed64", "bigfixed"):
        raise MeekError(f"arithmetic: expected fixed64 or bigfixed, got {arithmetic}")
    state = _Count(
        profile,
        seats=seats,
        precision=precision,
        omega=omega_digits,
        equal_rankings=equal_rankings,
        arithmetic=arithmetic,
        positive_surplus=positive_surplus,
        tie_order=tie_order,
        seed=seed,
        equal_order=equal_order or {},
    )
    return _run(state, omega_digits, equal_rankings, arithmetic, tie_order)


def _run(
    s: _Count,
    omega_digits: int,
    equal_rankings: EqualRule,
    arithmetic: Arithmetic,
    tie_order: Sequence[str] | None,
) -> Result:
    names = s.names
    one = s.one
    elected: list[int] = []
    rounds: list[Round] = []
    history: list[list[int]] = []
    quota = s.quota(0)
    surplus = 0
    sums, exhausted = s.tally()
    number = 0
    while True:
        hopeful = [c for c in s.standing if s.status[c] == _HOPEFUL]
        to_elect = s.seats - len(elected)
        if to_elect <= 0 or len(hopeful) <= to_elect:
            break
        number += 1
        last_surplus = s.total * one
        iterations = 0
        newly: list[int] = []
        while True:
            iterations += 1
            sums, exhausted = s.tally()
            quota = s.quota(exhausted)
            newly = [c for c in s.standing if s.status[c] == _HOPEFUL and sums[c] >= quota]
            if len(elected) + len(newly) > s.seats:
                raise MeekError(
                    f"profile: {len(elected) + len(newly)} candidates reached the quota for "
                    f"{s.seats} seats; the fixed-point precision is too low for this count"
                )
            kf_used = [int(k) for k in s.kf.tolist()]
            for c in newly:
                elected.append(c)
                s.status[c] = _ELECTED
            surplus = s.surplus(sums, quota, elected)
            if newly:
                reason = "elected"
                break
            if surplus <= s.omega:
                reason = "omega"
                break
            if surplus >= last_surplus:
                reason = "stable"
                break
            last_surplus = surplus
            for c in elected:
                if sums[c] <= 0:
                    raise MeekError(
                        f"profile: elected candidate {names[c]} has no votes left; "
                        "the count cannot continue"
                    )
                up = _tdiv_int(int(s.kf[c]) * quota + one - 1, one)
                s.set_keep(c, _tdiv_int(up * one + sums[c] - 1, sums[c]))
        excluded: list[int] = []
        draws: tuple[Draw, ...] = ()
        tie_note = ""
        if newly:
            s.set_status(newly, _ELECTED)
        else:
            lowest = min(sums[c] for c in hopeful)
            # Candidates within the surplus of the lowest are tied. The total surplus can be
            # below zero (elected candidates a little under the quota after truncation); the
            # lowest candidate is then tied only with those level with it.
            tied = [c for c in hopeful if sums[c] <= lowest + max(surplus, 0)]
            loser, draws, tie_note = _break_tie(s, tied, sums, history)
            excluded.append(loser)
            s.set_status([loser], _OUT)
        history.append(sums)
        rounds.append(
            _round(
                s,
                number=number,
                sums=sums,
                exhausted=exhausted,
                quota=quota,
                surplus=surplus,
                newly=newly,
                excluded=excluded,
                draws=draws,
                reason=reason,
                iterations=iterations,
                kf_used=kf_used,
                tie_note=tie_note,
            )
        )
    remaining_elected: list[int] = []
    remaining_excluded: list[int] = []
    for c in s.standing:
        if s.status[c] != _HOPEFUL:
            continue
        if len(elected) < s.seats:
            elected.append(c)
            remaining_elected.append(c)
        else:
            remaining_excluded.append(c)
    s.set_status(remaining_elected, _ELECTED)
    s.set_status(remaining_excluded, _OUT)
    if remaining_elected or remaining_excluded:
        sums, exhausted = s.tally()
        number += 1
        parts = []
        if remaining_elected:
            verb = "is" if len(remaining_elected) == 1 else "are"
            parts.append(
                f"{_names([names[c] for c in remaining_elected])} {verb} elected, as only "
                "as many candidates remain as seats to fill"
            )
        if remaining_excluded:
            verb = "is" if len(remaining_excluded) == 1 else "are"
            parts.append(
                f"{_names([names[c] for c in remaining_excluded])} {verb} excluded, as "
                "every seat is filled"
            )
        rounds.append(
            Round(
                number=number,
                tallies={names[c]: s.fraction(sums[c]) for c in s.standing},
                explanation=f"Round {number}: " + "; ".join(parts) + ".",
                threshold=s.fraction(quota),
                elected=tuple(names[c] for c in remaining_elected),
                excluded=tuple(names[c] for c in remaining_excluded),
                exhausted=s.fraction(exhausted),
                extra={
                    "keep_factors": {names[c]: s.fraction(int(s.kf[c])) for c in s.standing},
                    "surplus": s.fraction(surplus),
                    "iterations": 0,
                    "status": "remaining",
                },
            )
        )
    winners = tuple(names[c] for c in elected)
    rule: dict[str, Any] = {
        "seats": s.seats,
        "precision": s.places,
        "omega": omega_digits,
        "equal_rankings": equal_rankings,
        "arithmetic": arithmetic,
        "positive_surplus": s.positive_surplus,
        "tie_order": list(tie_order) if tie_order is not None else None,
    }
    seat_word = "seat" if s.seats == 1 else "seats"
    return Result(
        method="meek",
        rule=rule,
        winners=winners,
        rounds=tuple(rounds),
        outcome="elected",
        summary=(
            f"Meek STV for {s.seats} {seat_word}: {_names(list(winners)) or 'nobody'} "
            f"{'is' if len(winners) == 1 else 'are'} elected."
        ),
        seed=s.lot.seed,
        details={"total": s.total, "standing": [names[c] for c in s.standing]},
    )


def _break_tie(
    s: _Count, tied: list[int], sums: list[int], history: list[list[int]]
) -> tuple[int, tuple[Draw, ...], str]:
    names = s.names
    if len(tied) == 1:
        return tied[0], (), ""
    listed = _names([names[c] for c in tied])
    if s.tie_rank is not None:
        rank = s.tie_rank
        loser = min(tied, key=lambda c: rank[c])
        return loser, (), f" {listed} were tied; the tie order puts {names[loser]} first."
    left = list(tied)
    for past in reversed(history):
        low = min(past[c] for c in left)
        left = [c for c in left if past[c] == low]
        if len(left) == 1:
            return (
                left[0],
                (),
                f" {listed} were tied; {names[left[0]]} had the fewest votes in an earlier round.",
            )
    draw = s.lot.draw([names[c] for c in left], reason="tie for exclusion")
    loser = s.profile.index(draw.chosen)
    return loser, (draw,), f" {listed} were tied; {names[loser]} was drawn by lot."


def _round(
    s: _Count,
    *,
    number: int,
    sums: list[int],
    exhausted: int,
    quota: int,
    surplus: int,
    newly: list[int],
    excluded: list[int],
    draws: tuple[Draw, ...],
    reason: str,
    iterations: int,
    kf_used: list[int],
    tie_note: str,
) -> Round:
    names = s.names
    q = s.fmt(quota)
    its = f"after {iterations} iteration{'s' if iterations != 1 else ''}"
    if newly:
        who = "; ".join(f"{names[c]} has {s.fmt(sums[c])}" for c in newly)
        verb = "reaches" if len(newly) == 1 else "reach"
        text = (
            f"Round {number}: {its}, {_names([names[c] for c in newly])} {verb} the quota of "
            f"{q} ({who}) and {'is' if len(newly) == 1 else 'are'} elected; the surplus of "
            f"{s.fmt(surplus)} will be shared by lowering keep factors."
        )
    else:
        loser = excluded[0]
        why = (
            f"the surplus of {s.fmt(surplus)} is below the limit of {s.fmt(s.omega)}"
            if reason == "omega"
            else f"the surplus of {s.fmt(surplus)} stopped falling"
        )
        text = (
            f"Round {number}: {its}, {why} with a quota of {q}; {names[loser]} has the "
            f"fewest votes ({s.fmt(sums[loser])}) and is excluded.{tie_note}"
        )
    return Round(
        number=number,
        tallies={names[c]: s.fraction(sums[c]) for c in s.standing},
        explanation=text,
        threshold=s.fraction(quota),
        elected=tuple(names[c] for c in newly),
        excluded=tuple(names[c] for c in excluded),
        exhausted=s.fraction(exhausted),
        draws=draws,
        extra={
            "keep_factors": {names[c]: s.fraction(kf_used[c]) for c in s.standing},
            "surplus": s.fraction(surplus),
            "iterations": iterations,
            "status": reason,
        },
    )
