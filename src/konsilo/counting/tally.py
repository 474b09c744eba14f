"""From recorded ballots to a result: one function for the web layer and for the verifier.

``count_ballots(method, rule, ballots)`` takes the canonical ballots of one vote exactly as
the record holds them (each with its exact weight from the frozen census), checks every
ballot's shape for the method, adds identical ballots together, and calls the method's count.
The ``rule`` mapping carries everything the count needs (the decision rule, quorum and
electorate from the frozen census, abstention treatment, tie rule, options, seats, seed), so a
verifier recounts from the record alone and compares ``Result.to_json()`` bytes.

Ballot shapes (record contract §3), one mapping per ballot with exactly these keys:

* ``motion``: ``{"choice": "yes" | "no" | "abstain"}``
* ``consent``: ``{"stance": ..., "reason": "..."}``, optionally ``"member"`` (open rounds
  name the member) and ``"judgement": {"valid", "judged_by", "reason"}``
* ``plurality``: ``{"choice": option}`` (``null`` for a blank ballot)
* ``approval`` and ``budget``: ``{"approve": [option, ...]}``
* ``score``: ``{"scores": {option: int}}``; ``dot_vote``: ``{"dots": {option: int}}``
* ``schulze``, ``irv``, ``stv``, ``meek`` (ranked): ``{"ranking": [[a], [b, c], ...]}``,
  best group first, an equal group as a list of several options (Schulze only; the
  transferable votes refuse equal rankings); options left out rank last

Rule keys (unknown keys are refused, so nothing silently changes a count):

* ``motion``: ``rule`` (``simple_majority`` ...), ``fraction`` for the qualified majorities,
  ``quorum`` (``null`` or ``{"fraction", "basis", "strict"}``), ``eligible`` (head count of
  the census), ``eligible_weight``, ``abstention_treatment``, ``tie_rule``,
  ``casting_vote``. The participants of the quorum are the number of ballots.
* ``consent``: ``variant``, ``stand_aside_limit`` (``"default"``, ``null`` or a fraction),
  ``objection_requires_reason``.
* ``plurality``, ``approval``, ``score``, ``dot_vote``: ``options``, ``seats``, ``seed``,
  ``settle_ties_by_lot``; ``score`` adds ``min_score`` and ``max_score``, ``dot_vote`` adds
  ``dots``.
* ``schulze``: ``options``, ``status_quo``, ``seed``, ``settle_ties_by_lot``.
* ``irv``: ``options``, ``seed``; ``stv``: ``options``, ``seats``, ``rule`` (``scottish`` or
  ``wigm``), ``seed``; ``meek``: ``options``, ``seats``, ``seed``, ``precision``. These are
  counted by ``konsilo.counting.methods`` (its registry loads the method's module).
* ``budget``: ``projects`` (option → cost), ``budget``, ``budget_method`` (``equal_shares``
  or ``greedy``). The Method of Equal Shares splits the budget per voter, so budget weights
  must be whole numbers (a weight of 3 counts as three voters).

Every method other than ``motion`` (whose count checks its own quorum) also takes ``quorum``
(``{"fraction", "basis": "members" | "weight", "strict"}``), ``eligible`` and
``eligible_weight``: without the quorum there is no decision and no count (§3.8), the outcome
is ``"no_quorum"``; with it, ``details["quorum"]`` says so.

Exact numbers in the rule and weights may be ``int``, ``Fraction`` or their canonical strings
(``"14/11"``), as the record stores them. Ties follow the method's own rule (see each module);
no tie is settled here.

Order: ballots are sorted by their canonical bytes before counting, so the result (and its
bytes) never depends on the order in which ballots were cast, stored or exported.

>>> ballots = [({"choice": "yes"}, Fraction(1)), ({"choice": "no"}, Fraction(1)),
...            ({"choice": "yes"}, Fraction(1, 2))]
>>> r = count_ballots("motion", {"rule": "simple_majority"}, ballots)
>>> r.outcome, r.rounds[0].tallies["yes"]
('adopted', Fraction(3, 2))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

from konsilo import canonical
from konsilo.counting import budget, cardinal, consent, methods, motion, schulze
from konsilo.counting.profile import ProfileError, RankedProfile
from konsilo.counting.result import Result, Round
from konsilo.counting.tiebreak import LotRequiredError

__all__ = [
    "BALLOT_KEYS",
    "METHODS",
    "TallyError",
    "count_ballots",
    "normalise_ballot",
    "parse_exact",
]

Ballots = Sequence[tuple[Mapping[str, Any], Fraction | int | str]]

_EXACT = re.compile(r"-?[0-9]+(/[0-9]+)?")
_CHOICES = ("yes", "no", "abstain")


class TallyError(ValueError):
    """A ballot or the rule does not fit the method; the message names which and why."""


def parse_exact(value: object, *, field: str) -> Fraction:
    """An exact number from an ``int``, a ``Fraction`` or its canonical string ``"14/11"``.

    >>> parse_exact("14/11", field="weight")
    Fraction(14, 11)
    """
    if type(value) is Fraction:  # immutable: the weights a recount passes, as they are
        return value
    if isinstance(value, bool):
        raise TallyError(f"{field}: expected an exact number, got {value!r}")
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, str) and _EXACT.fullmatch(value):
        try:
            return Fraction(value)
        except ZeroDivisionError:
            raise TallyError(f"{field}: {value!r} divides by zero") from None
    raise TallyError(
        f"{field}: expected an integer or an exact fraction such as '2/3', got {value!r}"
    )


def _whole(value: object, *, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TallyError(f"{field}: expected a whole number ≥ {minimum}, got {value!r}")
    return value


def _flag(value: object, *, field: str) -> bool:
    if not isinstance(value, bool):
        raise TallyError(f"{field}: expected true or false, got {value!r}")
    return value


def _text(value: object, *, field: str, allow_none: bool = False) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise TallyError(f"{field}: expected a string, got {value!r}")
    return value


def _options(rule: Mapping[str, Any]) -> tuple[str, ...]:
    raw = rule.get("options")
    if not isinstance(raw, list | tuple) or not raw:
        raise TallyError(f"rule.options: expected a non-empty list of option names, got {raw!r}")
    names: list[str] = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or not name:
            raise TallyError(f"rule.options[{i}]: expected an option name, got {name!r}")
        names.append(name)
    if len(set(names)) != len(names):
        raise TallyError("rule.options: an option appears twice")
    return tuple(names)


def _known(number: int, name: object, options: Sequence[str], what: str) -> str:
    if not isinstance(name, str):
        raise TallyError(f"ballot {number}: {what}: expected an option name, got {name!r}")
    if name not in options:
        raise TallyError(f"ballot {number}: {what}: unknown option {name!r}")
    return name


def _option_list(number: int, raw: object, options: Sequence[str], key: str) -> list[str]:
    if not isinstance(raw, list | tuple):
        raise TallyError(f"ballot {number}: {key}: expected a list of options, got {raw!r}")
    listed = [_known(number, name, options, key) for name in raw]
    if len(set(listed)) != len(listed):
        raise TallyError(f"ballot {number}: {key}: an option is listed twice")
    return sorted(listed)


def _option_ints(number: int, raw: object, options: Sequence[str], key: str) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        raise TallyError(f"ballot {number}: {key}: expected a mapping of option to number")
    out: dict[str, int] = {}
    for name, value in raw.items():
        _known(number, name, options, key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TallyError(
                f"ballot {number}: {key}[{name!r}]: expected a whole number, got {value!r}"
            )
        out[name] = value
    return out


# -- ballot shapes ----------------------------------------------------------------------------


def _motion_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    choice = ballot["choice"]
    if choice not in _CHOICES:
        raise TallyError(f"ballot {number}: choice: expected yes, no or abstain, got {choice!r}")
    return {"choice": choice}


def _consent_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    stance = ballot["stance"]
    if stance not in consent.STANCES:
        raise TallyError(
            f"ballot {number}: stance: expected one of {', '.join(consent.STANCES)}, got {stance!r}"
        )
    out: dict[str, Any] = {
        "stance": stance,
        "reason": _text(ballot["reason"], field=f"ballot {number}: reason"),
    }
    if "member" in ballot:
        out["member"] = _text(ballot["member"], field=f"ballot {number}: member")
    if "judgement" in ballot:
        judgement = ballot["judgement"]
        if not isinstance(judgement, Mapping) or set(judgement) != {
            "valid",
            "judged_by",
            "reason",
        }:
            raise TallyError(
                f"ballot {number}: judgement: expected {{valid, judged_by, reason}}, "
                f"got {judgement!r}"
            )
        out["judgement"] = {
            "valid": _flag(judgement["valid"], field=f"ballot {number}: judgement.valid"),
            "judged_by": _text(judgement["judged_by"], field=f"ballot {number}: judged_by"),
            "reason": _text(judgement["reason"], field=f"ballot {number}: judgement.reason"),
        }
    return out


def _plurality_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    choice = ballot["choice"]
    if choice is None:
        return {"choice": None}
    return {"choice": _known(number, choice, _options(rule), "choice")}


def _approval_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    return {"approve": _option_list(number, ballot["approve"], _options(rule), "approve")}


def _budget_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    projects = _projects(rule)
    return {"approve": _option_list(number, ballot["approve"], sorted(projects), "approve")}


def _score_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    low, high = _score_range(rule)
    scores = _option_ints(number, ballot["scores"], _options(rule), "scores")
    for name, value in scores.items():
        if not low <= value <= high:
            raise TallyError(
                f"ballot {number}: scores[{name!r}]: expected {low} to {high}, got {value}"
            )
    return {"scores": scores}


def _dot_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    dots = _whole(rule.get("dots"), field="rule.dots", minimum=1)
    placed = _option_ints(number, ballot["dots"], _options(rule), "dots")
    for name, value in placed.items():
        if value < 0:
            raise TallyError(f"ballot {number}: dots[{name!r}]: expected ≥ 0, got {value}")
    total = sum(placed.values())
    if total > dots:
        raise TallyError(f"ballot {number}: dots: places {total} dots, but each voter has {dots}")
    return {"dots": placed}


def _ranked_ballot(number: int, ballot: Mapping[str, Any], rule: Mapping[str, Any]) -> Any:
    options = _options(rule)
    raw = ballot["ranking"]
    if not isinstance(raw, list | tuple):
        raise TallyError(f"ballot {number}: ranking: expected a list of groups, got {raw!r}")
    seen: set[str] = set()
    groups: list[list[str]] = []
    for place, group in enumerate(raw, start=1):
        if not isinstance(group, list | tuple) or not group:
            raise TallyError(
                f"ballot {number}: ranking place {place}: expected a non-empty list of options,"
                f" got {group!r}"
            )
        names = [_known(number, name, options, f"ranking place {place}") for name in group]
        for name in names:
            if name in seen:
                raise TallyError(f"ballot {number}: ranking: {name!r} is ranked twice")
            seen.add(name)
        groups.append(sorted(names))
    return {"ranking": groups}


BALLOT_KEYS: Mapping[str, frozenset[str]] = {
    "motion": frozenset({"choice"}),
    "consent": frozenset({"stance", "reason"}),
    "plurality": frozenset({"choice"}),
    "approval": frozenset({"approve"}),
    "budget": frozenset({"approve"}),
    "score": frozenset({"scores"}),
    "dot_vote": frozenset({"dots"}),
    "schulze": frozenset({"ranking"}),
    "irv": frozenset({"ranking"}),
    "stv": frozenset({"ranking"}),
    "meek": frozenset({"ranking"}),
}
_OPTIONAL_KEYS: Mapping[str, frozenset[str]] = {"consent": frozenset({"member", "judgement"})}

_SHAPES: Mapping[str, Callable[[int, Mapping[str, Any], Mapping[str, Any]], Any]] = {
    "motion": _motion_ballot,
    "consent": _consent_ballot,
    "plurality": _plurality_ballot,
    "approval": _approval_ballot,
    "budget": _budget_ballot,
    "score": _score_ballot,
    "dot_vote": _dot_ballot,
    "schulze": _ranked_ballot,
    "irv": _ranked_ballot,
    "stv": _ranked_ballot,
    "meek": _ranked_ballot,
}

_RULE_KEYS: Mapping[str, frozenset[str]] = {
    "motion": frozenset(
        {
            "rule",
            "fraction",
            "quorum",
            "eligible",
            "eligible_weight",
            "abstention_treatment",
            "tie_rule",
            "casting_vote",
        }
    ),
    "consent": frozenset({"variant", "stand_aside_limit", "objection_requires_reason"}),
    "plurality": frozenset({"options", "seats", "seed", "settle_ties_by_lot"}),
    "approval": frozenset({"options", "seats", "seed", "settle_ties_by_lot"}),
    "score": frozenset(
        {"options", "seats", "seed", "settle_ties_by_lot", "min_score", "max_score"}
    ),
    "dot_vote": frozenset({"options", "seats", "seed", "settle_ties_by_lot", "dots"}),
    "schulze": frozenset({"options", "status_quo", "seed", "settle_ties_by_lot"}),
    "irv": frozenset({"options", "seed"}),
    "stv": frozenset({"options", "seats", "rule", "seed"}),
    "meek": frozenset({"options", "seats", "seed", "precision"}),
    "budget": frozenset({"projects", "budget", "budget_method"}),
}

_QUORUM_KEYS = frozenset({"quorum", "eligible", "eligible_weight"})
_RULE_KEYS = {
    method: keys if method == "motion" else keys | _QUORUM_KEYS
    for method, keys in _RULE_KEYS.items()
}

METHODS: tuple[str, ...] = tuple(_SHAPES)


# -- rule parts -------------------------------------------------------------------------------


def _score_range(rule: Mapping[str, Any]) -> tuple[int, int]:
    low = rule.get("min_score", 0)
    high = rule.get("max_score", 10)
    for field, value in (("rule.min_score", low), ("rule.max_score", high)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TallyError(f"{field}: expected a whole number, got {value!r}")
    if low >= high:
        raise TallyError(f"rule.max_score: expected more than min_score {low}, got {high}")
    return low, high


def _projects(rule: Mapping[str, Any]) -> dict[str, Fraction]:
    raw = rule.get("projects")
    if not isinstance(raw, Mapping) or not raw:
        raise TallyError("rule.projects: expected a mapping of project to cost")
    return {
        _text(name, field="rule.projects") or "": parse_exact(
            cost, field=f"rule.projects[{name!r}]"
        )
        for name, cost in raw.items()
    }


def _ties(rule: Mapping[str, Any]) -> tuple[str | None, bool]:
    seed = _text(rule.get("seed"), field="rule.seed", allow_none=True)
    by_lot = _flag(rule.get("settle_ties_by_lot", False), field="rule.settle_ties_by_lot")
    return seed, by_lot


def _seats(rule: Mapping[str, Any]) -> int:
    return _whole(rule.get("seats", 1), field="rule.seats", minimum=1)


def _quorum(rule: Mapping[str, Any]) -> motion.Quorum | None:
    raw = rule.get("quorum")
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not set(raw) <= {"fraction", "basis", "strict"}:
        raise TallyError(f"rule.quorum: expected {{fraction, basis, strict}} or null, got {raw!r}")
    try:
        return motion.Quorum(
            fraction=parse_exact(raw.get("fraction"), field="rule.quorum.fraction"),
            basis=raw.get("basis", "members"),
            strict=_flag(raw.get("strict", False), field="rule.quorum.strict"),
        )
    except motion.MotionError as exc:
        raise TallyError(str(exc)) from None


def _electorate(rule: Mapping[str, Any]) -> tuple[int | None, Fraction | None]:
    eligible = rule.get("eligible")
    if eligible is not None:
        eligible = _whole(eligible, field="rule.eligible")
    weight = rule.get("eligible_weight")
    if weight is not None:
        weight = parse_exact(weight, field="rule.eligible_weight")
    return eligible, weight


def _turnout_quorum(
    method: str, rule: Mapping[str, Any], grouped: Grouped, heads: int
) -> tuple[bool, str] | None:
    """For methods without their own quorum: whether enough took part (§2.8, §3.8)."""
    quorum = _quorum(rule)
    if quorum is None:
        return None
    if quorum.basis == "votes_cast":
        raise TallyError(f"rule.quorum.basis: {method} takes members or weight, not votes_cast")
    eligible, eligible_weight = _electorate(rule)
    turnout = motion.MotionBallots(
        yes=sum((w for _, w in grouped), Fraction(0)),
        no=0,
        eligible=eligible,
        eligible_weight=eligible_weight,
        participants=heads,
    )
    return quorum.check(turnout)


# -- counts -----------------------------------------------------------------------------------

Grouped = list[tuple[Any, Fraction]]


def _count_motion(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    sums = dict.fromkeys(_CHOICES, Fraction(0))
    for ballot, weight in grouped:
        sums[ballot["choice"]] += weight
    kind = _text(rule.get("rule", "simple_majority"), field="rule.rule") or ""
    the_rule: motion.MotionRule | str = kind
    if rule.get("fraction") is not None:
        the_rule = motion.MotionRule(kind, parse_exact(rule["fraction"], field="rule.fraction"))
    quorum = _quorum(rule)
    eligible, eligible_weight = _electorate(rule)
    tally = motion.MotionBallots(
        yes=sums["yes"],
        no=sums["no"],
        abstain=sums["abstain"],
        eligible=eligible,
        eligible_weight=eligible_weight,
        participants=heads,
    )
    return motion.count(
        tally,
        rule=the_rule,
        quorum=quorum,
        abstention_treatment=rule.get("abstention_treatment", "excluded"),
        tie_rule=rule.get("tie_rule", "fails"),
        casting_vote=rule.get("casting_vote"),
    )


def _count_consent(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    stances: list[consent.Stance] = []
    for number, (ballot, weight) in enumerate(grouped, start=1):
        if weight != 1:
            raise TallyError(
                f"ballot {number}: weight: consent is not weighted (§3.21), expected 1, "
                f"got {weight}"
            )
        judgement = ballot.get("judgement")
        stances.append(
            consent.Stance(
                member=ballot.get("member", f"ballot {number}"),
                stance=ballot["stance"],
                reason=ballot["reason"],
                judgement=consent.Judgement(**judgement) if judgement else None,
            )
        )
    limit = rule.get("stand_aside_limit", "default")
    if limit not in (None, "default"):
        limit = parse_exact(limit, field="rule.stand_aside_limit")
    return consent.count(
        stances,
        variant=rule.get("variant", "consent"),
        stand_aside_limit=limit,
        objection_requires_reason=_flag(
            rule.get("objection_requires_reason", True), field="rule.objection_requires_reason"
        ),
    )


def _count_plurality(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    seed, by_lot = _ties(rule)
    return cardinal.plurality(
        [b["choice"] for b, _ in grouped],
        candidates=_options(rule),
        seats=_seats(rule),
        weights=[w for _, w in grouped],
        seed=seed,
        settle_ties_by_lot=by_lot,
    )


def _count_approval(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    seed, by_lot = _ties(rule)
    return cardinal.approval(
        [b["approve"] for b, _ in grouped],
        candidates=_options(rule),
        seats=_seats(rule),
        weights=[w for _, w in grouped],
        seed=seed,
        settle_ties_by_lot=by_lot,
    )


def _count_score(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    seed, by_lot = _ties(rule)
    low, high = _score_range(rule)
    return cardinal.score(
        [b["scores"] for b, _ in grouped],
        candidates=_options(rule),
        min_score=low,
        max_score=high,
        seats=_seats(rule),
        weights=[w for _, w in grouped],
        seed=seed,
        settle_ties_by_lot=by_lot,
    )


def _count_dot_vote(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    seed, by_lot = _ties(rule)
    return cardinal.dot_vote(
        [b["dots"] for b, _ in grouped],
        candidates=_options(rule),
        dots=_whole(rule.get("dots"), field="rule.dots", minimum=1),
        seats=_seats(rule),
        weights=[w for _, w in grouped],
        seed=seed,
        settle_ties_by_lot=by_lot,
    )


def _count_schulze(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    seed, by_lot = _ties(rule)
    options = _options(rule)
    status_quo = _text(rule.get("status_quo"), field="rule.status_quo", allow_none=True)
    profile = RankedProfile.from_rankings(
        options,
        [[set(group) for group in b["ranking"]] for b, _ in grouped],
        [w for _, w in grouped],
    )
    return schulze.count(profile, status_quo=status_quo, seed=seed, settle_ties_by_lot=by_lot)


def _count_preferential(name: str) -> Callable[[Mapping[str, Any], Grouped, int], Result]:
    """IRV, STV and Meek STV through the method registry (each module loads when used)."""

    def run(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
        profile = RankedProfile.from_rankings(
            _options(rule),
            [[set(group) for group in b["ranking"]] for b, _ in grouped],
            [w for _, w in grouped],
        )
        keys = {
            "irv": ("seed",),
            "stv": ("seats", "rule", "seed"),
            "meek": ("seats", "seed", "precision"),
        }
        kwargs = {k: rule[k] for k in keys[name] if k in rule}
        try:
            return methods.count_by_name(name, profile, **kwargs)
        except ValueError as exc:  # each method's own refusal (all are ValueErrors)
            raise TallyError(str(exc)) from None

    return run


def _count_budget(rule: Mapping[str, Any], grouped: Grouped, heads: int) -> Result:
    approvals: list[list[str]] = []
    for number, (ballot, weight) in enumerate(grouped, start=1):
        if weight.denominator != 1:
            raise TallyError(
                f"ballot {number}: weight: equal shares counts whole voters, got {weight}"
            )
        approvals.extend([ballot["approve"]] * int(weight))
    method = rule.get("budget_method", "equal_shares")
    return budget.count(
        approvals,
        projects=_projects(rule),
        budget=parse_exact(rule.get("budget"), field="rule.budget"),
        method=method,
    )


_COUNTS: Mapping[str, Callable[[Mapping[str, Any], Grouped, int], Result]] = {
    "motion": _count_motion,
    "consent": _count_consent,
    "plurality": _count_plurality,
    "approval": _count_approval,
    "score": _count_score,
    "dot_vote": _count_dot_vote,
    "schulze": _count_schulze,
    "budget": _count_budget,
    "irv": _count_preferential("irv"),
    "stv": _count_preferential("stv"),
    "meek": _count_preferential("meek"),
}

_COUNT_ERRORS = (
    motion.MotionError,
    consent.ConsentError,
    cardinal.BallotError,
    schulze.SchulzeError,
    ProfileError,
    budget.BudgetError,
    LotRequiredError,
)


def _check_shape(method: str, number: int, ballot: object) -> Mapping[str, Any]:
    if not isinstance(ballot, Mapping):
        raise TallyError(f"ballot {number}: expected a mapping, got {type(ballot).__name__}")
    keys = set(ballot)
    required = BALLOT_KEYS[method]
    allowed = required | _OPTIONAL_KEYS.get(method, frozenset())
    missing = sorted(required - keys)
    extra = sorted(keys - allowed)
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unexpected {', '.join(map(str, extra))}"] if extra else []
        raise TallyError(
            f"ballot {number}: a {method} ballot has keys {', '.join(sorted(required))}; "
            + "; ".join(parts)
        )
    return ballot


def normalise_ballot(method: str, rule: Mapping[str, Any], ballot: object) -> dict[str, Any]:
    """Check one ballot for ``method`` and return its canonical form (sorted lists).

    The web layer calls this before storing a ballot, so a ballot of the wrong shape is refused
    when it is cast, with the same message a recount would give.

    >>> normalise_ballot("approval", {"options": ["A", "B"]}, {"approve": ["B", "A"]})
    {'approve': ['A', 'B']}
    """
    if method not in _SHAPES:
        raise TallyError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    shaped = _check_shape(method, 1, ballot)
    return dict(_SHAPES[method](1, shaped, rule))


def _add_equal(keyed: Sequence[tuple[bytes, Any, Fraction]]) -> Grouped:
    """Ballots with equal canonical bytes as one, their weights added, in the order of the
    bytes: the sum is exact, so it does not depend on the order the ballots came in."""
    # A recount's weights are a census's few shared objects (often "1" for everyone): each
    # distinct (ballot, weight object) is counted, then multiplied out once, rather than
    # adding a Fraction per ballot. ``keyed`` holds every weight, so no id is reused meanwhile.
    runs: dict[tuple[bytes, int], list[Any]] = {}
    for key, ballot, weight in keyed:
        run = runs.get((key, id(weight)))
        if run is None:
            runs[(key, id(weight))] = [ballot, weight, 1]
        else:
            run[2] += 1
    totals: dict[bytes, tuple[Any, Fraction]] = {}
    for (key, _), (ballot, weight, times) in runs.items():
        added = weight * times if times > 1 else weight
        seen = totals.get(key)
        totals[key] = (ballot, added) if seen is None else (seen[0], seen[1] + added)
    return [totals[key] for key in sorted(totals)]


def count_ballots(
    method: str, rule: Mapping[str, Any], ballots: Ballots, *, heads: int | None = None
) -> Result:
    """Count canonical weighted ballots by ``method`` under ``rule``; see the module docstring.

    ``heads``: how many ballots were cast, when ``ballots`` come with equal ones added
    together already (a weight of 3 for three members' identical ballots), which counts the
    same; the participants are then ``heads``, not the number of pairs. A consent round
    reports every ballot's concern: it takes its ballots one by one.

    Every ballot is checked first (``TallyError`` names the first bad ballot by its position,
    from 1, and what is wrong); identical ballots are then added together with their exact
    weights and the method's count runs once. Weights must be positive.

    >>> count_ballots("schulze", {"options": ["A", "B"]}, [({"ranking": [["B"]]}, 2)]).winners
    ('B',)
    """
    if method not in _COUNTS:
        raise TallyError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(rule, Mapping):
        raise TallyError(f"rule: expected a mapping, got {type(rule).__name__}")
    unknown = sorted(set(rule) - _RULE_KEYS[method])
    if unknown:
        raise TallyError(
            f"rule: unknown key(s) {', '.join(map(str, unknown))} for {method}; expected "
            f"{', '.join(sorted(_RULE_KEYS[method]))}"
        )
    shape = _SHAPES[method]
    required = BALLOT_KEYS[method]
    keyed: list[tuple[bytes, Any, Fraction]] = []
    # Ballots repeat by the thousand: a ballot of strings (or None) shapes as the first one
    # with the same items did, checked and encoded once (the shapes depend on nothing else).
    shaped: dict[tuple[tuple[str, str | None], ...], tuple[bytes, Any]] = {}
    for number, pair in enumerate(ballots, start=1):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TallyError(f"ballot {number}: expected a (ballot, weight) pair")
        raw, raw_weight = pair
        weight = (
            raw_weight
            if type(raw_weight) is Fraction
            else parse_exact(raw_weight, field=f"ballot {number}: weight")
        )
        if weight.numerator <= 0:
            raise TallyError(f"ballot {number}: weight: expected a positive number, got {weight}")
        items = canonical.string_items(raw)
        known = shaped.get(items) if items is not None else None
        if known is None:
            if type(raw) is not dict or raw.keys() != required:  # else it has the method's keys
                raw = _check_shape(method, number, raw)
            ballot = shape(number, raw, rule)
            # A shaped ballot is plain JSON (the shapes build it of strings, integers,
            # booleans, None and lists), so its canonical bytes need no conversion.
            known = (canonical.dumps_plain(ballot), ballot)
            if items is not None:
                shaped[items] = known
        keyed.append((known[0], known[1], weight))
    if heads is None:
        heads = len(keyed)
    elif isinstance(heads, bool) or not isinstance(heads, int) or heads < len(keyed):
        raise TallyError(f"heads: expected at least the {len(keyed)} ballots given, got {heads!r}")
    elif method == "consent" and heads != len(keyed):
        raise TallyError("heads: a consent round counts every ballot as given, added to none")
    if method == "consent":
        keyed.sort(key=lambda item: (item[0], item[2]))
        grouped: Grouped = [(ballot, weight) for _, ballot, weight in keyed]
    else:
        grouped = _add_equal(keyed)
    try:
        quorum = None if method == "motion" else _turnout_quorum(method, rule, grouped, heads)
        if quorum is not None and not quorum[0]:
            sentence = f"{quorum[1]}: no decision"
            return Result(
                method=method,
                rule=dict(rule),
                winners=(),
                rounds=(Round(number=1, tallies={}, explanation=sentence),),
                outcome="no_quorum",
                summary=sentence,
                details={"quorum": {"met": False, "sentence": quorum[1]}},
            )
        result = _COUNTS[method](rule, grouped, heads)
    except _COUNT_ERRORS as exc:
        raise TallyError(f"{method}: {exc}") from exc
    if quorum is not None:
        details = {**result.details, "quorum": {"met": True, "sentence": quorum[1]}}
        result = replace(result, details=details)
    return result


def did_not_prevail(
    method: str, ballot: Mapping[str, Any], *, outcome: str, winners: Sequence[str]
) -> bool:
    """Whether a ballot's voter did not prevail, and so may file a minority report (§2.13).

    Abstentions never prevail, and without a decision (no quorum, a tie) nobody prevailed.
    A motion's "yes" prevails when it is adopted, its "no" otherwise; in a consent round those
    who objected, blocked, stood aside or consented with a concern did not prevail when the
    proposal was adopted, and those who consented did not when it was not. Among options, a
    ballot prevails when it supports a winner: names it, approves it, gives it dots, gives it
    its highest score, or ranks it first.

    >>> did_not_prevail("motion", {"choice": "no"}, outcome="adopted", winners=["yes"])
    True
    """
    if outcome in ("no_quorum", "tie"):
        return True
    won = set(winners)
    if method == "motion":
        choice = ballot.get("choice")
        if choice == "abstain":
            return True
        return (choice == "yes") != (outcome == "adopted")
    if method == "consent":
        stance = ballot.get("stance")
        if outcome == "adopted":
            return stance != "consent"
        return stance in ("consent", "consent_with_concern")
    if method == "plurality":
        return ballot.get("choice") not in won
    if method in ("approval", "budget"):
        return not won & set(ballot.get("approve", ()))
    if method == "dot_vote":
        return not any(ballot.get("dots", {}).get(w, 0) > 0 for w in won)
    if method == "score":
        scores: Mapping[str, int] = ballot.get("scores", {})
        best = max(scores.values(), default=None)
        return best is None or not any(scores.get(w) == best for w in won)
    if method in ("schulze", "irv", "stv", "meek"):
        ranking = ballot.get("ranking", [])
        return not ranking or not won & set(ranking[0])
    raise TallyError(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
