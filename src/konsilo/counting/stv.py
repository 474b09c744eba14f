"""Single transferable vote by the weighted inclusive Gregory method: Scottish STV and WIGM.

Rule ``"scottish"`` follows the Scottish Local Government Elections Order 2007 (SSI 2007/42),
Schedule 1, rules 45 to 52, to the letter:

- rule 46: the quota is the number of valid ballots divided by one more than the number of
  seats, ignoring any decimal places, plus one;
- rule 47: a candidate whose votes equal or exceed the quota is elected;
- rule 48: a surplus is transferred by sorting *all* the elected candidate's ballot papers
  by their next available preference; each paper moves at the transfer value
  ``surplus × value of the paper ÷ total votes of the candidate``, calculated to five decimal
  places with any remainder ignored (so the count is kept in integers of 0.00001 vote, and the
  remainders are reported as ``rounding_loss``);
- rule 49: the largest surplus is transferred first; equal surpluses go by the most recent
  earlier stage at which the candidates had unequal votes (highest first), then by lot;
- rule 50: with no surplus left, the candidate with the fewest votes is excluded and every one
  of their papers moves at the value at which it was received;
- rule 51: a tie for exclusion goes by the most recent earlier stage at which the tied
  candidates had unequal votes (lowest excluded), then by lot;
- rule 52: when the continuing candidates are as many as the vacancies left, they are elected
  and no further transfer is made.

Rule ``"wigm"`` is the same count with exact rational arithmetic and no truncation: the
model WIGM of Droop (J. Lundell, ``droop/rules/wigm.py``) with exact values, whose quota is
the exact Droop quota ``valid ballots ÷ (seats + 1)`` and which elects a candidate whose votes
*exceed* it (with exact arithmetic, more than that quota can be reached by at most ``seats``
candidates). The order of surpluses and the tie rules are those of SSI 2007/42 rules 49
and 51.

Ties with several candidates narrow stage by stage: at each earlier stage, going back, only
the tied candidates with the extreme vote stay tied; a tie that survives every stage is
settled by lot from the published seed (``konsilo.counting.tiebreak.Lot``), and the draw is
recorded in the round. Candidates elected at the same stage are listed by their votes,
highest first. Withdrawn candidates are skipped on every ballot; ballots that rank only
withdrawn candidates are not valid ballots for the quota. Equal rankings are refused
(``EqualRankingError``): neither source defines them.

Each round is one stage of the count. Its ``tallies`` hold the votes of the elected and
continuing candidates, ``exhausted`` the total value of non-transferable papers so far, and
``extra`` the action, the transfer values and, for Scottish STV, the rounding loss so far; the
tallies, the exhausted value and the rounding loss always add up to the valid ballots.

Speed: the count works on the profile's array form, one row per distinct ranking, with one
current holder and one value class per row; only the rows of the candidate being
transferred are touched at each stage, and tallies are summed per (candidate, value class)
with ``numpy.bincount`` and combined in exact integers or fractions.

>>> from konsilo.counting.profile import RankedProfile
>>> ballots = [["Ana", "Bea"]] * 5 + [["Bea"]] * 2 + [["Cai", "Bea"]] * 2
>>> p = RankedProfile.from_rankings(["Ana", "Bea", "Cai"], ballots)
>>> r = count(p, seats=2, rule="scottish")
>>> r.winners, r.rounds[0].threshold
(('Ana', 'Bea'), Fraction(4, 1))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from konsilo.counting.profile import ProfileError, RankedProfile
from konsilo.counting.result import Draw, Result, Round
from konsilo.counting.tiebreak import Lot

__all__ = ["RULES", "Ballots", "STVError", "break_tie", "count", "format_number"]

RULES = ("scottish", "wigm")

SCALE = 100_000  # Scottish STV counts in units of 0.00001 vote (rule 48(3): five places)
_FLOAT_EXACT = 1 << 53  # bincount sums in float64, exact below this total
_ADVANCE_BLOCK = 1 << 16  # rows moved on at once when papers are transferred
_COMPARE_AT_MOST = 12  # candidates compared one by one before a lookup table is cheaper

Number = int | Fraction


class STVError(ValueError):
    """An STV count was asked something impossible; the message names the field."""


# -- ballots as arrays -------------------------------------------------------------------------


class Ballots:
    """Every distinct ranking's current holder and value class, as arrays.

    ``values[k]`` is the value of one ballot of class ``k`` (an integer number of units, or an
    exact fraction); a row of ``counts[r]`` ballots of class ``k`` adds
    ``counts[r] * values[k]`` to its holder. ``holder[r]`` is -1 once the row is exhausted.
    """

    def __init__(
        self,
        matrix: npt.NDArray[np.signedinteger[Any]],
        counts: npt.NDArray[np.int64],
        standing: Sequence[bool],
        unit: Number,
    ) -> None:
        self.matrix = matrix
        self.counts = counts
        self.rows, self.width = matrix.shape
        self.n = len(standing)
        # One more entry than candidates: ``continuing[-1]`` is True, so looking up padding
        # (-1) reads as "stop here" (the row is exhausted there).
        self.continuing = np.array([*standing, True], dtype=bool)
        self.values: list[Number] = [unit]
        self._class_of: dict[Number, int] = {unit: 0}
        self.value_class = np.zeros(self.rows, dtype=np.int32)
        self.holder = np.full(self.rows, -1, dtype=np.int32)
        self.exact_float = int(counts.sum()) < _FLOAT_EXACT
        self.one_each = bool((counts == 1).all())  # one ballot per row: counting rows is enough
        self.padded = bool(matrix.size) and int(matrix.min()) < 0
        self.tally: list[Number] = [0] * self.n
        everyone = np.arange(self.rows, dtype=np.intp)
        if self.width:
            # Most rows start with a standing candidate: take first preferences as a column.
            first = np.ascontiguousarray(matrix[:, 0]).astype(np.int32)
            standing_first = self.continuing[first]
            self.holder[standing_first] = first[standing_first]
            self._advance(np.flatnonzero(~standing_first))
        credited, exhausted = self._credit(everyone)
        for c, v in credited.items():
            self.tally[c] += v
        self.invalid = exhausted  # rows that rank only withdrawn candidates

    def _advance(self, rows: npt.NDArray[np.intp]) -> None:
        """Move each row to its first preference for a continuing candidate (or exhaust it).

        A row's earlier preferences are all out of the count already (candidates only ever
        leave it), so its first continuing preference in the whole row is the next one after
        its current holder. Padding (-1) reads the sentinel ``continuing[-1]``, so a row stops
        there as exhausted; a full row with no continuing candidate is exhausted too.
        """
        out = np.flatnonzero(~self.continuing[:-1])
        stay = np.flatnonzero(self.continuing[:-1])
        # In blocks of rows, so that each block's copies stay in the processor's cache.
        for start in range(0, rows.size, _ADVANCE_BLOCK):
            block = rows[start : start + _ADVANCE_BLOCK]
            sub = np.take(self.matrix, block, axis=0)  # faster than matrix[block] for rows
            stops = self._stops(sub, out, stay)
            first = stops.argmax(axis=1)
            at = np.arange(block.size)
            cand = sub[at, first].astype(np.int32)
            cand[~stops[at, first]] = -1
            self.holder[block] = cand

    def _stops(
        self,
        sub: npt.NDArray[np.signedinteger[Any]],
        out: npt.NDArray[np.intp],
        stay: npt.NDArray[np.intp],
    ) -> npt.NDArray[np.bool_]:
        """Where the rows ``sub`` can stop: a continuing candidate or padding (-1).

        The same as ``continuing[sub]``, computed by comparing with whichever list is shorter,
        the candidates out of the count or those still in it: a few comparisons of narrow
        integers cost less than a table lookup, which widens every index first.
        """
        if len(out) > _COMPARE_AT_MOST and len(stay) > _COMPARE_AT_MOST:
            looked_up: npt.NDArray[np.bool_] = self.continuing[sub]
            return looked_up
        scratch = np.empty(sub.shape, dtype=bool)
        if len(out) <= len(stay):
            hit = np.zeros(sub.shape, dtype=bool)
            for c in out.tolist():
                np.equal(sub, c, out=scratch)
                hit |= scratch
            return ~hit
        hit = np.less(sub, 0) if self.padded else np.zeros(sub.shape, dtype=bool)
        for c in stay.tolist():
            np.equal(sub, c, out=scratch)
            hit |= scratch
        return hit

    def _sums(self, keys: npt.NDArray[np.intp], rows: npt.NDArray[np.intp], size: int) -> list[int]:
        """Exact sums of ``counts[rows]`` grouped by ``keys``."""
        if self.one_each:
            return [int(s) for s in np.bincount(keys, minlength=size).tolist()]
        weights = self.counts[rows]
        if self.exact_float:
            sums = np.bincount(keys, weights=weights, minlength=size)
            return [int(s) for s in np.rint(sums).astype(np.int64).tolist()]
        exact = np.zeros(size, dtype=np.int64)
        np.add.at(exact, keys, weights)
        return [int(s) for s in exact.tolist()]

    def _credit(self, rows: npt.NDArray[np.intp]) -> tuple[dict[int, Number], Number]:
        """The value the given rows bring to their holders, and the value exhausted."""
        k = len(self.values)
        holders = self.holder[rows].astype(np.intp)
        holders[holders < 0] = self.n
        keys = holders * k + self.value_class[rows] if k > 1 else holders
        sums = self._sums(keys, rows, (self.n + 1) * k)
        credited: dict[int, Number] = {}
        exhausted: Number = 0
        for key, total in enumerate(sums):
            if not total:
                continue
            c, cls = divmod(key, k)
            value = total * self.values[cls]
            if c == self.n:
                exhausted += value
            else:
                credited[c] = credited.get(c, 0) + value
        return credited, exhausted

    def class_totals(self, candidate: int) -> dict[int, int]:
        """How many ballots of each value class the candidate holds."""
        rows = np.flatnonzero(self.holder == candidate)
        sums = self._sums(self.value_class[rows].astype(np.intp), rows, len(self.values))
        return {k: s for k, s in enumerate(sums) if s}

    def _class_id(self, value: Number) -> int:
        found = self._class_of.get(value)
        if found is None:
            found = len(self.values)
            self.values.append(value)
            self._class_of[value] = found
        return found

    def transfer(
        self, candidate: int, revalue: Callable[[Number], Number] | None = None
    ) -> tuple[dict[int, Number], Number]:
        """Move every paper the candidate holds to its next continuing preference.

        The candidate must already be out of ``continuing``. ``revalue`` maps a paper's value
        to its transfer value (surplus transfers); without it papers keep their value. Returns
        the value credited to each candidate and the value exhausted; tallies are updated for
        the receivers only (the caller sets the candidate's own tally).
        """
        rows = np.flatnonzero(self.holder == candidate)
        if revalue is not None and rows.size:
            classes = self.value_class[rows]
            present = np.flatnonzero(np.bincount(classes, minlength=len(self.values)))
            lookup = np.arange(len(self.values), dtype=np.int32)
            for k in present.tolist():
                lookup[k] = self._class_id(revalue(self.values[k]))
            self.value_class[rows] = lookup[classes]
        self._advance(rows)
        credited, exhausted = self._credit(rows)
        for c, v in credited.items():
            self.tally[c] += v
        return credited, exhausted


def strict_counts(
    profile: RankedProfile, rule_name: str, *, whole: bool
) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[np.int64], Fraction]:
    """The profile's rows, integer row counts, and the value of one count (1 or 1/L).

    The rows come in no particular order and may repeat: every rule here sums exact weights,
    so the result cannot depend on their order or on whether identical rows are merged.
    """
    ballots = profile.strict_rows(rule_name)
    if ballots.counts is not None:
        return ballots.matrix, ballots.counts, Fraction(1)
    assert ballots.fractions is not None
    if whole:
        raise ProfileError(f"weights: {rule_name} counts whole ballots, but a weight is fractional")
    scale = math.lcm(*(w.denominator for w in ballots.fractions))
    scaled = [w.numerator * (scale // w.denominator) for w in ballots.fractions]
    if max(scaled, default=0) * max(len(scaled), 1) >= 1 << 62:
        raise ProfileError(f"weights: the ballot weights are too fine for {rule_name}")
    return ballots.matrix, np.array(scaled, dtype=np.int64), Fraction(1, scale)


# -- numbers and sentences ---------------------------------------------------------------------


def format_number(value: Fraction, *, places: int = 5) -> str:
    """A number for people: whole numbers plainly, others to ``places`` decimals (≈ if rounded).

    >>> format_number(Fraction(123456789, 100000)), format_number(Fraction(1, 3))
    ('1,234.56789', '≈0.33333')
    """
    if value.denominator == 1:
        return f"{int(value):,}"
    sign = "-" if value < 0 else ""
    scaled = abs(value) * 10**places
    rounded = round(scaled)
    text = f"{sign}{rounded // 10**places:,}.{rounded % 10**places:0{places}d}"
    return text if rounded == scaled else f"≈{text}"


def join_names(names: Sequence[str]) -> str:
    """Ana; Ana and Bea; Ana, Bea and Cai."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def break_tie(
    names: Sequence[str],
    history: Sequence[Sequence[Number]],
    tied: list[int],
    *,
    lowest: bool,
    purpose: str,
    lot: Lot,
) -> tuple[int, str, list[Draw]]:
    """Settle a tie by the earlier stages, most recent first, then by lot; explain how.

    ``history[-1]`` is the current stage, where the candidates are tied. Going back, only the
    tied candidates with the fewest (``lowest``) or most votes at a stage stay tied; the first
    stage that leaves one decides. A tie that survives every stage is drawn by lot.
    """
    if len(tied) == 1:
        return tied[0], "", []
    group = list(tied)
    for stage in range(len(history) - 2, -1, -1):
        votes = history[stage]
        extreme = min(votes[c] for c in group) if lowest else max(votes[c] for c in group)
        narrowed = [c for c in group if votes[c] == extreme]
        if len(narrowed) < len(group):
            group = narrowed
            if len(group) == 1:
                word = "fewer" if lowest else "more"
                return (
                    group[0],
                    f"{join_names([names[c] for c in tied])} were equal; {names[group[0]]} "
                    f"had {word} votes at round {stage + 1}",
                    [],
                )
    draw = lot.draw([names[c] for c in group], reason=purpose)
    chosen = list(names).index(draw.chosen)
    earlier = "at every stage" if len(history) > 1 else ""
    return (
        chosen,
        f"{join_names([names[c] for c in tied])} were equal{' ' + earlier if earlier else ''}; "
        f"{draw.chosen} was chosen by lot",
        [draw],
    )


