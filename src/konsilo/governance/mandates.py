"""Mandates: how a base's instruction vote becomes its delegation's vote at the higher council.

A delegation carries the mandate of its base (domain-rules §2.3, glossary "Mandate",
"Instruction"). This module derives it, exactly and deterministically, from the base's tally
and the delegation's policy, so the web layer and ``konsilo verify`` compute the same thing:

* ``bound_majority``: the delegation casts its whole weight for the base's outcome, the
  winner under the same counting method (§3.20). A tied base has no majority and gives **no
  instruction**, never a "no" (§3.3).
* ``bound_proportional``: the delegation's weight W is split exactly (``Fraction``) in
  proportion to the base's ballots: yes = W·y/(y+n), no = W·n/(y+n) with abstentions
  excluded, or over (y+n+a) with an abstain share when the higher council counts
  abstentions (§3.6). Multi-option and ranked items pass the whole weighted profile up: every
  distinct ballot of the base, with weight W·count/total (§3.6, §3.20). With
  ``mandate.weights = whole_votes`` the split is rounded to whole votes by the apportionment
  method and the rounding loss is kept.
* ``instructed_with_discretion``: the base's outcome is guidance; the delegate votes.
* ``free``: the delegate votes by judgement.

Without an instruction (the base did not vote by the deadline, missed its quorum, or tied
under ``bound_majority``) ``mandate.no_instruction_behavior`` applies (§3.2): ``abstain``
(the delegation contributes 0 yes and 0 no), ``discretion`` (flagged in the record),
``not_counted``, or ``carry_previous_position`` (only for the identical text, same content
hash, else abstain). Late instructions follow ``mandate.late_instruction`` and are never
applied once the higher vote has closed (§3.2, §3.15).

Enforcement: with ``system_casts`` the platform casts the bound votes (:func:`cast_votes`),
so a breach is impossible and a recall does not change them (§3.1); with
``delegate_casts_checked`` the delegate votes and :func:`check_delegate_vote` returns a
:class:`MandateBreached` event for the recall rules. Events are frozen dataclasses with
past-tense names; every mandate and event carries a plain sentence.

Ballots are the canonical shapes of the record (RECORD-CONTRACT §3): motion
``{"choice": "yes"|"no"|"abstain"}``, plurality ``{"choice": option}``, approval
``{"approve": [...]}``, score ``{"scores": {...}}``, dot vote ``{"dots": {...}}``, ranked
``{"ranking": [[a], [b, c]]}``, consent ``{"stance": ..., "reason": ...}``.

Sources: domain-rules §2.3, §3.1–3.3, §3.6, §3.8, §3.10, §3.11, §3.15, §3.20, §3.21; the
card vote (Webbs, *Industrial Democracy*, 1897) for fractional weights; the Commune's
imperative mandate "specifying and limiting" the mission of the mandatary.

>>> vote = BaseVote.motion("mill", item="i1", content_hash="h1", yes=70, no=40, abstain=10,
...                        eligible=120, closed_at=T0)
>>> m = derive_mandate(vote, delegation="mill->region", content_hash="h1", weight=2,
...                    policy=MandatePolicy(mode="bound_proportional"))
>>> [(b["choice"], str(w)) for b, w in m.votes]
[('no', '8/11'), ('yes', '14/11')]
>>> m.explanation.split(": ")[-1]
'no 8/11, yes 14/11.'
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo import canonical
from konsilo.counting.motion import MotionBallots, MotionRule
from konsilo.counting.motion import count as count_motion
from konsilo.counting.result import Draw, Result
from konsilo.governance.apportionment import apportion
from konsilo.governance.errors import GovernanceError

__all__ = [
    "BLANK_BALLOTS",
    "ENFORCEMENTS",
    "LATE_INSTRUCTION",
    "METHODS",
    "MODES",
    "NO_INSTRUCTION_BEHAVIORS",
    "OUT_OF_MANDATE_STEPS",
    "Ballot",
    "BallotRejected",
    "BaseVote",
    "DelegateBallot",
    "DelegationVoted",
    "DiscretionUsed",
    "InstructionConflictFlagged",
    "LateInstructionApplied",
    "LateInstructionNotApplied",
    "Mandate",
    "MandateBreached",
    "MandateError",
    "MandatePolicy",
    "MandateRevision",
    "OutOfMandate",
    "OutOfMandateVote",
    "PostponementRequested",
    "ReferredBack",
    "Settlement",
    "Tenure",
    "VoteWindow",
    "WeightedBallot",
    "assign_whole_votes",
    "ballot_key",
    "cast_votes",
    "check_delegate_vote",
    "check_out_of_mandate_vote",
    "delegation_key",
    "delegation_weight",
    "derive_mandate",
    "flag_instruction_conflicts",
    "group_ballots",
    "instruction_quorum",
    "mandate_derived_data",
    "mandate_on_text",
    "out_of_mandate",
    "postponement_granted",
    "proportional_split",
    "revise_mandate",
    "settle_delegation_vote",
    "settle_out_of_mandate",
    "split_delegation",
]

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # the docstring examples' instant

MODES = ("bound_majority", "bound_proportional", "instructed_with_discretion", "free")
BOUND_MODES = ("bound_majority", "bound_proportional")
ENFORCEMENTS = ("system_casts", "delegate_casts_checked", "delegate_casts_unchecked")
NO_INSTRUCTION_BEHAVIORS = ("abstain", "discretion", "not_counted", "carry_previous_position")
LATE_INSTRUCTION = ("ignore", "accept_until_vote_opens", "accept_until_vote_closes")
OUT_OF_MANDATE_STEPS = ("abstain", "discretion", "request_postponement", "refer_back")
VOTE_WEIGHTS = ("per_delegate", "represented_members", "equal_per_base")

# The counting method of an item decides its ballot shape; ranked methods share one shape.
_RANKED = ("ranked", "schulze", "irv", "stv", "meek")
METHODS = ("motion", "plurality", "approval", "budget", "score", "dot_vote", "consent", *_RANKED)
_KEY = {
    "motion": "choice",
    "plurality": "choice",
    "approval": "approve",
    "budget": "approve",
    "score": "scores",
    "dot_vote": "dots",
    "consent": "stance",
    **dict.fromkeys(_RANKED, "ranking"),
}
BLANK_BALLOTS: Mapping[str, Mapping[str, Any] | None] = MappingProxyType(
    {
        "motion": {"choice": "abstain"},
        "plurality": {"choice": None},
        "approval": {"approve": []},
        "budget": {"approve": []},
        "score": {"scores": {}},
        "dot_vote": {"dots": {}},
        "consent": None,  # consent has no abstention: an uninstructed delegation states no stance
        **{key: {"ranking": []} for key in _RANKED},
    }
)
"""What an abstaining delegation casts, per method: the shape's blank ballot."""

Ballot = Mapping[str, Any]
WeightedBallot = tuple[Ballot, Fraction]


class MandateError(GovernanceError):
    """A mandate cannot be derived or checked as asked (shape mismatch, bad time, bad key)."""


