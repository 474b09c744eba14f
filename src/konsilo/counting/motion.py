"""Yes/no/abstain motions: simple, absolute and qualified majorities, unanimity, quorum.

A motion is decided by one exact comparison. Weights are integers or exact fractions, so a
delegation that casts its mandate proportionally (domain rules §3.6: 14/11 yes, 8/11 no) is
counted as it voted. Nothing is rounded: a weighted tie is a tie and fails unless the tie rule
says otherwise (§3.3). A missed quorum is never a decision (§3.8): the outcome is
``"no_quorum"``, with neither winner nor loser.

Rules (domain rules §2.9):

* ``simple_majority``: yes > no (with ``abstention_treatment="counts_against"``:
  yes > no + abstain).
* ``absolute_majority``: yes > 1/2 of the eligible weight (all members).
* ``supermajority(p)``: yes ≥ p of votes cast; votes cast are yes + no, or yes + no + abstain
  when abstentions count against.
* ``supermajority_of_members(p)``: yes ≥ p of the eligible weight.
* ``unanimity``: at least one yes and no "no"; with abstentions counting against, no
  abstention either.

Ties exist only for the two "more than" rules (simple and absolute majority), when yes lands
exactly on the mark. The ``tie_rule`` then says: ``"fails"`` (rejected, the default and
Robert's Rules' rule), ``"revote"`` (outcome ``"tie"``, nobody wins, vote again) or
``"casting_vote"`` (the chair's casting vote, an input, decides). The "at least" rules have no
tie: reaching the mark exactly adopts.

Source: Robert's Rules of Order Newly Revised, 12th ed., §§1:6-1:7, 44:1-44:13 (votes cast,
majorities, ties), §40 (quorum); konsilo domain rules §§2.8, 2.9, 3.3, 3.6, 3.8.

>>> r = count(MotionBallots(yes=41, no=30, abstain=5), rule="simple_majority")
>>> r.outcome
'adopted'
>>> r.summary
'41 yes, 30 no, 5 abstentions; abstentions excluded; 41 of 71 votes cast is more than half: adopted'
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from konsilo.counting.result import Result, Round

__all__ = [
    "MotionBallots",
    "MotionError",
    "MotionRule",
    "Quorum",
    "count",
    "supermajority",
    "supermajority_of_members",
]

Number = int | Fraction
AbstentionTreatment = Literal["excluded", "counts_against"]
TieRule = Literal["fails", "revote", "casting_vote"]
QuorumBasis = Literal["members", "votes_cast", "weight"]

_KINDS = (
    "simple_majority",
    "absolute_majority",
    "supermajority",
    "supermajority_of_members",
    "unanimity",
)


class MotionError(ValueError):
    """A motion count was given inconsistent input; the message names the field."""


def _n(value: Fraction) -> str:
    """An exact number as people read it: ``41``, ``14/11``."""
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


def _exact(name: str, value: Number | None, *, allow_none: bool = False) -> Fraction | None:
    if value is None:
        if allow_none:
            return None
        raise MotionError(f"{name}: expected a number, got None")
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise MotionError(f"{name}: expected an int or Fraction, got {type(value).__name__}")
    exact = Fraction(value)
    if exact < 0:
        raise MotionError(f"{name}: expected a non-negative number, got {_n(exact)}")
    return exact


def _fraction_of_one(name: str, value: Number) -> Fraction:
    exact = _exact(name, value)
    assert exact is not None
    if not 0 < exact <= 1:
        raise MotionError(f"{name}: expected a fraction in (0, 1], got {_n(exact)}")
    return exact


@dataclass(frozen=True, slots=True)
class MotionBallots:
    """The exact tally of one motion, plus what the quorum and "of members" rules need.

    ``yes``, ``no`` and ``abstain`` are weights (whole ballots, or exact fractions for
    delegations casting proportional mandates). ``eligible`` is the number of members
    entitled to vote and ``participants`` the number who took part (abstaining included);
    both are head counts, used by the ``members`` quorum. ``eligible_weight`` is the total
    weight entitled to vote (defaults to ``eligible``), used by absolute and "of members"
    majorities and by the ``weight`` and ``votes_cast`` quorums.
    """

    yes: Number
    no: Number
    abstain: Number = 0
    eligible: int | None = None
    eligible_weight: Number | None = None
    participants: int | None = None

    def __post_init__(self) -> None:
        for name in ("yes", "no", "abstain"):
            object.__setattr__(self, name, _exact(name, getattr(self, name)))
        for name in ("eligible", "participants"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise MotionError(f"{name}: expected a non-negative whole number, got {value!r}")
        weight = _exact("eligible_weight", self.eligible_weight, allow_none=True)
        if weight is None and self.eligible is not None:
            weight = Fraction(self.eligible)
        object.__setattr__(self, "eligible_weight", weight)
        if weight is not None and self.total > weight:
            raise MotionError(
                f"eligible_weight: {_n(weight)} is less than the {_n(self.total)} weight that voted"
            )
        if (
            self.participants is not None
            and self.eligible is not None
            and self.participants > self.eligible
        ):
            raise MotionError(
                f"participants: {self.participants} is more than the {self.eligible} eligible"
            )

    @property
    def total(self) -> Fraction:
        """Weight of every ballot returned: yes + no + abstain."""
        return Fraction(self.yes) + Fraction(self.no) + Fraction(self.abstain)

    def head_count(self) -> int:
        """Members who took part: ``participants``, or the total when it is a whole number."""
        if self.participants is not None:
            return self.participants
        total = self.total
        if total.denominator != 1:
            raise MotionError(
                "participants: a members quorum over fractional weights needs the head count"
            )
        return int(total)

    def to_canonical(self) -> dict[str, Any]:
        return {
            "yes": self.yes,
            "no": self.no,
            "abstain": self.abstain,
            "eligible": self.eligible,
            "eligible_weight": self.eligible_weight,
            "participants": self.participants,
        }


@dataclass(frozen=True, slots=True)
class MotionRule:
    """A decision rule: its kind and, for the qualified majorities, the fraction ``p``."""

    kind: str
    fraction: Fraction | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise MotionError(f"rule: expected one of {', '.join(_KINDS)}, got {self.kind!r}")
        needs_fraction = self.kind in ("supermajority", "supermajority_of_members")
        if needs_fraction and self.fraction is None:
            raise MotionError(f"rule: {self.kind} needs a fraction p")
        if not needs_fraction and self.fraction is not None:
            raise MotionError(f"rule: {self.kind} takes no fraction")
        if self.fraction is not None:
            object.__setattr__(self, "fraction", _fraction_of_one("rule.fraction", self.fraction))

    def to_canonical(self) -> dict[str, Any]:
        return {"kind": self.kind, "fraction": self.fraction}


def supermajority(p: Number) -> MotionRule:
    """Yes ≥ p of votes cast (``supermajority(Fraction(2, 3))`` for two thirds)."""
    return MotionRule("supermajority", Fraction(p))


def supermajority_of_members(p: Number) -> MotionRule:
    """Yes ≥ p of the eligible weight, however many voted."""
    return MotionRule("supermajority_of_members", Fraction(p))


@dataclass(frozen=True, slots=True)
class Quorum:
    """A quorum: ``fraction`` of the eligible members (or weight) must take part.

    ``basis="members"``: members who took part (abstaining included) against ``eligible``.
    ``basis="weight"``: weight of all ballots returned against ``eligible_weight`` (the
    represented members of a council of delegates). ``basis="votes_cast"``: yes + no weight,
    abstentions not counted, against ``eligible_weight`` (a turnout threshold). The quorum is
    met when the count reaches the mark (``strict=False``) or exceeds it (``strict=True``,
    Robert's Rules' "a majority of the members" with ``fraction=1/2``).
    """

    fraction: Fraction
    basis: QuorumBasis = "members"
    strict: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "fraction", _fraction_of_one("quorum.fraction", self.fraction))
        if self.basis not in ("members", "votes_cast", "weight"):
            raise MotionError(
                f"quorum.basis: expected members, votes_cast or weight, got {self.basis!r}"
            )

    def check(self, ballots: MotionBallots) -> tuple[bool, str]:
        """Whether the quorum is met, and the sentence saying so."""
        if self.basis == "members":
            if ballots.eligible is None:
                raise MotionError("eligible: a members quorum needs the number of eligible members")
            present = Fraction(ballots.head_count())
            base = Fraction(ballots.eligible)
            unit = "members took part"
        else:
            if ballots.eligible_weight is None:
                raise MotionError(
                    f"eligible_weight: a {self.basis} quorum needs the eligible weight"
                )
            base = Fraction(ballots.eligible_weight)
            if self.basis == "weight":
                present, unit = ballots.total, "of the weight took part"
            else:
                present = Fraction(ballots.yes) + Fraction(ballots.no)
                unit = "of the weight cast yes or no"
        needed = self.fraction * base
        met = present > needed if self.strict else present >= needed
        relation = "more than" if self.strict else "at least"
        verdict = "quorum met" if met else "quorum not met"
        sentence = (
            f"{_n(present)} of {_n(base)} {unit}; {relation} {_n(needed)} "
            f"({_n(self.fraction)}) needed: {verdict}"
        )
        return met, sentence

    def to_canonical(self) -> dict[str, Any]:
        return {"fraction": self.fraction, "basis": self.basis, "strict": self.strict}


def _as_rule(rule: MotionRule | str) -> MotionRule:
    if isinstance(rule, MotionRule):
        return rule
    if rule in ("supermajority", "supermajority_of_members"):
        raise MotionError(f"rule: use {rule}(p) to give the fraction")
    return MotionRule(rule)


def _describe(ballots: MotionBallots) -> str:
    abstain = Fraction(ballots.abstain)
    word = "abstention" if abstain == 1 else "abstentions"
    return f"{_n(Fraction(ballots.yes))} yes, {_n(Fraction(ballots.no))} no, {_n(abstain)} {word}"


def count(
    ballots: MotionBallots,
    *,
    rule: MotionRule | str,
    quorum: Quorum | None = None,
    abstention_treatment: AbstentionTreatment = "excluded",
    tie_rule: TieRule = "fails",
    casting_vote: Literal["yes", "no"] | None = None,
) -> Result:
    """Decide one motion under ``rule``; see the module docstring for the rules and ties.

    The result has one round with the exact tallies (``yes``, ``no``, ``abstain``), the mark
    yes had to pass as ``threshold`` and ``extra["comparison"]`` saying whether it had to be
    ``more_than`` or ``at_least`` that mark. ``winners`` is ``("yes",)`` when adopted,
    ``("no",)`` when rejected and empty on ``no_quorum`` or ``tie``.

    >>> r = count(MotionBallots(yes=10, no=10), rule="simple_majority", tie_rule="revote")
    >>> r.outcome, sorted(r.tied)
    ('tie', ['no', 'yes'])
    """
    the_rule = _as_rule(rule)
    if abstention_treatment not in ("excluded", "counts_against"):
        raise MotionError(
            "abstention_treatment: expected excluded or counts_against, "
            f"got {abstention_treatment!r}"
        )
    if tie_rule not in ("fails", "revote", "casting_vote"):
        raise MotionError(f"tie_rule: expected fails, revote or casting_vote, got {tie_rule!r}")
    if casting_vote not in (None, "yes", "no"):
        raise MotionError(f"casting_vote: expected 'yes', 'no' or None, got {casting_vote!r}")
    if casting_vote is not None and tie_rule != "casting_vote":
        raise MotionError(f"casting_vote: given, but tie_rule is {tie_rule!r}")

    yes, no, abstain = Fraction(ballots.yes), Fraction(ballots.no), Fraction(ballots.abstain)
    tallies = {"yes": yes, "no": no, "abstain": abstain}
    against = abstention_treatment == "counts_against"
    rule_data: dict[str, Any] = {
        "rule": the_rule,
        "quorum": quorum,
        "abstention_treatment": abstention_treatment,
        "tie_rule": tie_rule,
        "casting_vote": casting_vote,
    }
    opening = _describe(ballots)
    treatment = "abstentions count against" if against else "abstentions excluded"

    def result(outcome: str, sentence: str, **round_kw: Any) -> Result:
        winners: tuple[str, ...] = {"adopted": ("yes",), "rejected": ("no",)}.get(outcome, ())
        tied = frozenset({"yes", "no"}) if outcome == "tie" else frozenset()
        return Result(
            method="motion",
            rule=rule_data,
            winners=winners,
            rounds=(Round(number=1, tallies=tallies, explanation=sentence, **round_kw),),
            outcome=outcome,
            summary=sentence,
            tied=tied,
            details={"ballots": ballots},
        )

    if quorum is not None:
        met, quorum_sentence = quorum.check(ballots)
        if not met:
            return result(
                "no_quorum",
                f"{opening}; {quorum_sentence}: no decision",
                extra={"quorum": "not_met"},
            )
        opening = f"{opening}; {quorum_sentence}"

    cast = yes + no + abstain if against else yes + no
    members = ballots.eligible_weight
    if the_rule.kind in ("absolute_majority", "supermajority_of_members") and members is None:
        raise MotionError(f"eligible_weight: {the_rule.kind} needs the eligible members or weight")

    tie = False
    if the_rule.kind == "simple_majority":
        rival = no + abstain if against else no
        threshold, comparison = rival, "more_than"
        passed, tie = yes > rival, yes == rival
        rival_words = "no and abstentions" if against else "no"
        reason = f"{_n(yes)} yes {'is' if passed else 'is not'} more than {_n(rival)} {rival_words}"
        if against is False and cast:
            reason = (
                f"{_n(yes)} of {_n(cast)} votes cast {'is' if passed else 'is not'} more than half"
            )
    elif the_rule.kind == "absolute_majority":
        assert members is not None
        threshold, comparison = Fraction(members) / 2, "more_than"
        passed, tie = yes > threshold, yes == threshold
        reason = (
            f"{_n(yes)} of {_n(Fraction(members))} members "
            f"{'is' if passed else 'is not'} more than half"
        )
    elif the_rule.kind in ("supermajority", "supermajority_of_members"):
        p = the_rule.fraction
        assert p is not None
        base = cast if the_rule.kind == "supermajority" else Fraction(members or 0)
        threshold, comparison = p * base, "at_least"
        passed = base > 0 and yes >= threshold
        what = "votes cast" if the_rule.kind == "supermajority" else "members"
        reason = (
            f"{_n(yes)} of {_n(base)} {what} {'is' if passed else 'is not'} "
            f"at least {_n(p)} ({_n(threshold)})"
        )
    else:  # unanimity
        threshold, comparison = cast, "all"
        passed = yes > 0 and no == 0 and not (against and abstain > 0)
        if passed:
            reason = "no member voted against: unanimous"
        elif yes == 0:
            reason = "no member voted yes: not unanimous"
        else:
            reason = "some voted against: not unanimous"
    round_kw: dict[str, Any] = {
        "threshold": threshold,
        "extra": {
            "comparison": comparison,
            "votes_cast": cast,
            "quorum": "met" if quorum is not None else "not_required",
        },
    }
    prefix = f"{opening}; {treatment}; {reason}"

    if tie and not passed:
        if tie_rule == "revote":
            return result("tie", f"{prefix}: tied, vote again", **round_kw)
        if tie_rule == "casting_vote":
            if casting_vote is None:
                raise MotionError("casting_vote: the vote is tied and the chair's vote is needed")
            outcome = "adopted" if casting_vote == "yes" else "rejected"
            return result(
                outcome,
                f"{prefix}: tied; the chair's casting vote is {casting_vote}: {outcome}",
                **round_kw,
            )
        return result("rejected", f"{prefix}: tied, so the motion fails: rejected", **round_kw)
    outcome = "adopted" if passed else "rejected"
    return result(outcome, f"{prefix}: {outcome}", **round_kw)
