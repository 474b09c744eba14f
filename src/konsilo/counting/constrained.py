"""Constrained STV: Scottish STV or WIGM that keeps representation rules satisfiable.

The representation policies of domain-rules §2.7 become minimum numbers of seats per
category: a minimum share (``MinimumShare("woman", Fraction(2, 5))``: at least
``ceil(2/5 × seats)`` seats), reserved seats (``ReservedSeats("north", 1)``) and co-chair pairs
(``CoChairs("woman", "man")``: half the seats to each, so a pair of co-chairs is one of each).
A candidate may belong to several categories (``frozenset``); a seat counts for each.

Rule (I. D. Hill, "STV with constraints", *Voting matters* 9, 1998, with the feasibility
test that J. Otten's "STV with multiple constraints" in the same issue uses): the count is the
ordinary count of ``konsilo.counting.stv`` (Scottish STV or WIGM), except that before every
decision the rules are checked against every way the remaining seats could still be filled:

- a continuing candidate whose election would leave no way to meet the rules is *doomed* and
  is excluded at once (before any surplus is transferred), their papers moving on at the
  values they were received at; a candidate who reaches the quota at the same stage as others
  and is doomed by their election is excluded in the same way;
- a continuing candidate whose exclusion would leave no way to meet the rules is *guarded*:
  when a candidate must be excluded for having the fewest votes, guarded candidates are passed
  over and the lowest unguarded one goes;
- everything else (quota, transfers, ties, the last vacancies) is the underlying rule's.

Because every election and exclusion keeps at least one way of meeting the rules open, the
elected seats satisfy them whenever they can be satisfied at the start; when they cannot,
``ConstraintError`` names the rule that fails (domain-rules §3.12 leaves the remedy, a
recorded waiver, a vacant seat or wider eligibility, to the caller). Every forced exclusion
and every passed-over candidate appears in the round's sentence and in ``extra["forced"]``.

>>> from konsilo.counting.profile import RankedProfile
>>> p = RankedProfile.from_rankings(
...     ["Ana", "Ben", "Cy", "Dee"], [["Ben"]] * 5 + [["Cy"]] * 4 + [["Ana"]] * 2 + [["Dee"]]
... )
>>> r = count(p, seats=2, rule="wigm", categories={"Ana": "woman", "Dee": "woman"},
...           constraints=[MinimumShare("woman", Fraction(1, 2))])
>>> r.winners
('Ben', 'Ana')
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

from konsilo.counting.profile import RankedProfile
from konsilo.counting.result import Result
from konsilo.counting.stv import Count, format_number, join_names

__all__ = ["CoChairs", "Constraint", "ConstraintError", "MinimumShare", "ReservedSeats", "count"]


class ConstraintError(ValueError):
    """The representation rules cannot be met (or are malformed); the message names the rule."""


@dataclass(frozen=True, slots=True)
class MinimumShare:
    """At least ``share`` of the seats (rounded up) go to candidates of ``category``."""

    category: str
    share: Fraction

    def minimums(self, seats: int) -> dict[str, int]:
        share = Fraction(self.share)
        if not 0 <= share <= 1:
            raise ConstraintError(f"constraints: the share for {self.category!r} must be 0 to 1")
        return {self.category: math.ceil(share * seats)}

    def describe(self, seats: int) -> str:
        shown = format_number(Fraction(self.share) * 100, places=2)
        minimum = self.minimums(seats)[self.category]
        return f"{self.category} ≥ {shown} % of seats ({minimum} of {seats})"


@dataclass(frozen=True, slots=True)
class ReservedSeats:
    """``seats`` seats are reserved for candidates of ``category`` (at least that many)."""

    category: str
    seats: int

    def minimums(self, seats: int) -> dict[str, int]:
        if self.seats < 0 or self.seats > seats:
            raise ConstraintError(
                f"constraints: {self.seats} reserved seats for {self.category!r} do not fit "
                f"in {seats} seats"
            )
        return {self.category: self.seats}

    def describe(self, seats: int) -> str:
        return f"{self.seats} seat(s) reserved for {self.category}"


@dataclass(frozen=True, slots=True)
class CoChairs:
    """Co-chairs: half the seats to ``first``, half to ``second`` (one of each in a pair)."""

    first: str
    second: str

    def minimums(self, seats: int) -> dict[str, int]:
        if seats % 2:
            raise ConstraintError(
                f"constraints: co-chairs {self.first}/{self.second} need an even number of "
                f"seats, got {seats}"
            )
        if self.first == self.second:
            raise ConstraintError("constraints: co-chairs need two different categories")
        return {self.first: seats // 2, self.second: seats // 2}

    def describe(self, seats: int) -> str:
        return f"co-chairs: {seats // 2} {self.first} and {seats // 2} {self.second}"


Constraint = MinimumShare | ReservedSeats | CoChairs


def _min_picks(
    types: tuple[tuple[frozenset[str], int], ...], deficits: tuple[tuple[str, int], ...]
) -> int | None:
    """The fewest candidates (from ``types``: categories → how many) covering the deficits."""

    @cache
    def best(i: int, need: tuple[int, ...]) -> int | None:
        if not any(need):
            return 0
        if i == len(types):
            return None
        categories, available = types[i]
        covers = [categories.__contains__(name) for name, _ in deficits]
        if not any(c and n for c, n in zip(covers, need, strict=True)):
            return best(i + 1, need)
        useful = max(n for c, n in zip(covers, need, strict=True) if c)
        found: int | None = None
        for take in range(min(available, useful) + 1):
            rest = tuple(max(0, n - take) if c else n for c, n in zip(covers, need, strict=True))
            sub = best(i + 1, rest)
            if sub is not None and (found is None or take + sub < found):
                found = take + sub
        return found

    return best(0, tuple(n for _, n in deficits))


class _ConstrainedCount(Count):
    method = "constrained_stv"

    def __init__(
        self,
        profile: RankedProfile,
        *,
        seats: int,
        rule: str,
        seed: str | None,
        withdrawn: Collection[str],
        categories: Mapping[str, str | frozenset[str]],
        constraints: Sequence[Constraint],
    ) -> None:
        super().__init__(profile, seats=seats, rule=rule, seed=seed, withdrawn=withdrawn)
        unknown = set(categories) - set(self.names)
        if unknown:
            raise ConstraintError(f"categories: unknown candidate(s) {sorted(unknown)}")
        self.categories = dict(categories)
        self.constraints = tuple(constraints)
        self.rules: list[tuple[str, dict[str, int]]] = [
            (c.describe(seats), c.minimums(seats)) for c in self.constraints
        ]
        need: dict[str, int] = {}
        for _, minimums in self.rules:
            for category, minimum in minimums.items():
                need[category] = max(need.get(category, 0), minimum)
        self.need = {c: n for c, n in need.items() if n > 0}
        self.member: list[frozenset[str]] = []
        for name in self.names:
            raw = categories.get(name, frozenset())
            groups = frozenset({raw}) if isinstance(raw, str) else frozenset(raw)
            self.member.append(groups & frozenset(self.need))
        self.forced: list[dict[str, Any]] = []
        self.reported = 0
        self.label = f"constrained {self.label}"
        failing = self.failing(self.elected, self.hopeful(), self.seats)
        if failing is not None:
            raise ConstraintError(
                f"constraints: {failing} cannot be met by the candidates standing"
            )

    def feasible(self, elected: Sequence[int], hopeful: Sequence[int], seats_left: int) -> bool:
        return self.failing(elected, hopeful, seats_left) is None

    def failing(
        self, elected: Sequence[int], hopeful: Sequence[int], seats_left: int
    ) -> str | None:
        """None when the rules can still be met, else the rule (or rules) that cannot."""
        if self._cover(self.need, elected, hopeful, seats_left):
            return None
        for label, minimums in self.rules:
            if not self._cover(minimums, elected, hopeful, seats_left):
                return label
        return "the rules " + join_names([label for label, _ in self.rules]) + " together"

    def _cover(
        self,
        need: Mapping[str, int],
        elected: Sequence[int],
        hopeful: Sequence[int],
        seats_left: int,
    ) -> bool:
        deficits = []
        for category, minimum in sorted(need.items()):
            have = sum(1 for c in elected if category in self.member[c])
            if minimum > have:
                deficits.append((category, minimum - have))
        if not deficits:
            return True
        relevant = frozenset(name for name, _ in deficits)
        counts: dict[frozenset[str], int] = {}
        for c in hopeful:
            key = self.member[c] & relevant
            if key:
                counts[key] = counts.get(key, 0) + 1
        types = tuple(sorted(counts.items(), key=lambda item: sorted(item[0])))
        picks = _min_picks(types, tuple(deficits))
        return picks is not None and picks <= min(seats_left, len(hopeful))

    def _forced_exclusion(self) -> tuple[int, str] | None:
        tally = self.ballots.tally
        hopeful = self.hopeful()
        for c in sorted(hopeful, key=lambda c: (Fraction(tally[c]), c)):
            others = [h for h in hopeful if h != c]
            failing = self.failing([*self.elected, c], others, self.vacancies() - 1)
            if failing is not None:
                name = self.names[c]
                self.forced.append({"candidate": name, "action": "excluded", "rule": failing})
                return c, (
                    f"electing {name} would leave no way to meet {failing}, so {name} "
                    f"({self.show(tally[c])} votes) is doomed"
                )
        return None

    def _may_elect(self, candidate: int) -> str | None:
        others = [h for h in self.hopeful() if h != candidate]
        failing = self.failing([*self.elected, candidate], others, self.vacancies() - 1)
        if failing is None:
            return None
        name = self.names[candidate]
        self.forced.append({"candidate": name, "action": "excluded", "rule": failing})
        return (
            f"{name} reached the quota, but electing {name} would leave no way to meet "
            f"{failing}: {name} is excluded and the papers move on at their values"
        )

    def _excludable(self, candidates: list[int]) -> tuple[list[int], str]:
        guarded: list[tuple[int, str]] = []
        for c in candidates:
            others = [h for h in candidates if h != c]
            failing = self.failing(self.elected, others, self.vacancies())
            if failing is not None:
                guarded.append((c, failing))
        if not guarded:
            return candidates, ""
        protected = {c for c, _ in guarded}
        tally = self.ballots.tally
        lowest = min(tally[c] for c in candidates)
        passed = [c for c, _ in guarded if tally[c] == lowest]
        if not passed:
            return [c for c in candidates if c not in protected], ""
        for c, failing in guarded:
            if c in passed:
                self.forced.append(
                    {"candidate": self.names[c], "action": "protected", "rule": failing}
                )
        names = join_names([self.names[c] for c in passed])
        rules = join_names(sorted({f for c, f in guarded if c in passed}))
        verb = "is" if len(passed) == 1 else "are"
        note = f"{names} {verb} guarded (excluding them would leave no way to meet {rules})"
        return [c for c in candidates if c not in protected], note

    def finish_stage(self, stage: Any) -> None:
        before = self.reported
        super().finish_stage(stage)
        self.reported = len(self.forced)
        if len(self.forced) > before:
            last = self.rounds[-1]
            extra = dict(last.extra)
            extra["forced"] = self.forced[before:]
            self.rounds[-1] = type(last)(
                number=last.number,
                tallies=last.tallies,
                explanation=last.explanation,
                threshold=last.threshold,
                elected=last.elected,
                excluded=last.excluded,
                transfers=last.transfers,
                exhausted=last.exhausted,
                draws=last.draws,
                extra=extra,
            )

    def rule_data(self) -> dict[str, Any]:
        """Everything a recount needs: the categories and the constraints with their
        parameters (`konsilo.counting.methods.recount` reads them back), and the constraints
        as sentences for people."""
        data = super().rule_data()
        data["categories"] = {
            name: category if isinstance(category, str) else sorted(category)
            for name, category in sorted(self.categories.items())
        }
        data["constraints"] = [_constraint_data(c) for c in self.constraints]
        data["descriptions"] = [label for label, _ in self.rules]
        data["enforcement"] = "hill_1998_doomed_and_guarded"
        return data


def _constraint_data(constraint: Constraint) -> dict[str, Any]:
    """A constraint as rule data: ``{"kind": "minimum_share", "category": ..., "share": ...}``."""
    if isinstance(constraint, MinimumShare):
        return {
            "kind": "minimum_share",
            "category": constraint.category,
            "share": str(Fraction(constraint.share)),
        }
    if isinstance(constraint, ReservedSeats):
        return {
            "kind": "reserved_seats",
            "category": constraint.category,
            "seats": constraint.seats,
        }
    return {"kind": "co_chairs", "first": constraint.first, "second": constraint.second}


def count(
    profile: RankedProfile,
    *,
    seats: int,
    rule: str,
    categories: Mapping[str, str | frozenset[str]],
    constraints: Sequence[Constraint],
    seed: str | None = None,
    withdrawn: Collection[str] = (),
) -> Result:
    """Count STV (``rule`` ``"scottish"`` or ``"wigm"``) under representation constraints.

    ``categories`` maps candidates to their category (or a frozenset of them); see the module
    docstring for the enforcement rule. ``ConstraintError`` when the rules cannot be met.

    >>> from konsilo.counting.profile import RankedProfile
    >>> p = RankedProfile.from_rankings(["Ana", "Ben"], [["Ben"]])
    >>> count(p, seats=2, rule="wigm", categories={"Ana": "woman"},
    ...       constraints=[CoChairs("woman", "man")])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    konsilo...ConstraintError: constraints: co-chairs: 1 woman and 1 man cannot be met ...
    """
    return _ConstrainedCount(
        profile,
        seats=seats,
        rule=rule,
        seed=seed,
        withdrawn=withdrawn,
        categories=categories,
        constraints=constraints,
    ).run()