class _Plain:
    """Frozen records whose canonical form is simply their fields (events, small results)."""

    __slots__ = ()

    def to_canonical(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


def _n(value: Fraction | int) -> str:
    v = Fraction(value)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise MandateError(
            f"expected an aware datetime (a UTC instant), got {value!r}", field=name, code="naive"
        )
    return value.astimezone(UTC)


def _choice(name: str, value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise MandateError(
            f"expected one of {', '.join(allowed)}, got {value!r}",
            field=name,
            code="invalid_choice",
        )
    return value


def _exact(name: str, value: Any) -> Fraction:
    """An exact number from canonical data: a string ("7/2") or an integer, never a float."""
    if type(value) is str and value.isdigit() and value.isascii():
        return Fraction(int(value))  # a whole number, the most common: no parsing of a ratio
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MandateError(f"expected an exact number, got {value!r}", field=name)
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise MandateError(f"expected an exact number, got {value!r}", field=name) from None


def _weight(name: str, value: Fraction | int) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        raise MandateError(f"expected an int or Fraction, got {value!r}", field=name)
    exact = value if type(value) is Fraction else Fraction(value)
    if exact < 0:
        raise MandateError(f"expected a weight ≥ 0, got {_n(exact)}", field=name, code="negative")
    return exact


def delegation_key(lower: str, higher: str) -> str:
    """The record's name of the delegation of council ``lower`` to council ``higher``.

    >>> delegation_key("mill", "north")
    'mill->north'
    """
    if not lower or not higher or "->" in lower or "->" in higher:
        raise MandateError(
            f"expected two council keys without '->', got {lower!r} and {higher!r}",
            field="delegation",
        )
    return f"{lower}->{higher}"


def _split_key(delegation: str) -> tuple[str, str]:
    lower, sep, higher = delegation.partition("->")
    if not sep or not lower or not higher:
        raise MandateError(
            f"expected a delegation key 'lower->higher', got {delegation!r}", field="delegation"
        )
    return lower, higher


def delegation_weight(
    vote_weight: str, *, seats: int, represented: int, voters: int | None = None
) -> Fraction:
    """The weight W a delegation carries (``structure.vote_weight``, §2.1, §3.6).

    ``per_delegate``: its seats; ``represented_members`` (card vote): the members it
    represents in the frozen census, or, when ``voters`` is given
    (``represented_count_basis = voters_in_instruction_vote``), those who voted;
    ``equal_per_base``: 1.

    >>> delegation_weight("represented_members", seats=2, represented=120)
    Fraction(120, 1)
    """
    _choice("structure.vote_weight", vote_weight, VOTE_WEIGHTS)
    if vote_weight == "per_delegate":
        return Fraction(seats)
    if vote_weight == "equal_per_base":
        return Fraction(1)
    return Fraction(represented if voters is None else voters)


def instruction_quorum(policy: Mapping[str, Any]) -> Fraction:
    """The quorum of a base's instruction vote: ``mandate.instruction_quorum``, or when that
    is none the base's own ``quorum.fraction`` (§2.3, §2.8).

    >>> instruction_quorum({"quorum.fraction": Fraction(1, 3)})
    Fraction(1, 3)
    """
    own = _value(policy, "mandate.instruction_quorum", None)
    if own is not None:
        return Fraction(own)
    return Fraction(_value(policy, "quorum.fraction", Fraction(1, 2)))


def ballot_key(ballot: Ballot | None) -> str:
    """The canonical text of a ballot: equal ballots have equal keys (used to group them)."""
    return canonical.dumps_str(ballot)


_BALLOT_KEYS: dict[tuple[tuple[str, str | None], ...], str] = {}


def group_ballots(ballots: Iterable[tuple[Ballot, Fraction | int]]) -> tuple[WeightedBallot, ...]:
    """Merge equal ballots and add their weights; sorted by canonical key, zero weights dropped.

    >>> group_ballots([({"choice": "no"}, 1), ({"choice": "yes"}, 2), ({"choice": "no"}, 1)])
    (({'choice': 'no'}, Fraction(2, 1)), ({'choice': 'yes'}, Fraction(2, 1)))
    """
    merged: dict[str, tuple[Ballot, Fraction]] = {}
    # Ballots repeat a few shapes and weights: each distinct one is encoded (checked) once,
    # and a few thousand of a ballot of strings, told apart by its items
    # (canonical.string_items), once for all calls (a federation's bases repeat them).
    keys = _BALLOT_KEYS
    weights: dict[tuple[type, Any], Fraction] = {}
    for i, (ballot, weight) in enumerate(ballots):
        try:
            w = weights[(type(weight), weight)]
        except (KeyError, TypeError):
            w = _weight(f"ballots[{i}].weight", weight)
            with contextlib.suppress(TypeError):
                weights[(type(weight), weight)] = w
        if type(ballot) is not dict and not isinstance(ballot, Mapping):
            raise MandateError(f"expected a ballot mapping, got {ballot!r}", field=f"ballots[{i}]")
        items = canonical.string_items(ballot)
        key = keys.get(items) if items is not None else None
        if key is None:
            key = ballot_key(ballot)
            if items is not None and len(keys) < 4096:
                keys[items] = key
        old = merged.get(key)
        merged[key] = (dict(ballot) if old is None else old[0], w if old is None else old[1] + w)
    return tuple((b, w) for k, (b, w) in sorted(merged.items()) if w)


def _is_blank(ballot: Ballot) -> bool:
    """A ballot that supports nothing: an abstention, a blank plurality, an empty ranking."""
    if "choice" in ballot:
        return ballot["choice"] in (None, "abstain")
    for key in ("approve", "scores", "dots", "ranking"):
        if key in ballot:
            return not ballot[key]
    return False


def _check_shape(method: str, ballots: Sequence[WeightedBallot], where: str) -> None:
    key = _KEY[method]
    for i, (ballot, _) in enumerate(ballots):
        if key not in ballot:
            raise MandateError(
                f"expected {method} ballots with {key!r}, got {ballot_key(ballot)}; instructions "
                "must have the same ballot shape as the higher item (§3.20)",
                field=f"{where}[{i}]",
                code="shape_mismatch",
            )


# -- policy ---------------------------------------------------------------------------------


def _value(policy: Mapping[str, Any], name: str, default: Any) -> Any:
    if name not in policy:
        return default
    raw = policy[name]
    return getattr(raw, "value", raw)  # a ResolvedValue, or a plain value


@dataclass(frozen=True, slots=True)
class MandatePolicy:
    """The policy values a mandate needs, by their catalogue names (domain-rules §2.3).

    ``abstentions`` is the *higher* council's ``decision_rule.abstention_treatment``: whether
    a proportional split carries an abstain share up (``counts_against``) or not
    (``excluded``). ``breach_action`` is ``recall.mandate_breach_action``.
    """

    mode: str = "bound_majority"
    enforcement: str = "system_casts"
    no_instruction_behavior: str = "abstain"
    late_instruction: str = "accept_until_vote_opens"
    out_of_mandate_amendment: tuple[str, ...] = ("request_postponement", "abstain")
    weights: str = "fractional"
    apportionment_method: str | None = "sainte_lague"
    abstentions: str = "excluded"
    objection_mode: str = "only_base_mandated_objections"
    breach_action: str = "flag"
    postponement_threshold: Fraction = Fraction(1, 5)

    def __post_init__(self) -> None:
        _choice("mandate.mode", self.mode, MODES)
        _choice("mandate.enforcement", self.enforcement, ENFORCEMENTS)
        _choice(
            "mandate.no_instruction_behavior",
            self.no_instruction_behavior,
            NO_INSTRUCTION_BEHAVIORS,
        )
        _choice("mandate.late_instruction", self.late_instruction, LATE_INSTRUCTION)
        steps = tuple(getattr(s, "name", s) for s in self.out_of_mandate_amendment)
        for step in steps:
            _choice("mandate.out_of_mandate_amendment", step, OUT_OF_MANDATE_STEPS)
        if not steps:
            raise MandateError(
                "expected at least one step", field="mandate.out_of_mandate_amendment"
            )
        object.__setattr__(self, "out_of_mandate_amendment", steps)
        _choice("mandate.weights", self.weights, ("fractional", "whole_votes"))
        _choice(
            "decision_rule.abstention_treatment", self.abstentions, ("excluded", "counts_against")
        )
        _choice(
            "consent.delegate_objection_mode",
            self.objection_mode,
            ("own_judgement", "only_base_mandated_objections"),
        )
        _choice(
            "recall.mandate_breach_action",
            self.breach_action,
            ("flag", "auto_suspend", "auto_recall"),
        )
        if self.weights == "whole_votes" and self.apportionment_method is None:
            raise MandateError(
                "mandate.weights whole_votes needs structure.apportionment_method to round with",
                field="structure.apportionment_method",
                code="incompatible",
            )

    @property
    def is_bound(self) -> bool:
        """Whether the mode binds the delegation's vote."""
        return self.mode in BOUND_MODES

    @classmethod
    def from_policy(
        cls, policy: Mapping[str, Any], *, higher: Mapping[str, Any] | None = None
    ) -> MandatePolicy:
        """Read the delegation's resolved policy (and the higher council's for abstentions).

        Accepts a :class:`~konsilo.governance.policy.ResolvedPolicy` or a plain mapping of
        parameter name to value; missing names take the platform defaults.
        """
        top = higher if higher is not None else policy
        return cls(
            mode=_value(policy, "mandate.mode", "bound_majority"),
            enforcement=_value(policy, "mandate.enforcement", "system_casts"),
            no_instruction_behavior=_value(policy, "mandate.no_instruction_behavior", "abstain"),
            late_instruction=_value(policy, "mandate.late_instruction", "accept_until_vote_opens"),
            out_of_mandate_amendment=tuple(
                _value(
                    policy,
                    "mandate.out_of_mandate_amendment",
                    ("request_postponement", "abstain"),
                )
            ),
            weights=_value(policy, "mandate.weights", "fractional"),
            apportionment_method=_value(policy, "structure.apportionment_method", "sainte_lague"),
            abstentions=_value(top, "decision_rule.abstention_treatment", "excluded"),
            objection_mode=_value(
                policy, "consent.delegate_objection_mode", "only_base_mandated_objections"
            ),
            breach_action=_value(policy, "recall.mandate_breach_action", "flag"),
            postponement_threshold=_value(top, "mandate.postponement_threshold", Fraction(1, 5)),
        )

    def to_canonical(self) -> dict[str, Any]:
        return {
            "mandate.mode": self.mode,
            "mandate.enforcement": self.enforcement,
            "mandate.no_instruction_behavior": self.no_instruction_behavior,
            "mandate.late_instruction": self.late_instruction,
            "mandate.out_of_mandate_amendment": list(self.out_of_mandate_amendment),
            "mandate.weights": self.weights,
            "structure.apportionment_method": self.apportionment_method,
            "decision_rule.abstention_treatment": self.abstentions,
            "consent.delegate_objection_mode": self.objection_mode,
            "recall.mandate_breach_action": self.breach_action,
            "mandate.postponement_threshold": self.postponement_threshold,
        }

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> MandatePolicy:
        """Rebuild from :meth:`to_canonical` data as read back from the record."""
        try:
            threshold = Fraction(data["mandate.postponement_threshold"])
            return cls(
                mode=data["mandate.mode"],
                enforcement=data["mandate.enforcement"],
                no_instruction_behavior=data["mandate.no_instruction_behavior"],
                late_instruction=data["mandate.late_instruction"],
                out_of_mandate_amendment=tuple(data["mandate.out_of_mandate_amendment"]),
                weights=data["mandate.weights"],
                apportionment_method=data["structure.apportionment_method"],
                abstentions=data["decision_rule.abstention_treatment"],
                objection_mode=data["consent.delegate_objection_mode"],
                breach_action=data["recall.mandate_breach_action"],
                postponement_threshold=threshold,
            )
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, GovernanceError):
                raise
            raise MandateError(
                f"expected mandate policy data as written by to_canonical, got {err}",
                field="policy",
            ) from None


# -- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoteWindow:
    """The higher council's vote: instructions are due by ``instruction_deadline``, the vote
    is open over ``[opens_at, closes_at)``. All aware instants, stored in UTC."""

    instruction_deadline: datetime
    opens_at: datetime
    closes_at: datetime

    def __post_init__(self) -> None:
        for name in ("instruction_deadline", "opens_at", "closes_at"):
            object.__setattr__(self, name, _aware(name, getattr(self, name)))
        if not self.instruction_deadline <= self.opens_at < self.closes_at:
            raise MandateError(
                "expected instruction_deadline ≤ opens_at < closes_at, got "
                f"{self.instruction_deadline.isoformat()}, {self.opens_at.isoformat()}, "
                f"{self.closes_at.isoformat()}",
                field="window",
                code="bad_window",
            )

    def to_canonical(self) -> dict[str, Any]:
        return {
            "instruction_deadline": self.instruction_deadline,
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
        }

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> VoteWindow:
        """Rebuild from :meth:`to_canonical` data (instants written as ``...Z``)."""
        try:
            return cls(
                *(
                    canonical.instant(data[k])
                    for k in ("instruction_deadline", "opens_at", "closes_at")
                )
            )
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, GovernanceError):
                raise
            raise MandateError(f"expected window data, got {err}", field="window") from None