# -- the count ---------------------------------------------------------------------------------


@dataclass
class _Stage:
    """What one stage did, before it becomes a Round."""

    action: str
    sentence: list[str]
    elected: list[int]
    excluded: list[int]
    transfers: dict[int, Number]
    draws: list[Draw]
    extra: dict[str, Any]


class Count:
    """One STV count by the weighted inclusive Gregory method (see the module docstring).

    Subclasses (constrained STV) adjust who may be elected or excluded through
    ``_forced_exclusion``, ``_may_elect`` and ``_excludable``.
    """

    method = "stv"

    def __init__(
        self,
        profile: RankedProfile,
        *,
        seats: int,
        rule: str,
        seed: str | None,
        withdrawn: Collection[str] = (),
    ) -> None:
        if rule not in RULES:
            raise STVError(f"rule: expected one of {', '.join(RULES)}, got {rule!r}")
        if isinstance(seats, bool) or not isinstance(seats, int) or seats < 1:
            raise STVError(f"seats: expected a whole number of at least 1, got {seats!r}")
        unknown = set(withdrawn) - set(profile.candidates)
        if unknown:
            raise STVError(f"withdrawn: unknown candidate(s) {sorted(unknown)}")
        label = "Scottish STV" if rule == "scottish" else "WIGM STV"
        matrix, counts, unit = strict_counts(profile, label, whole=rule == "scottish")
        self.profile = profile
        self.names = profile.candidates
        self.rule = rule
        self.label = label
        self.seats = seats
        self.seed = seed
        self.lot = Lot(seed)
        self.fixed = rule == "scottish"
        self.withdrawn = frozenset(profile.withdrawn) | frozenset(withdrawn)
        standing = [c not in self.withdrawn for c in self.names]
        self.ballots = Ballots(matrix, counts, standing, SCALE if self.fixed else unit)
        self.unit_value: Fraction = Fraction(1, SCALE) if self.fixed else Fraction(1)
        total = sum(self.ballots.tally)
        self.total: Number = total
        valid = self.exact(total)
        if self.fixed:
            whole = int(valid)
            self.quota: Number = (whole // (seats + 1) + 1) * SCALE
        else:
            self.quota = valid / (seats + 1)
        self.state = ["hopeful" if s else "withdrawn" for s in standing]
        self.elected: list[int] = []
        self.pending: list[int] = []  # elected with a surplus still to transfer
        self.pending_exclusions: list[int] = []  # refused a seat on reaching the quota
        self.history: list[list[Number]] = []
        self.exhausted: Number = 0
        self.loss: Number = 0
        self.rounds: list[Round] = []

    # -- arithmetic ---------------------------------------------------------------------------

    def exact(self, value: Number) -> Fraction:
        """A tally in votes, exactly."""
        return Fraction(value) * self.unit_value

    def show(self, value: Number) -> str:
        return format_number(self.exact(value))

    def reaches_quota(self, value: Number) -> bool:
        return value >= self.quota if self.fixed else value > self.quota

    def surplus_value(self, surplus: Number, total: Number) -> Callable[[Number], Number]:
        if self.fixed:
            s, t = int(surplus), int(total)
            return lambda v: (int(v) * s) // t
        ratio = Fraction(surplus) / Fraction(total)
        return lambda v: v * ratio

    # -- candidates ---------------------------------------------------------------------------

    def hopeful(self) -> list[int]:
        return [c for c, s in enumerate(self.state) if s == "hopeful"]

    def vacancies(self) -> int:
        return self.seats - len(self.elected)

    def _forced_exclusion(self) -> tuple[int, str] | None:
        """A candidate the rules force out now, with the reason (none in plain STV)."""
        return None

    def _may_elect(self, candidate: int) -> str | None:
        """None when the candidate may take a seat, else the reason they may not."""
        return None

    def _excludable(self, candidates: list[int]) -> tuple[list[int], str]:
        """The candidates that may be excluded now, with a note on any protected."""
        return candidates, ""

    # -- ties ---------------------------------------------------------------------------------

    def break_tie(
        self, tied: list[int], *, lowest: bool, purpose: str
    ) -> tuple[int, str, list[Draw]]:
        return break_tie(
            self.names, self.history, tied, lowest=lowest, purpose=purpose, lot=self.lot
        )

    # -- stages -------------------------------------------------------------------------------

    def run(self) -> Result:
        first = _Stage("first_preferences", [], [], [], {}, [], {})
        valid = self.exact(self.total)
        if self.fixed:
            first.sentence.append(
                f"first preferences counted: {format_number(valid)} valid ballots; the quota is "
                f"{self.show(self.quota)} ({format_number(valid)} ÷ {self.seats + 1}, ignoring "
                "any fraction, plus one)"
            )
        else:
            first.sentence.append(
                f"first preferences counted: {format_number(valid)} valid ballots; the quota is "
                f"{self.show(self.quota)} ({format_number(valid)} ÷ {self.seats + 1}), to be "
                "exceeded"
            )
        self.finish_stage(first)
        while self.vacancies() > 0:
            hopeful = self.hopeful()
            if not hopeful:
                break
            if len(hopeful) <= self.vacancies():
                self.last_seats(hopeful)
                break
            forced = self._forced_exclusion()
            if forced is not None:
                self.exclude(forced[0], reason=forced[1], draws=[])
                continue
            if self.pending:
                self.transfer_surplus()
                continue
            self.exclude_lowest()
        return self.result()

    def elect_new(self, stage: _Stage) -> None:
        """Rule 47: elect every continuing candidate who reached the quota, highest first."""
        tally = self.ballots.tally
        reached = [c for c in self.hopeful() if self.reaches_quota(tally[c])]
        reached.sort(key=lambda c: (-Fraction(tally[c]), c))
        for c in reached:
            if self.vacancies() <= 0:
                break
            refused = self._may_elect(c)
            if refused is not None:
                stage.sentence.append(refused)
                self.mark_excluded(c)
                stage.excluded.append(c)
                self.pending_exclusions.append(c)
                continue
            self.state[c] = "elected"
            self.ballots.continuing[c] = False
            self.elected.append(c)
            stage.elected.append(c)
            if tally[c] != self.quota and self.vacancies() > 0:
                self.pending.append(c)
        if stage.elected:
            parts = [f"{self.names[c]} ({self.show(tally[c])})" for c in stage.elected]
            verb = "were" if len(parts) > 1 else "was"
            reached_word = "reached" if self.fixed else "exceeded"
            stage.sentence.append(
                f"{join_names(parts)} {reached_word} the quota and {verb} elected"
            )

    def mark_excluded(self, candidate: int) -> None:
        self.state[candidate] = "excluded"
        self.ballots.continuing[candidate] = False

    def finish_stage(self, stage: _Stage) -> None:
        self.elect_new(stage)
        # Candidates refused a seat on reaching the quota leave at once, their papers moving on
        # at full value, within this stage.
        while self.pending_exclusions:
            c = self.pending_exclusions.pop(0)
            credited, exhausted = self.ballots.transfer(c)
            self.ballots.tally[c] = 0
            self.exhausted += exhausted
            for d, v in credited.items():
                stage.transfers[d] = stage.transfers.get(d, 0) + v
            self.elect_new(stage)
        tally = self.ballots.tally
        self.history.append(list(tally))
        number = len(self.rounds) + 1
        shown = [c for c, s in enumerate(self.state) if s in {"hopeful", "elected"}]
        extra: dict[str, Any] = {"action": stage.action, **stage.extra}
        if self.fixed:
            extra["rounding_loss"] = self.exact(self.loss)
        sentence = "; ".join(stage.sentence)
        self.rounds.append(
            Round(
                number=number,
                tallies={self.names[c]: self.exact(tally[c]) for c in shown},
                explanation=f"Round {number}: {sentence}.",
                threshold=self.exact(self.quota),
                elected=tuple(self.names[c] for c in stage.elected),
                excluded=tuple(self.names[c] for c in stage.excluded),
                transfers={self.names[c]: self.exact(v) for c, v in stage.transfers.items()},
                exhausted=self.exact(self.exhausted),
                draws=tuple(stage.draws),
                extra=extra,
            )
        )

    def describe_transfers(self, credited: dict[int, Number], exhausted: Number) -> str:
        moved = sorted(credited.items(), key=lambda item: (-Fraction(item[1]), item[0]))
        parts = [f"{self.names[c]} +{self.show(v)}" for c, v in moved if v]
        text = ", ".join(parts) if parts else "nothing to continuing candidates"
        if exhausted:
            text += f"; {self.show(exhausted)} non-transferable"
        return text

    def transfer_surplus(self) -> None:
        """Rules 48 and 49: transfer the largest surplus, every paper at its transfer value."""
        tally = self.ballots.tally
        largest = max(tally[c] for c in self.pending)
        tied = [c for c in self.pending if tally[c] == largest]
        c, why, draws = self.break_tie(tied, lowest=False, purpose="equal surpluses")
        self.pending.remove(c)
        total = tally[c]
        surplus = total - self.quota
        classes = self.ballots.class_totals(c)
        revalue = self.surplus_value(surplus, total)
        values = sorted({revalue(self.ballots.values[k]) for k in classes}, reverse=True)
        credited, exhausted = self.ballots.transfer(c, revalue)
        moved = sum(credited.values(), 0)
        loss = surplus - moved - exhausted
        self.exhausted += exhausted
        self.loss += loss
        tally[c] = self.quota
        name = self.names[c]
        if self.fixed:
            how = "to five decimal places, remainder ignored"
            shown_values = ", ".join(self.show(v) for v in values)
        else:
            how = "exactly"
            shown_values = ", ".join(_fraction_text(self.exact(v)) for v in values)
        plural = "s" if len(values) > 1 else ""
        sentence = (
            f"{name}'s surplus of {self.show(surplus)} over the quota of {self.show(self.quota)} "
            f"was transferred: every ballot paper of {name}'s moved to its next available "
            f"preference at the transfer value{plural} {shown_values} (surplus × value ÷ "
            f"{self.show(total)}, {how}): {self.describe_transfers(credited, exhausted)}"
        )
        if loss:
            sentence += f"; {self.show(loss)} lost to truncation"
        stage = _Stage(
            "surplus",
            [why, sentence] if why else [sentence],
            [],
            [],
            dict(credited),
            draws,
            {
                "candidate": name,
                "surplus": self.exact(surplus),
                "transfer_values": [self.exact(v) for v in values],
                "loss": self.exact(loss),
            },
        )
        self.finish_stage(stage)

    def exclude_lowest(self) -> None:
        """Rules 50 and 51: exclude the candidate with the fewest votes."""
        tally = self.ballots.tally
        candidates, note = self._excludable(self.hopeful())
        fewest = min(tally[c] for c in candidates)
        tied = [c for c in candidates if tally[c] == fewest]
        c, why, draws = self.break_tie(tied, lowest=True, purpose="tie for exclusion")
        reason = f"{self.names[c]} had the fewest votes ({self.show(fewest)})"
        if note:
            reason = f"{note}; {reason}"
        if why:
            reason = f"{why}; {reason}"
        self.exclude(c, reason=reason, draws=draws)

    def exclude(self, c: int, *, reason: str, draws: list[Draw]) -> None:
        tally = self.ballots.tally
        votes = tally[c]
        self.mark_excluded(c)
        credited, exhausted = self.ballots.transfer(c)
        tally[c] = 0
        self.exhausted += exhausted
        name = self.names[c]
        sentence = f"{reason} and was excluded"
        if votes:
            sentence += (
                f"; {name}'s ballot papers moved at the values they were received at: "
                f"{self.describe_transfers(credited, exhausted)}"
            )
        stage = _Stage(
            "exclusion",
            [sentence],
            [],
            [c],
            dict(credited),
            draws,
            {"candidate": name},
        )
        self.finish_stage(stage)

    def last_seats(self, hopeful: list[int]) -> None:
        """Rule 52: as many continuing candidates as vacancies left: all are elected."""
        names = [self.names[c] for c in hopeful]
        verb = "were" if len(names) > 1 else "was"
        left = self.vacancies()
        if len(hopeful) == left:
            why = (
                f"the continuing candidates are as many as the vacancies left ({left}): "
                f"{join_names(names)} {verb} elected without further transfer"
            )
        else:
            why = (
                f"fewer continuing candidates than vacancies left ({len(hopeful)} for {left}): "
                f"{join_names(names)} {verb} elected and {left - len(hopeful)} seat(s) stay vacant"
            )
        for c in sorted(hopeful, key=lambda c: (-Fraction(self.ballots.tally[c]), c)):
            self.state[c] = "elected"
            self.ballots.continuing[c] = False
            self.elected.append(c)
        tally = self.ballots.tally
        number = len(self.rounds) + 1
        self.history.append(list(tally))
        extra: dict[str, Any] = {"action": "last_vacancies"}
        if self.fixed:
            extra["rounding_loss"] = self.exact(self.loss)
        shown = [c for c, s in enumerate(self.state) if s == "elected"]
        self.rounds.append(
            Round(
                number=number,
                tallies={self.names[c]: self.exact(tally[c]) for c in shown},
                explanation=f"Round {number}: {why}.",
                threshold=self.exact(self.quota),
                elected=tuple(self.names[c] for c in self.elected[-len(hopeful) :]),
                exhausted=self.exact(self.exhausted),
                extra=extra,
            )
        )

    def rule_data(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rule": self.rule,
            "seats": self.seats,
            "quota": "droop_whole_plus_one" if self.fixed else "droop_exact_exceeded",
            "arithmetic": "fixed_5_truncated" if self.fixed else "exact_rational",
            "withdrawn": sorted(self.withdrawn),
        }

    def result(self) -> Result:
        winners = tuple(self.names[c] for c in self.elected)
        quota = self.show(self.quota)
        if winners:
            summary = (
                f"Elected by {self.label} ({self.seats} seat{'s' if self.seats > 1 else ''}, "
                f"quota {quota}): {join_names(list(winners))}."
            )
        else:
            summary = f"No candidate stands: nobody is elected by {self.label}."
        if winners and len(winners) < self.seats:
            summary += f" {self.seats - len(winners)} seat(s) stay vacant: too few candidates."
        details: dict[str, Any] = {
            "quota": self.exact(self.quota),
            "valid_ballots": self.exact(self.total),
            "invalid_ballots": self.profile.empty + self.exact(self.ballots.invalid),
            "exhausted": self.exact(self.exhausted),
        }
        if self.fixed:
            details["rounding_loss"] = self.exact(self.loss)
        return Result(
            method=self.method,
            rule=self.rule_data(),
            winners=winners,
            rounds=tuple(self.rounds),
            outcome="elected" if winners else "none_elected",
            summary=summary,
            seed=self.seed,
            details=details,
        )


def _fraction_text(value: Fraction) -> str:
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{value.numerator}/{value.denominator}"


def count(
    profile: RankedProfile,
    *,
    seats: int,
    rule: str,
    seed: str | None = None,
    withdrawn: Collection[str] = (),
) -> Result:
    """Count an STV election by Scottish STV or WIGM; see the module docstring for the rules.

    ``withdrawn`` adds to the profile's own withdrawn candidates. Ties that the look-back
    rule cannot settle are drawn by lot from ``seed`` (``LotRequiredError`` without one).

    >>> from konsilo.counting.profile import RankedProfile
    >>> p = RankedProfile.from_rankings(["A", "B", "C"], [["A", "B"]] * 3 + [["C"]] * 2)
    >>> r = count(p, seats=1, rule="wigm")
    >>> r.winners, r.rounds[0].threshold
    (('A',), Fraction(5, 2))
    """
    return Count(profile, seats=seats, rule=rule, seed=seed, withdrawn=withdrawn).run()