@dataclass(frozen=True, slots=True)
class BaseVote:
    """The closed instruction vote of one base on one item version (content hash).

    ``ballots`` are the distinct ballots with the weight each carries upward (1 per member;
    a secondary member's weight 0 is left out, §3.4; a council of delegates' weights are
    exact fractions). ``eligible`` is who could vote in the frozen census (heads or weight)
    and ``quorum`` the instruction quorum fraction (``mandate.instruction_quorum``, else the
    base's ``quorum.fraction``; ``None`` for none). ``result`` is the base's own count, needed
    under ``bound_majority`` for multi-option and ranked items (the winner under the same
    method, §3.20); motions are decided here from the tally with ``rule``.
    """

    base: str
    item: str
    content_hash: str
    method: str
    ballots: tuple[WeightedBallot, ...]
    eligible: Fraction | int
    closed_at: datetime
    quorum: Fraction | None = Fraction(1, 2)
    rule: str | MotionRule = "simple_majority"
    result: Result | None = None

    def __post_init__(self) -> None:
        _choice("method", self.method, METHODS)
        object.__setattr__(self, "ballots", group_ballots(self.ballots))
        _check_shape(self.method, self.ballots, "ballots")
        object.__setattr__(self, "eligible", _weight("eligible", self.eligible))
        object.__setattr__(self, "closed_at", _aware("closed_at", self.closed_at))
        if self.quorum is not None and not 0 < Fraction(self.quorum) <= 1:
            raise MandateError(f"expected a fraction in (0, 1], got {self.quorum}", field="quorum")
        if self.participants > Fraction(self.eligible):
            raise MandateError(
                f"{_n(self.participants)} voted but only {_n(self.eligible)} were eligible",
                field="eligible",
            )

    @classmethod
    def motion(
        cls,
        base: str,
        *,
        item: str,
        content_hash: str,
        yes: int | Fraction,
        no: int | Fraction,
        abstain: int | Fraction = 0,
        eligible: int | Fraction,
        closed_at: datetime,
        quorum: Fraction | None = Fraction(1, 2),
        rule: str | MotionRule = "simple_majority",
    ) -> BaseVote:
        """A yes/no/abstain instruction vote given by its tally."""
        tally = (("yes", yes), ("no", no), ("abstain", abstain))
        return cls(
            base=base,
            item=item,
            content_hash=content_hash,
            method="motion",
            ballots=tuple(({"choice": c}, Fraction(w)) for c, w in tally),
            eligible=eligible,
            closed_at=closed_at,
            quorum=quorum,
            rule=rule,
        )

    @property
    def participants(self) -> Fraction:
        """The weight of every ballot returned, blanks and abstentions included."""
        return sum((w for _, w in self.ballots), Fraction(0))

    def tally(self) -> dict[str, Fraction]:
        """Weight per ballot choice for motions and plurality (``{"yes": 70, ...}``)."""
        out: dict[str, Fraction] = {}
        for ballot, w in self.ballots:
            key = str(ballot.get("choice")) if "choice" in ballot else ballot_key(ballot)
            out[key] = out.get(key, Fraction(0)) + w
        return out

    def quorum_met(self) -> bool:
        """Whether enough of the eligible took part (abstaining counts as taking part, §2.8)."""
        if self.quorum is None:
            return True
        return self.participants >= Fraction(self.quorum) * Fraction(self.eligible)

    def describe(self) -> str:
        """The tally in words: ``70 yes, 40 no, 10 abstain``."""
        if self.method == "motion":
            t = self.tally()
            parts = (f"{_n(t.get(c, Fraction(0)))} {c}" for c in ("yes", "no", "abstain"))
            return ", ".join(parts)
        return f"{_n(self.participants)} ballots, {len(self.ballots)} distinct"

    def to_canonical(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "item": self.item,
            "content_hash": self.content_hash,
            "method": self.method,
            "ballots": [{"ballot": b, "weight": w} for b, w in self.ballots],
            "eligible": self.eligible,
            "closed_at": self.closed_at,
            "quorum": self.quorum,
            "rule": self.rule,
        }

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any], *, result: Result | None = None) -> BaseVote:
        """The vote back from ``to_canonical`` data (as the record and konsilo keep it), with
        the base's count when the caller has it; ``MandateError`` names what is wrong."""
        try:
            rule = data.get("rule", "simple_majority")
            if isinstance(rule, Mapping):
                fraction = rule.get("fraction")
                rule = MotionRule(
                    str(rule.get("kind")),
                    None if fraction is None else _exact("rule.fraction", fraction),
                )
            quorum = data.get("quorum")
            closed_at = canonical.instant(str(data["closed_at"]))
            return cls(
                base=str(data["base"]),
                item=str(data["item"]),
                content_hash=str(data["content_hash"]),
                method=str(data["method"]),
                ballots=tuple(
                    (dict(b["ballot"]), _exact("ballots.weight", b["weight"]))
                    for b in data["ballots"]
                ),
                eligible=_exact("eligible", data["eligible"]),
                closed_at=closed_at,
                quorum=None if quorum is None else _exact("quorum", quorum),
                rule=rule,
                result=result,
            )
        except (KeyError, TypeError, ValueError, AttributeError, ZeroDivisionError) as exc:
            raise MandateError(f"expected BaseVote data, missing or wrong: {exc}") from None


# -- the mandate ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mandate:
    """One delegation's mandate on one item version, with the votes it implies.

    ``status`` is ``"instructed"`` (the base decided), ``"no_instruction"`` (§3.2; ``reason``
    says why: ``not_voted``, ``no_quorum``, ``tie``, ``late``, ``other_version``) or
    ``"free"``. ``votes`` are the weighted ballots the mandate implies: bound votes the
    platform casts under ``system_casts``; guidance under ``instructed_with_discretion``;
    empty when the delegate decides or the delegation is ``not_counted``. ``binding`` says
    whether a different vote is a breach. ``flags`` mark what the record must show, such as
    ``discretion_without_instruction`` and ``carried_previous_position``.
    """

    item: str
    delegation: str
    content_hash: str
    mode: str
    status: str
    reason: str
    weight: Fraction
    votes: tuple[WeightedBallot, ...]
    binding: bool
    counted: bool
    explanation: str
    method: str = "motion"
    instructed_at: datetime | None = None
    flags: tuple[str, ...] = ()
    objections: tuple[str, ...] = ()
    rounding_loss: Mapping[str, Fraction] = field(default_factory=dict)
    draws: tuple[Draw, ...] = ()
    tally: Mapping[str, Fraction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rounding_loss", MappingProxyType(dict(self.rounding_loss)))
        object.__setattr__(self, "tally", MappingProxyType(dict(self.tally)))

    @property
    def base(self) -> str:
        """The council whose instruction this is (the lower end of the delegation)."""
        return _split_key(self.delegation)[0]

    @property
    def higher(self) -> str:
        """The council the delegation votes in."""
        return _split_key(self.delegation)[1]

    @property
    def instructed(self) -> bool:
        return self.status == "instructed"

    def share(self, choice: str) -> Fraction:
        """The weight this mandate gives to one motion or plurality choice."""
        return sum((w for b, w in self.votes if b.get("choice") == choice), Fraction(0))

    def to_canonical(self) -> dict[str, Any]:
        """The ``mandate`` data of a ``mandate.derived`` record entry."""
        return {
            "item": self.item,
            "delegation": self.delegation,
            "content_hash": self.content_hash,
            "method": self.method,
            "mode": self.mode,
            "status": self.status,
            "reason": self.reason,
            "weight": self.weight,
            "votes": [{"ballot": b, "weight": w} for b, w in self.votes],
            "binding": self.binding,
            "counted": self.counted,
            "instructed_at": self.instructed_at,
            "flags": list(self.flags),
            "objections": list(self.objections),
            "rounding_loss": dict(self.rounding_loss),
            "draws": [d.to_canonical() for d in self.draws],
            "tally": dict(self.tally),
            "explanation": self.explanation,
        }


def mandate_derived_data(
    mandate: Mandate, *, policy: MandatePolicy, window: VoteWindow | None = None
) -> dict[str, Any]:
    """The data of the ``mandate.derived`` record entry (RECORD-CONTRACT §3).

    Besides the contract's ``item``, ``delegation``, ``policy`` and ``mandate`` it carries the
    ``window`` the lateness of the instruction was judged against, so that a verifier can
    re-derive the mandate with :func:`derive_mandate` from the base's recorded ballots,
    :meth:`MandatePolicy.from_canonical` and :meth:`VoteWindow.from_canonical`.
    """
    return {
        "item": mandate.item,
        "delegation": mandate.delegation,
        "policy": policy.to_canonical(),
        "mandate": mandate.to_canonical(),
        "window": window.to_canonical() if window is not None else None,
    }


def assign_whole_votes(
    votes: Sequence[WeightedBallot], delegates: Sequence[tuple[str, Ballot | None]]
) -> tuple[tuple[str, Ballot], ...]:
    """Who casts which whole vote of a delegation (§3.6, whole-vote mode).

    ``votes`` are whole votes (from :func:`split_delegation`); ``delegates`` the seat holders
    in seat order, each with the ballot they cast in the base (or ``None``). Each whole vote
    goes to a delegate who voted that way in the base when there is one, so the minority
    share is cast by a delegate of the minority and gets a voice in the higher debate; the
    rest go to the remaining delegates in seat order.

    >>> assign_whole_votes([({"choice": "no"}, Fraction(1)), ({"choice": "yes"}, Fraction(1))],
    ...                    [("ana", {"choice": "yes"}), ("ben", {"choice": "no"})])
    (('ana', {'choice': 'yes'}), ('ben', {'choice': 'no'}))
    """
    units = [b for b, w in votes for _ in range(int(w))]
    if any(Fraction(w).denominator != 1 for _, w in votes) or len(units) != len(delegates):
        raise MandateError(
            f"expected {len(delegates)} whole votes for {len(delegates)} delegates, got "
            f"{_describe_votes(votes)}",
            field="votes",
        )
    free = list(delegates)
    chosen: dict[str, Ballot] = {}
    pending: list[Ballot] = []
    for ballot in units:
        match = next(
            (d for d in free if d[1] is not None and ballot_key(d[1]) == ballot_key(ballot)), None
        )
        if match is None:
            pending.append(ballot)
            continue
        free.remove(match)
        chosen[match[0]] = ballot
    for ballot, (who, _) in zip(pending, free, strict=True):
        chosen[who] = ballot
    return tuple((who, chosen[who]) for who, _ in delegates)


def proportional_split(
    ballots: Sequence[WeightedBallot], weight: Fraction | int, *, abstentions: str = "excluded"
) -> tuple[WeightedBallot, ...]:
    """Split ``weight`` exactly over the distinct ballots in proportion to their weights (§3.6).

    Blank ballots (abstentions, empty rankings) are left out of the denominator when
    abstentions are ``excluded``, or get their share when they count. When nothing but
    blanks remain, the whole weight goes to the first blank (the delegation abstains).
    The shares always sum exactly to ``weight``.

    >>> yes, no = ({"choice": "yes"}, Fraction(70)), ({"choice": "no"}, Fraction(40))
    >>> [str(w) for _, w in proportional_split([no, yes], 2)]
    ['8/11', '14/11']
    """
    w_total = _weight("weight", weight)
    carried = [
        (b, w) for b, w in ballots if w and (abstentions == "counts_against" or not _is_blank(b))
    ]
    denominator = sum((w for _, w in carried), Fraction(0))
    if not denominator:
        blanks = [b for b, w in ballots if w]
        return ((blanks[0], w_total),) if blanks and w_total else ()
    shares = ((b, w_total * w / denominator) for b, w in carried)
    return tuple((b, share) for b, share in shares if share)


def split_delegation(
    ballots: Sequence[WeightedBallot],
    seats: int,
    *,
    method: str,
    abstentions: str = "excluded",
    seed: str | None = None,
) -> tuple[tuple[WeightedBallot, ...], dict[str, Fraction], tuple[Draw, ...]]:
    """Whole votes per delegate: round the proportional split of ``seats`` by ``method``.

    Returns the whole votes, the rounding loss per ballot (exact share minus whole votes, kept
    in the tally record and displayed, §3.6) and the lots drawn for equal remainders.

    >>> votes, loss, _ = split_delegation(
    ...     [({"choice": "yes"}, Fraction(70)), ({"choice": "no"}, Fraction(40))], 2,
    ...     method="dhondt")
    >>> [(b["choice"], int(w)) for b, w in votes], {k: str(v) for k, v in loss.items()}
    ([('no', 1), ('yes', 1)], {'{"choice":"no"}': '-3/11', '{"choice":"yes"}': '3/11'})
    """
    exact = proportional_split(ballots, seats, abstentions=abstentions)
    if not exact:
        return (), {}, ()
    weights = {ballot_key(b): w for b, w in ballots}
    pops = {ballot_key(b): weights[ballot_key(b)] for b, _ in exact}
    # The apportionment needs whole populations: scale exact weights to a common denominator.
    scale = 1
    for w in pops.values():
        scale = scale * w.denominator // _gcd(scale, w.denominator)
    whole = apportion(seats, {k: int(w * scale) for k, w in pops.items()}, method=method, seed=seed)
    by_key = {ballot_key(b): b for b, _ in exact}
    votes = tuple((by_key[k], Fraction(s)) for k, s in sorted(whole.seats.items()) if s)
    loss = {
        ballot_key(b): w - whole.seats[ballot_key(b)]
        for b, w in sorted(exact, key=lambda bw: ballot_key(bw[0]))
    }
    return votes, loss, whole.draws


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _winner_ballot(vote: BaseVote) -> tuple[Ballot | None, str]:
    """The base's outcome as one ballot, or None with the reason it gives no instruction."""
    if vote.method == "motion":
        t = vote.tally()
        rule = vote.rule if isinstance(vote.rule, MotionRule) else MotionRule(vote.rule)
        eligible = Fraction(vote.eligible)
        result = count_motion(
            MotionBallots(
                yes=t.get("yes", Fraction(0)),
                no=t.get("no", Fraction(0)),
                abstain=t.get("abstain", Fraction(0)),
                eligible_weight=max(eligible, vote.participants),
            ),
            rule=rule,
            tie_rule="revote",
        )
        if result.outcome == "tie":
            return None, "tie"
        return {"choice": "yes" if result.outcome == "adopted" else "no"}, result.summary
    result_ = vote.result
    if result_ is None:
        raise MandateError(
            f"bound_majority on a {vote.method} item needs the base's count (result) to know "
            "its winner under the same method (§3.20)",
            field="result",
            code="missing_result",
        )
    if result_.outcome == "tie" or result_.tied or not result_.winners:
        return None, "tie"
    key = _KEY[vote.method]
    winners = list(result_.winners)
    if key == "choice":
        return {"choice": winners[0]}, result_.summary
    if key == "approve":
        return {"approve": sorted(winners)}, result_.summary
    if key == "ranking":
        ranking = result_.details.get("ranking")
        groups = [list(g) for g in ranking] if ranking else [[w] for w in winners]
        return {"ranking": groups}, result_.summary
    raise MandateError(
        f"bound_majority has no single winning ballot for {vote.method} items; use "
        "bound_proportional to pass the scores up",
        field="mandate.mode",
        code="incompatible",
    )


def _consent_votes(
    vote: BaseVote, weight: Fraction
) -> tuple[tuple[WeightedBallot, ...], tuple[str, ...], str]:
    """A base deciding by consent mandates its unresolved objections, or its consent (§3.21)."""
    reasons = sorted(
        {
            str(b.get("reason", ""))
            for b, _ in vote.ballots
            if b.get("stance") in ("object", "block")
            and (b.get("judgement") or {}).get("valid", True)
        }
    )
    if reasons:
        ballot = {"stance": "object", "reason": "; ".join(reasons)}
        words = f"objects for its base ({len(reasons)} mandated objection(s))"
    else:
        ballot = {"stance": "consent", "reason": ""}
        words = "consents for its base (no objection remains there)"
    return ((ballot, weight),), tuple(reasons), words


def derive_mandate(
    vote: BaseVote | None,
    *,
    delegation: str,
    content_hash: str,
    weight: Fraction | int,
    policy: MandatePolicy,
    item: str | None = None,
    method: str = "motion",
    window: VoteWindow | None = None,
    previous: Mandate | None = None,
    seats: int | None = None,
    seed: str | None = None,
) -> Mandate:
    """Derive one delegation's mandate on item version ``content_hash`` (module docstring).

    ``vote`` is the base's closed instruction vote, or ``None`` if it has not voted.
    ``weight`` is the delegation's W (:func:`delegation_weight`); ``seats`` the delegates
    who split it under ``whole_votes``. With ``window``, an instruction closed after the
    instruction deadline is late and applied only as ``late_instruction`` allows, and never
    once the higher vote has closed. ``previous`` is the base's last instruction on another
    item, used by ``carry_previous_position`` only when its content hash is the same.
    Ties: a tied base under ``bound_majority`` gives no instruction (§3.3); a 50/50 split
    under ``bound_proportional`` is just that split.

    >>> tie = BaseVote.motion("dock", item="i1", content_hash="h1", yes=20, no=20,
    ...                       eligible=50, closed_at=T0)
    >>> m = derive_mandate(tie, delegation="dock->region", content_hash="h1", weight=1,
    ...                    policy=MandatePolicy())
    >>> m.status, m.reason, [b["choice"] for b, _ in m.votes]
    ('no_instruction', 'tie', ['abstain'])
    """
    base, _ = _split_key(delegation)
    w = _weight("weight", weight)
    _choice("method", method, METHODS)
    item_id = item if item is not None else (vote.item if vote is not None else "")
    if vote is not None:
        if vote.base != base:
            raise MandateError(
                f"the vote is of base {vote.base!r} but the delegation is {delegation!r}",
                field="vote.base",
            )
        if _KEY[vote.method] != _KEY[method]:
            raise MandateError(
                f"the base voted with {vote.method} ballots on a {method} item; instructions "
                "must have the same ballot shape as the higher item (§3.20)",
                field="method",
                code="shape_mismatch",
            )
    common: dict[str, Any] = {
        "item": item_id,
        "delegation": delegation,
        "method": method,
        "content_hash": content_hash,
        "weight": w,
    }

    if policy.mode == "free":
        return Mandate(
            **common,
            mode="free",
            status="free",
            reason="free",
            votes=(),
            binding=False,
            counted=True,
            explanation=f"{base}'s delegate votes on {content_hash} by judgement (free mandate).",
        )

    def uninstructed(reason: str, why: str) -> Mandate:
        return _no_instruction(
            common,
            base=base,
            reason=reason,
            why=why,
            policy=policy,
            previous=previous,
            seats=seats,
            seed=seed,
        )

    if vote is None:
        return uninstructed("not_voted", f"{base} did not vote on {content_hash} by the deadline")
    if vote.content_hash != content_hash:
        return uninstructed(
            "other_version",
            f"{base} instructed on {vote.content_hash}, not on {content_hash}",
        )
    flags: list[str] = []
    if window is not None and vote.closed_at > window.instruction_deadline:
        applied, sentence = _late_applies(vote.closed_at, policy.late_instruction, window)
        if not applied:
            return uninstructed("late", f"{base}'s instruction came late: {sentence}")
        flags.append("late_instruction_applied")
    if not vote.quorum_met():
        needed = Fraction(vote.quorum or 0) * Fraction(vote.eligible)
        return uninstructed(
            "no_quorum",
            f"{base}'s instruction vote missed its quorum ({_n(vote.participants)} of "
            f"{_n(vote.eligible)} took part, {_n(needed)} needed), so it gives no instruction",
        )
    return _instructed(
        common,
        vote=vote,
        base=base,
        policy=policy,
        flags=flags,
        previous=previous,
        seats=seats,
        seed=seed,
    )


def _instructed(
    common: dict[str, Any],
    *,
    vote: BaseVote,
    base: str,
    policy: MandatePolicy,
    flags: list[str],
    previous: Mandate | None,
    seats: int | None,
    seed: str | None,
) -> Mandate:
    w: Fraction = common["weight"]
    binding = policy.is_bound
    extra: dict[str, Any] = {
        "instructed_at": vote.closed_at,
        "flags": tuple(flags),
        "tally": vote.tally() if vote.method in ("motion", "plurality") else {},
    }
    hash_ = common["content_hash"]
    if vote.method == "consent":
        votes, objections, words = _consent_votes(vote, w)
        return Mandate(
            **common,
            mode=policy.mode,
            status="instructed",
            reason="instructed",
            votes=votes,
            binding=binding,
            counted=True,
            objections=objections,
            explanation=f"{base}'s delegation {words} on {hash_}.",
            **extra,
        )
    if policy.mode == "bound_proportional":
        loss: dict[str, Fraction] = {}
        draws: tuple[Draw, ...] = ()
        if policy.weights == "whole_votes":
            whole = int(seats if seats is not None else w)
            if Fraction(whole) != w:
                raise MandateError(
                    f"whole_votes splits whole delegate votes, but the weight is {_n(w)}",
                    field="mandate.weights",
                    code="incompatible",
                )
            assert policy.apportionment_method is not None  # checked by MandatePolicy
            votes, loss, draws = split_delegation(
                vote.ballots,
                whole,
                method=policy.apportionment_method,
                abstentions=policy.abstentions,
                seed=seed,
            )
        else:
            votes = proportional_split(vote.ballots, w, abstentions=policy.abstentions)
        blank = BLANK_BALLOTS[vote.method]
        if not votes and w and blank is not None:
            votes = ((dict(blank), w),)  # nobody voted at all: the delegation abstains
        treatment = (
            "abstentions excluded" if policy.abstentions == "excluded" else "abstentions carried"
        )
        explanation = (
            f"{base} carries {_n(w)} for {hash_} split as its base voted ({vote.describe()}; "
            f"{treatment}): {_describe_votes(votes)}."
        )
        if loss and any(loss.values()):
            explanation += " Rounded to whole votes; the rounding loss is recorded."
        return Mandate(
            **common,
            mode=policy.mode,
            status="instructed",
            reason="instructed",
            votes=votes,
            binding=True,
            counted=True,
            explanation=explanation,
            rounding_loss=loss,
            draws=draws,
            **extra,
        )
    winner, why = _winner_ballot(vote)
    if winner is None:
        return _no_instruction(
            common,
            base=base,
            reason="tie",
            why=f"{base}'s instruction vote is tied ({vote.describe()}): there is no majority, "
            "so no instruction (a tie is never a no)",
            policy=policy,
            previous=previous,
            seats=seats,
            seed=seed,
        )
    verb = "casts" if binding else "is guided to cast"
    return Mandate(
        **common,
        mode=policy.mode,
        status="instructed",
        reason="instructed",
        votes=((winner, w),),
        binding=binding,
        counted=True,
        explanation=(
            f"{base}'s delegation {verb} {_n(w)} for {_describe_ballot(winner)} on {hash_} ({why})."
        ),
        **extra,
    )


def _no_instruction(
    common: dict[str, Any],
    *,
    base: str,
    reason: str,
    why: str,
    policy: MandatePolicy,
    previous: Mandate | None,
    seats: int | None,
    seed: str | None,
) -> Mandate:
    """Apply ``no_instruction_behavior`` (§3.2): abstain, discretion, not counted, or carry."""
    w: Fraction = common["weight"]
    behavior = policy.no_instruction_behavior
    method: str = common["method"]
    flags: list[str] = []
    if behavior == "carry_previous_position":
        if (
            previous is not None
            and previous.instructed
            and previous.content_hash == common["content_hash"]
            and previous.votes
        ):
            total = previous.weight
            votes = tuple((b, wt * w / total) for b, wt in previous.votes) if total else ()
            return Mandate(
                **common,
                mode=policy.mode,
                status="instructed",
                reason="carried",
                votes=votes,
                binding=policy.is_bound,
                counted=True,
                instructed_at=previous.instructed_at,
                flags=("carried_previous_position",),
                explanation=(
                    f"{why}; it carries its previous position on the identical text "
                    f"{common['content_hash']}: {_describe_votes(votes)}."
                ),
            )
        flags.append("no_previous_position_on_identical_text")
        behavior = "abstain"
    if behavior == "discretion":
        return Mandate(
            **common,
            mode="instructed_with_discretion",
            status="no_instruction",
            reason=reason,
            votes=(),
            binding=False,
            counted=True,
            flags=(*flags, "discretion_without_instruction"),
            explanation=f"{why}; the delegate votes with discretion, flagged for the base.",
        )
    if behavior == "not_counted":
        return Mandate(
            **common,
            mode=policy.mode,
            status="no_instruction",
            reason=reason,
            votes=(),
            binding=policy.is_bound,
            counted=False,
            flags=tuple(flags),
            explanation=f"{why}; its {_n(w)} is not counted on this item.",
        )
    blank = BLANK_BALLOTS[method]
    votes = ((dict(blank), w),) if blank is not None and w else ()
    abstains = "abstains" if blank is not None else "states no stance"
    return Mandate(
        **common,
        mode=policy.mode,
        status="no_instruction",
        reason=reason,
        votes=votes,
        binding=policy.is_bound,
        counted=True,
        flags=tuple(flags),
        explanation=f"{why}; the delegation {abstains} with its {_n(w)} (0 yes, 0 no).",
    )


def _describe_ballot(ballot: Ballot) -> str:
    if "choice" in ballot:
        return str(ballot["choice"])
    if "ranking" in ballot:
        return " > ".join("=".join(g) for g in ballot["ranking"]) or "nobody"
    if "approve" in ballot:
        return "{" + ", ".join(ballot["approve"]) + "}"
    if "stance" in ballot:
        return str(ballot["stance"])
    return ballot_key(ballot)


def _describe_votes(votes: Sequence[WeightedBallot]) -> str:
    return ", ".join(f"{_describe_ballot(b)} {_n(w)}" for b, w in votes) or "nothing"


def _late_applies(at: datetime, late: str, window: VoteWindow) -> tuple[bool, str]:
    """Whether an instruction decided at ``at``, after the deadline, may still apply."""
    if at >= window.closes_at:
        return False, "the higher vote had closed, so it is not applied"
    if late == "ignore":
        return False, "late instructions are ignored (mandate.late_instruction ignore)"
    if late == "accept_until_vote_opens" and at > window.opens_at:
        return (
            False,
            "the higher vote had opened (mandate.late_instruction accept_until_vote_opens)",
        )
    return True, f"accepted under mandate.late_instruction {late}"


# -- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DelegationVoted:
    """A delegation's vote at the higher council: the ``delegation.voted`` record entry."""

    item: str
    delegation: str
    ballot: Ballot
    weight: Fraction
    cast_by: str  # "system" or the delegate's member id
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "delegation": self.delegation,
            "ballot": self.ballot,
            "weight": self.weight,
            "cast_by": self.cast_by,
            "explanation": self.explanation,
        }

    def record_data(self) -> dict[str, Any]:
        """The data of the ``delegation.voted`` record entry (RECORD-CONTRACT §3)."""
        return {
            "item": self.item,
            "delegation": self.delegation,
            "ballot": self.ballot,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class MandateBreached:
    """A delegate cast something other than the binding mandate; the recall rules act on it
    (``recall.triggers`` ``mandate_breach``, ``recall.mandate_breach_action``)."""

    item: str
    delegation: str
    delegate: str
    mandated: tuple[WeightedBallot, ...]
    cast: tuple[WeightedBallot, ...]
    action: str
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "delegation": self.delegation,
            "delegate": self.delegate,
            "mandated": _weighted_data(self.mandated),
            "cast": _weighted_data(self.cast),
            "action": self.action,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class DiscretionUsed(_Plain):
    """A delegate with discretion voted otherwise than the base's guidance (not a breach; the
    base reviews it and may recall)."""

    item: str
    delegation: str
    delegate: str
    explanation: str


def _weighted_data(votes: Sequence[WeightedBallot]) -> list[dict[str, Any]]:
    return [{"ballot": b, "weight": w} for b, w in votes]


@dataclass(frozen=True, slots=True)
class MandateDeparted:
    """Under ``delegate_casts_unchecked`` a delegate voted otherwise than a binding mandate:
    the vote counts as cast (the platform does not check it) and the departure is on the
    record beside it, for the base's report-back; not a breach, so no recall opens by
    itself (the base may still recall)."""

    item: str
    delegation: str
    delegate: str
    mandated: tuple[WeightedBallot, ...]
    cast: tuple[WeightedBallot, ...]
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "delegation": self.delegation,
            "delegate": self.delegate,
            "mandated": _weighted_data(self.mandated),
            "cast": _weighted_data(self.cast),
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class LateInstructionApplied(_Plain):
    """A late or changed instruction replaced the mandate; the delegation's vote is recast."""

    item: str
    delegation: str
    at: datetime
    recast: bool
    explanation: str


@dataclass(frozen=True, slots=True)
class LateInstructionNotApplied(_Plain):
    """A late or changed instruction was recorded but not applied (§3.15)."""

    item: str
    delegation: str
    at: datetime
    explanation: str


@dataclass(frozen=True, slots=True)
class BallotRejected(_Plain):
    """A delegate's ballot was refused: cast outside their tenure (recalled) or after close."""

    item: str
    delegation: str
    delegate: str
    at: datetime
    explanation: str


@dataclass(frozen=True, slots=True)
class PostponementRequested(_Plain):
    """The delegation asks to postpone a vote on a version its mandate does not cover."""

    item: str
    delegation: str
    voted_hash: str
    instructed_hash: str | None
    explanation: str


@dataclass(frozen=True, slots=True)
class ReferredBack(_Plain):
    """The delegation refers a version outside its mandate back to its base for instruction."""

    item: str
    delegation: str
    voted_hash: str
    explanation: str


@dataclass(frozen=True, slots=True)
class InstructionConflictFlagged(_Plain):
    """An instruction conflicts with the statutes or a higher decision (§3.11).

    A vote is cast as instructed (an instruction is a vote, not an act), but an invalid option
    can never win; an instruction to *act* against statutes is flagged to the base and not
    executed (``executed`` is then False).
    """

    item: str
    delegation: str
    option: str
    conflict: str
    executed: bool
    explanation: str


# -- revising, casting and checking ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MandateRevision(_Plain):
    """The mandate in force after a late or changed instruction, and what was recorded."""

    mandate: Mandate
    events: tuple[LateInstructionApplied | LateInstructionNotApplied, ...]
    recast: tuple[DelegationVoted, ...] = ()


def revise_mandate(
    current: Mandate,
    vote: BaseVote,
    *,
    policy: MandatePolicy,
    window: VoteWindow,
    voted: bool = False,
    seats: int | None = None,
    seed: str | None = None,
) -> MandateRevision:
    """Apply a base's late or changed instruction (§3.2, §3.15).

    ``voted`` says the delegation's vote was already cast. If ``late_instruction`` allows the
    instruction at ``vote.closed_at`` (never once the higher vote has closed), the new mandate
    replaces the old one and, under ``system_casts``, its votes are recast: both ballots stay
    in the record and the last one before close counts. Otherwise the change is recorded as a
    :class:`LateInstructionNotApplied` and the current mandate stays.
    """
    at = vote.closed_at
    late = at > window.instruction_deadline
    applied, sentence = (
        _late_applies(at, policy.late_instruction, window) if late else (True, "on time")
    )
    if not applied:
        event = LateInstructionNotApplied(
            current.item,
            current.delegation,
            at,
            f"{current.base}'s new instruction of {at.isoformat()} was recorded but not "
            f"applied: {sentence}.",
        )
        return MandateRevision(current, (event,))
    new = derive_mandate(
        vote,
        delegation=current.delegation,
        content_hash=current.content_hash,
        weight=current.weight,
        policy=policy,
        item=current.item,
        method=current.method,
        seats=seats,
        seed=seed,
    )
    if late:
        new = _with_flag(new, "late_instruction_applied")
    recast = cast_votes(new, policy=policy) if voted else ()
    event_ok = LateInstructionApplied(
        current.item,
        current.delegation,
        at,
        bool(recast),
        f"{current.base}'s instruction of {at.isoformat()} applies ({sentence})"
        + (
            "; the delegation's vote is recast and the last one before close counts."
            if recast
            else "."
        ),
    )
    return MandateRevision(new, (event_ok,), recast)


def _with_flag(m: Mandate, flag: str) -> Mandate:
    if flag in m.flags:
        return m
    return Mandate(
        item=m.item,
        delegation=m.delegation,
        content_hash=m.content_hash,
        mode=m.mode,
        status=m.status,
        reason=m.reason,
        weight=m.weight,
        votes=m.votes,
        binding=m.binding,
        counted=m.counted,
        explanation=m.explanation,
        method=m.method,
        instructed_at=m.instructed_at,
        flags=(*m.flags, flag),
        objections=m.objections,
        rounding_loss=m.rounding_loss,
        draws=m.draws,
        tally=m.tally,
    )


def cast_votes(mandate: Mandate, *, policy: MandatePolicy) -> tuple[DelegationVoted, ...]:
    """The votes the platform casts for a bound mandate under ``system_casts``.

    Nothing is cast for free or discretionary mandates, for ``not_counted`` delegations, or
    when the delegate casts (``delegate_casts_*``). The votes depend only on the base's
    tally, never on who holds the seat, so a recall does not change them (§3.1), and a vacant
    seat does not silence the base (§3.7).

    >>> vote = BaseVote.motion("mill", item="i1", content_hash="h1", yes=3, no=1,
    ...                        eligible=5, closed_at=T0)
    >>> m = derive_mandate(vote, delegation="mill->north", content_hash="h1", weight=1,
    ...                    policy=MandatePolicy())
    >>> [(v.ballot, v.weight) for v in cast_votes(m, policy=MandatePolicy())]
    [({'choice': 'yes'}, Fraction(1, 1))]
    """
    if not mandate.binding or not mandate.counted or policy.enforcement != "system_casts":
        return ()
    return tuple(
        DelegationVoted(
            mandate.item,
            mandate.delegation,
            ballot,
            weight,
            "system",
            f"the platform casts {_n(weight)} for {_describe_ballot(ballot)} from "
            f"{mandate.base}'s mandate.",
        )
        for ballot, weight in mandate.votes
    )


def _same_votes(a: Sequence[WeightedBallot], b: Sequence[WeightedBallot]) -> bool:
    return group_ballots(a) == group_ballots(b)


def check_delegate_vote(
    mandate: Mandate,
    cast: Sequence[tuple[Ballot, Fraction | int]],
    *,
    delegate: str,
    policy: MandatePolicy,
) -> MandateBreached | MandateDeparted | DiscretionUsed | None:
    """Check what a delegate cast against the mandate (``delegate_casts_checked``, or
    ``delegate_casts_unchecked``).

    A binding mandate is breached when the delegation's votes differ from the mandated ones
    (as weighted ballots, in any order); a bound delegate at a consent round breaches it by
    raising an objection the base did not mandate, or consenting over one it did, under
    ``only_base_mandated_objections`` (§3.21). Returns the :class:`MandateBreached` event
    (with ``recall.mandate_breach_action``), a :class:`DiscretionUsed` note when a delegate
    with discretion departs from the guidance, or ``None``. Free mandates are never checked.
    Under ``delegate_casts_unchecked`` the platform does not hold the delegate to the
    mandate: what would be a breach is a :class:`MandateDeparted` note, and the vote counts.
    """
    event = _check_delegate_vote(mandate, cast, delegate=delegate, policy=policy)
    if isinstance(event, MandateBreached) and policy.enforcement == "delegate_casts_unchecked":
        return MandateDeparted(
            event.item,
            event.delegation,
            delegate,
            event.mandated,
            event.cast,
            f"{delegate} cast {_describe_votes(event.cast)} where {mandate.base}'s mandate is "
            f"{_describe_votes(event.mandated)}; under delegate_casts_unchecked the vote counts "
            "as cast and the base reviews it.",
        )
    return event


def _check_delegate_vote(
    mandate: Mandate,
    cast: Sequence[tuple[Ballot, Fraction | int]],
    *,
    delegate: str,
    policy: MandatePolicy,
) -> MandateBreached | DiscretionUsed | None:
    got = group_ballots(cast)
    if not mandate.votes and not mandate.binding:
        return None
    if mandate.method == "consent" and mandate.binding:
        return _check_stance(mandate, got, delegate=delegate, policy=policy)
    if _same_votes(got, mandate.votes):
        return None
    if not mandate.binding or not mandate.counted:
        if not mandate.binding and mandate.votes:
            return DiscretionUsed(
                mandate.item,
                mandate.delegation,
                delegate,
                f"{delegate} cast {_describe_votes(got)} where {mandate.base}'s guidance was "
                f"{_describe_votes(mandate.votes)}; the base reviews it.",
            )
        return None
    return MandateBreached(
        mandate.item,
        mandate.delegation,
        delegate,
        mandate.votes,
        got,
        policy.breach_action,
        f"{delegate} cast {_describe_votes(got)} but {mandate.base}'s mandate is "
        f"{_describe_votes(mandate.votes)}: mandate breached ({policy.breach_action}).",
    )


def _check_stance(
    mandate: Mandate,
    got: Sequence[WeightedBallot],
    *,
    delegate: str,
    policy: MandatePolicy,
) -> MandateBreached | None:
    stances = [b for b, _ in got]
    problem = ""
    if policy.objection_mode == "only_base_mandated_objections":
        mandated = set(mandate.objections)
        for ballot in stances:
            stance = ballot.get("stance")
            reason = str(ballot.get("reason", ""))
            if stance in ("object", "block") and not (
                mandated and (reason in mandated or reason == "; ".join(mandate.objections))
            ):
                problem = f"raised an objection its base did not mandate ({reason!r})"
            elif stance in ("consent", "consent_with_concern") and mandated:
                problem = "consented although its base mandated objections"
    if not problem:
        return None
    return MandateBreached(
        mandate.item,
        mandate.delegation,
        delegate,
        mandate.votes,
        tuple(got),
        policy.breach_action,
        f"{delegate} {problem}: mandate breached ({policy.breach_action}).",
    )


@dataclass(frozen=True, slots=True)
class Tenure(_Plain):
    """One delegate's office-holding interval ``[start, end)``; ``end`` is the certified recall
    or vacancy instant, never backdated (§3.1)."""

    delegate: str
    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _aware("start", self.start))
        if self.end is not None:
            object.__setattr__(self, "end", _aware("end", self.end))

    def holds(self, at: datetime) -> bool:
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True)
class DelegateBallot(_Plain):
    """What a delegate cast for the delegation at ``cast_at`` (server receipt time)."""

    delegate: str
    cast_at: datetime
    votes: tuple[WeightedBallot, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "cast_at", _aware("cast_at", self.cast_at))
        object.__setattr__(self, "votes", group_ballots(self.votes))


@dataclass(frozen=True, slots=True)
class Settlement(_Plain):
    """The delegation's votes that count at close, and everything recorded on the way."""

    votes: tuple[WeightedBallot, ...]
    cast_by: str
    events: tuple[MandateBreached | MandateDeparted | DiscretionUsed | BallotRejected, ...]
    explanation: str


def settle_delegation_vote(
    mandate: Mandate,
    *,
    policy: MandatePolicy,
    ballots: Sequence[DelegateBallot] = (),
    tenures: Sequence[Tenure] = (),
    closes_at: datetime,
) -> Settlement:
    """Which votes of a delegation count when the higher vote closes (§3.1, §3.15).

    Under ``system_casts`` for a binding mandate the votes are the mandate's, whoever holds
    the seat: a recall changes nothing. Otherwise each delegate ballot is checked against the
    office-holding intervals *when it was cast*: ballots cast before a recall stand, ballots
    the recalled person casts afterwards (or anyone after close) are rejected and logged, and
    the last valid ballot counts (a successor may change the delegation's ballot before close).
    The counted ballot is checked against the mandate (``check_delegate_vote``).
    """
    close = _aware("closes_at", closes_at)
    if mandate.binding and policy.enforcement == "system_casts":
        votes = mandate.votes if mandate.counted else ()
        return Settlement(
            votes,
            "system",
            (),
            f"{mandate.delegation} votes from its base's mandate: {_describe_votes(votes)}.",
        )
    events: list[MandateBreached | MandateDeparted | DiscretionUsed | BallotRejected] = []
    valid: list[DelegateBallot] = []
    for ballot in sorted(ballots, key=lambda b: (b.cast_at, b.delegate)):
        if ballot.cast_at >= close:
            events.append(
                BallotRejected(
                    mandate.item,
                    mandate.delegation,
                    ballot.delegate,
                    ballot.cast_at,
                    f"{ballot.delegate}'s ballot at {ballot.cast_at.isoformat()} came after the "
                    "vote closed and is rejected.",
                )
            )
        elif not any(t.delegate == ballot.delegate and t.holds(ballot.cast_at) for t in tenures):
            events.append(
                BallotRejected(
                    mandate.item,
                    mandate.delegation,
                    ballot.delegate,
                    ballot.cast_at,
                    f"{ballot.delegate} did not hold the seat at {ballot.cast_at.isoformat()} "
                    "(recalled or not yet seated); the ballot is rejected and logged.",
                )
            )
        else:
            valid.append(ballot)
    if not valid:
        return Settlement((), "", tuple(events), f"{mandate.delegation} cast no valid ballot.")
    last = valid[-1]
    # A departure is named, checked or not: a breach, or under delegate_casts_unchecked a
    # departure (system_casts with a binding mandate returned above).
    checked = check_delegate_vote(mandate, last.votes, delegate=last.delegate, policy=policy)
    if checked is not None:
        events.append(checked)
    return Settlement(
        last.votes,
        last.delegate,
        tuple(events),
        f"{mandate.delegation}'s last valid ballot, cast by {last.delegate} at "
        f"{last.cast_at.isoformat()}, counts: {_describe_votes(last.votes)}.",
    )


# -- out of mandate, conflicts --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutOfMandate(_Plain):
    """What a delegation does on a version its mandate does not cover (§3.10, §3.21).

    ``events`` are its requests (postponement, referral back); ``votes`` what it casts if the
    vote goes ahead anyway: an abstention by default, nothing under discretion (the delegate
    decides, flagged).
    """

    delegation: str
    voted_hash: str
    step: str
    events: tuple[PostponementRequested | ReferredBack, ...]
    votes: tuple[WeightedBallot, ...]
    discretion: bool
    explanation: str


def out_of_mandate(
    mandate: Mandate, *, voted_hash: str, policy: MandatePolicy, postponed: bool = False
) -> OutOfMandate | None:
    """Apply ``mandate.out_of_mandate_amendment`` when the higher council votes on a version
    (``voted_hash``) the mandate does not cover; ``None`` when it covers it.

    The steps are tried in order: ``request_postponement`` and ``refer_back`` ask for time
    for the base to instruct on the new version (in consent, the delegate asks to consult its
    base rather than consent beyond the mandate, §3.21). If the vote is not postponed the
    next step applies: ``abstain`` (the default fallback) or ``discretion``. Amendments the
    base pre-instructed on are covered by their own mandate (same content hash).

    >>> m = derive_mandate(None, delegation="dock->region", content_hash="v1", weight=1,
    ...                    policy=MandatePolicy(), item="i1")
    >>> action = out_of_mandate(m, voted_hash="v2", policy=MandatePolicy())
    >>> action.step, [type(e).__name__ for e in action.events], action.votes[0][0]
    ('abstain', ['PostponementRequested'], {'choice': 'abstain'})
    """
    if voted_hash == mandate.content_hash or mandate.mode == "free":
        return None
    events: list[PostponementRequested | ReferredBack] = []
    base = mandate.base
    instructed = mandate.content_hash if mandate.instructed else None
    for step in policy.out_of_mandate_amendment:
        if step == "request_postponement":
            events.append(
                PostponementRequested(
                    mandate.item,
                    mandate.delegation,
                    voted_hash,
                    instructed,
                    f"{mandate.delegation} asks to postpone the vote on {voted_hash} so that "
                    f"{base} can instruct on it (its mandate covers {mandate.content_hash}).",
                )
            )
            if postponed:
                break
            continue
        if step == "refer_back":
            events.append(
                ReferredBack(
                    mandate.item,
                    mandate.delegation,
                    voted_hash,
                    f"{mandate.delegation} refers {voted_hash} back to {base} for an instruction.",
                )
            )
            if postponed:
                break
            continue
        return _fallback(mandate, step, voted_hash, tuple(events))
    if postponed:
        return OutOfMandate(
            mandate.delegation,
            voted_hash,
            events[-1].__class__.__name__,
            tuple(events),
            (),
            False,
            f"the vote on {voted_hash} is postponed for {base} to instruct.",
        )
    return _fallback(mandate, "abstain", voted_hash, tuple(events))


def mandate_on_text(
    mandates: Sequence[Mandate], *, voted_hash: str, policy: MandatePolicy
) -> Mandate:
    """The mandate that governs a delegation's vote on version ``voted_hash`` (§3.10).

    ``mandates`` are the delegation's mandates on one item: first on the text sent, then on
    each amendment the higher council listed in advance, each on its own text (content
    hash). The first that covers the version governs (its own text, or a free mandate); when
    none does, the first (on the text sent) does, and the vote is outside it
    (:func:`out_of_mandate`). A mandate without instruction on a listed amendment covers it
    all the same: the delegation then follows its ``no_instruction_behavior`` there (§3.2).

    >>> p = MandatePolicy()
    >>> yes = BaseVote.motion("dock", item="i1", content_hash="v1", yes=3, no=1,
    ...                       eligible=5, closed_at=T0)
    >>> no_a = BaseVote.motion("dock", item="i2", content_hash="a", yes=1, no=3,
    ...                        eligible=5, closed_at=T0)
    >>> sent = derive_mandate(yes, delegation="dock->region", content_hash="v1", weight=1,
    ...                       policy=p, item="top")
    >>> on_a = derive_mandate(no_a, delegation="dock->region", content_hash="a", weight=1,
    ...                       policy=p, item="top")
    >>> mandate_on_text([sent, on_a], voted_hash="a", policy=p).votes[0][0]
    {'choice': 'no'}
    >>> mandate_on_text([sent, on_a], voted_hash="b", policy=p) is sent
    True
    """
    if not mandates:
        raise MandateError("expected the delegation's mandates, got none", field="mandates")
    first = mandates[0]
    for mandate in mandates:
        if mandate.delegation != first.delegation or mandate.item != first.item:
            raise MandateError(
                f"the mandates of {first.delegation} on {first.item!r} include one of "
                f"{mandate.delegation} on {mandate.item!r}",
                field="mandates",
            )
    for mandate in mandates:
        if out_of_mandate(mandate, voted_hash=voted_hash, policy=policy) is None:
            return mandate
    return first


def _fallback(
    mandate: Mandate,
    step: str,
    voted_hash: str,
    events: tuple[PostponementRequested | ReferredBack, ...],
) -> OutOfMandate:
    if step == "discretion":
        return OutOfMandate(
            mandate.delegation,
            voted_hash,
            step,
            events,
            (),
            True,
            f"{voted_hash} is outside {mandate.base}'s mandate; the delegate decides with "
            "discretion, flagged for the base.",
        )
    blank = BLANK_BALLOTS[mandate.method]
    votes = ((dict(blank), mandate.weight),) if blank is not None and mandate.weight else ()
    return OutOfMandate(
        mandate.delegation,
        voted_hash,
        "abstain",
        events,
        votes,
        False,
        f"{voted_hash} is outside {mandate.base}'s mandate (it covers {mandate.content_hash}); "
        "the vote was not postponed, so the delegation abstains.",
    )


def postponement_granted(
    requesting_represented: int | Fraction,
    total_represented: int | Fraction,
    *,
    threshold: Fraction = Fraction(1, 5),
) -> bool:
    """Whether requests from delegations representing at least ``threshold`` of the members
    postpone the vote automatically (``mandate.postponement_threshold``, §3.10).

    >>> postponement_granted(200, 1000), postponement_granted(199, 1000)
    (True, False)
    """
    total = _weight("total_represented", total_represented)
    asked = _weight("requesting_represented", requesting_represented)
    return bool(total) and asked >= Fraction(threshold) * total


@dataclass(frozen=True, slots=True)
class OutOfMandateVote(_Plain):
    """A higher council's vote on a version (``voted_hash``) that some delegations' mandates
    do not cover, settled for all of them at once (§3.10).

    ``actions`` holds one :class:`OutOfMandate` per delegation whose mandate does not cover
    the version (in the order given); ``requesting`` is what the delegations asking to
    postpone represent, of ``total`` (every delegation voting, covered or not). When
    ``postponed`` the vote does not take place now and nobody casts anything.
    """

    item: str
    voted_hash: str
    postponed: bool
    requesting: Fraction
    total: Fraction
    threshold: Fraction
    actions: tuple[OutOfMandate, ...]
    explanation: str

    def votes(self) -> tuple[tuple[str, tuple[WeightedBallot, ...]], ...]:
        """What each delegation casts when the vote goes ahead (nothing when postponed)."""
        if self.postponed:
            return ()
        return tuple((a.delegation, a.votes) for a in self.actions if a.votes)


def settle_out_of_mandate(
    delegations: Sequence[tuple[Mandate, MandatePolicy, Fraction | int]],
    *,
    item: str,
    voted_hash: str,
    threshold: Fraction | int = Fraction(1, 5),
) -> OutOfMandateVote:
    """Apply §3.10 to every delegation voting on ``voted_hash`` at the higher council.

    ``delegations`` are (mandate, its policy, the members it represents). Each delegation
    whose mandate does not cover the version follows its ``out_of_mandate_amendment`` steps
    (:func:`out_of_mandate`). Those whose steps ask for postponement (or referral back)
    request it; the vote is postponed when they represent at least ``threshold`` of the
    members of all the delegations (:func:`postponement_granted`). Otherwise each falls back
    to its next step: abstain (cast with its whole weight) or discretion (flagged).

    >>> p = MandatePolicy()
    >>> a = derive_mandate(None, delegation="a->r", content_hash="v1", weight=1, policy=p,
    ...                    item="i1")
    >>> b = derive_mandate(None, delegation="b->r", content_hash="v1", weight=1, policy=p,
    ...                    item="i1")
    >>> settle_out_of_mandate([(a, p, 10), (b, p, 90)], item="i2", voted_hash="v2").postponed
    True
    >>> free = MandatePolicy(out_of_mandate_amendment=("abstain",))
    >>> settled = settle_out_of_mandate([(a, p, 10), (b, free, 90)], item="i2", voted_hash="v2")
    >>> settled.postponed, [(d, v[0][0]["choice"]) for d, v in settled.votes()]
    (False, [('a->r', 'abstain'), ('b->r', 'abstain')])
    """
    limit = _weight("threshold", threshold)
    first: list[tuple[Mandate, MandatePolicy, OutOfMandate]] = []
    total = Fraction(0)
    requesting = Fraction(0)
    seen: set[str] = set()
    for mandate, policy, represented in delegations:
        if mandate.delegation in seen:
            raise MandateError(
                f"{mandate.delegation} is listed twice", field="delegations", code="duplicate"
            )
        seen.add(mandate.delegation)
        members = _weight(f"represented members of {mandate.delegation}", represented)
        total += members
        action = out_of_mandate(mandate, voted_hash=voted_hash, policy=policy)
        if action is None:
            continue
        first.append((mandate, policy, action))
        if action.events:
            requesting += members
    postponed = bool(requesting) and postponement_granted(requesting, total, threshold=limit)
    if postponed:
        actions = tuple(
            out_of_mandate(m, voted_hash=voted_hash, policy=p, postponed=True) or a
            for m, p, a in first
        )
        explanation = (
            f"delegations representing {_n(requesting)} of {_n(total)} members asked to "
            f"postpone the vote on {voted_hash} (at least {_n(limit)} needed): it is "
            "postponed so that their bases can instruct on it."
        )
    else:
        actions = tuple(a for _, _, a in first)
        asked = (
            f"delegations representing {_n(requesting)} of {_n(total)} members asked to "
            f"postpone it (at least {_n(limit)} needed), so the vote goes ahead"
            if requesting
            else "no delegation asked to postpone it"
        )
        explanation = (
            f"{len(actions)} delegation{'s' if len(actions) != 1 else ''} vote on {voted_hash} "
            f"outside their mandates; {asked}: each follows its next step."
        )
    return OutOfMandateVote(
        item, voted_hash, postponed, requesting, total, limit, actions, explanation
    )


def check_out_of_mandate_vote(
    mandate: Mandate,
    action: OutOfMandate,
    cast: Sequence[tuple[Ballot, Fraction | int]],
    *,
    item: str,
    delegate: str,
    policy: MandatePolicy,
) -> MandateBreached | DiscretionUsed | None:
    """Check what a delegate cast on a version outside the mandate (``delegate_casts_checked``).

    With discretion (the policy's step, or a mandate that is not binding) the vote stands
    and is flagged for the base (:class:`DiscretionUsed`). A bound delegation must cast what
    its step says (an abstention with its whole weight); anything else is a
    :class:`MandateBreached` with ``recall.mandate_breach_action``.
    """
    got = group_ballots(cast)
    if _same_votes(got, action.votes):
        return None
    if action.discretion or not mandate.binding:
        return DiscretionUsed(
            item,
            mandate.delegation,
            delegate,
            f"{delegate} cast {_describe_votes(got)} on {action.voted_hash}, a version outside "
            f"{mandate.base}'s mandate; flagged for the base to review.",
        )
    return MandateBreached(
        item,
        mandate.delegation,
        delegate,
        action.votes,
        got,
        policy.breach_action,
        f"{delegate} cast {_describe_votes(got)} on {action.voted_hash}, outside "
        f"{mandate.base}'s mandate (it covers {mandate.content_hash}), where the delegation "
        f"must cast {_describe_votes(action.votes)}: mandate breached ({policy.breach_action}).",
    )


def flag_instruction_conflicts(
    mandate: Mandate, invalid: Mapping[str, str], *, acts: Iterable[str] = ()
) -> tuple[InstructionConflictFlagged, ...]:
    """Flag instructions that conflict with the statutes or a higher decision (§3.11).

    ``invalid`` maps each option ruled invalid before the tally to the conflict (the statute or
    decision). The vote is still cast as instructed: the tally, not the mandate, makes sure an
    invalid option never wins. ``acts`` are options that are instructions to *act*: those are
    flagged to the base and not executed.
    """
    acting = set(acts)
    events = []
    for ballot, _ in mandate.votes:
        named = _options_of(ballot)
        for option in sorted(named & set(invalid)):
            executed = option not in acting
            what = (
                "the vote is cast as instructed, but the option cannot win"
                if executed
                else "it is an instruction to act, so it is flagged to the base and not executed"
            )
            events.append(
                InstructionConflictFlagged(
                    mandate.item,
                    mandate.delegation,
                    option,
                    invalid[option],
                    executed,
                    f"{mandate.base}'s instruction for {option} conflicts with "
                    f"{invalid[option]}: {what}.",
                )
            )
    return tuple(events)


def _options_of(ballot: Ballot) -> set[str]:
    if "choice" in ballot and ballot["choice"] is not None:
        return {str(ballot["choice"])}
    if "ranking" in ballot:
        return {str(c) for g in ballot["ranking"] for c in g}
    if "approve" in ballot:
        return {str(c) for c in ballot["approve"]}
    for key in ("scores", "dots"):
        if key in ballot:
            return {str(c) for c, v in ballot[key].items() if v}
    return set()
