"""One registry of counting methods: a method's name and rule lead to the right count.

The command line counts a file with ``count_by_name("stv", profile, rule="scottish",
seats=3)``; ``konsilo verify`` recounts a recorded tally from its canonical data with
``recount(result["method"], result["rule"], ballots, seed=result["seed"])``, which gives the
same ``Result.to_json()`` bytes as the original count. Each method module is imported only
when it is used, so that ``konsilo count`` starts quickly.

Rules are mappings of plain values: the keyword arguments of the method's ``count`` function,
as Python values or as decoded canonical JSON (exact numbers as ``"2/3"`` strings). A rule
may also carry the descriptive keys the method itself records in ``Result.rule`` (for
example Schulze's ``"strength": "winning_votes"``); they must then say what the method does.
An unknown method, an unknown rule key or a value of the wrong kind is one ``MethodError``
naming it.

Ballots, by the kind of method:

* ranked (irv, stv, meek, constrained_stv, schulze): a ``RankedProfile``, or its canonical
  form (``RankedProfile.to_canonical()``);
* options (plurality, approval, score, dot_vote, greedy, equal_shares): ``ScoredBallots``
  (from a ballot CSV), a ``RankedProfile`` (plurality counts each first preference, approval
  and budgets count every ranked option as approved), or the canonical form
  ``{"candidates": [...], "ballots": [{"scores": {option: number}, "weight": w}]}``, where
  a plurality ballot marks one option with 1 and an approval marks each approved option
  with 1;
* motion: ``MotionBallots`` or its canonical form (``yes``, ``no``, ``abstain``, ...);
* consent and consensus: a sequence of ``Stance``, or ``{"stances": [...]}`` in their
  canonical form.

``canonical_ballots(method, ballots)`` gives the canonical form to record.

>>> from konsilo.counting.profile import RankedProfile
>>> p = RankedProfile.from_rankings(["A", "B", "C"], [["A", "B"], ["B", "C"], ["A"]])
>>> r = count_by_name("schulze", p)
>>> r.winners
('A',)
>>> recount(r.method, r.rule, canonical_ballots("schulze", p)).to_json() == r.to_json()
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from konsilo.counting.ballot_csv import ScoredBallots
from konsilo.counting.profile import ProfileError, RankedProfile
from konsilo.counting.result import Result

__all__ = [
    "METHODS",
    "MethodError",
    "MethodSpec",
    "canonical_ballots",
    "count_by_name",
    "get_method",
    "recount",
]


class MethodError(ValueError):
    """An unknown method, an unknown or malformed rule key, or ballots of the wrong kind."""


_REQUIRED = object()


# -- decoding rule values -------------------------------------------------------------------


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MethodError(f"{name}: expected a whole number, got {value!r}")
    if isinstance(value, str):
        if not value.strip().lstrip("-").isdigit():
            raise MethodError(f"{name}: expected a whole number, got {value!r}")
        return int(value)
    return int(value)


def _exact(name: str, value: Any) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | str | Fraction):
        raise MethodError(f"{name}: expected an exact number (int or 'p/q'), got {value!r}")
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise MethodError(
            f"{name}: expected an exact number (int or 'p/q'), got {value!r}"
        ) from None


def _exact_or_whole(name: str, value: Any) -> int | Fraction:
    exact = _exact(name, value)
    return int(exact) if exact.denominator == 1 else exact


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "1", "false", "no", "0"):
        return value.lower() in ("true", "yes", "1")
    raise MethodError(f"{name}: expected true or false, got {value!r}")


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise MethodError(f"{name}: expected a name, got {value!r}")
    return value


def _optional(decode: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    def decoder(name: str, value: Any) -> Any:
        return None if value is None else decode(name, value)

    return decoder


def _choice(*options: str) -> Callable[[str, Any], str]:
    def decoder(name: str, value: Any) -> str:
        if value not in options:
            raise MethodError(f"{name}: expected one of {', '.join(options)}, got {value!r}")
        return str(value)

    return decoder


def _costs(name: str, value: Any) -> dict[str, int | Fraction]:
    if not isinstance(value, Mapping) or not value:
        raise MethodError(f"{name}: expected a mapping of project to cost, got {value!r}")
    return {_text(name, k): _exact_or_whole(f"{name}[{k!r}]", v) for k, v in value.items()}


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MethodError(f"{name}: expected a mapping, got {value!r}")
    return value


def _motion_rule(name: str, value: Any) -> Any:
    motion = _module("motion")

    if isinstance(value, motion.MotionRule | str):
        return value
    data = _mapping(name, value)
    fraction = data.get("fraction")
    try:
        return motion.MotionRule(
            _text(f"{name}.kind", data.get("kind")),
            None if fraction is None else _exact(f"{name}.fraction", fraction),
        )
    except motion.MotionError as exc:
        raise MethodError(str(exc)) from None


def _quorum(name: str, value: Any) -> Any:
    motion = _module("motion")

    if value is None or isinstance(value, motion.Quorum):
        return value
    data = _mapping(name, value)
    unknown = set(data) - {"fraction", "basis", "strict"}
    if unknown:
        raise MethodError(f"{name}: unknown key {sorted(unknown)[0]!r}")
    try:
        return motion.Quorum(
            _exact(f"{name}.fraction", data.get("fraction")),
            _text(f"{name}.basis", data.get("basis", "members")),
            _flag(f"{name}.strict", data.get("strict", False)),
        )
    except motion.MotionError as exc:
        raise MethodError(str(exc)) from None


def _names(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence | set | frozenset):
        raise MethodError(f"{name}: expected a list of candidate names, got {value!r}")
    return tuple(_text(name, v) for v in value)


def _categories(name: str, value: Any) -> dict[str, str | frozenset[str]]:
    data = _mapping(name, value)
    out: dict[str, str | frozenset[str]] = {}
    for candidate, category in data.items():
        where = f"{name}[{candidate!r}]"
        out[_text(name, candidate)] = (
            _text(where, category)
            if isinstance(category, str)
            else frozenset(_names(where, category))
        )
    return out


_CONSTRAINT_FIELDS: dict[str, tuple[str, dict[str, Callable[[str, Any], Any]]]] = {
    "minimum_share": ("MinimumShare", {"category": _text, "share": _exact}),
    "reserved_seats": ("ReservedSeats", {"category": _text, "seats": _whole}),
    "co_chairs": ("CoChairs", {"first": _text, "second": _text}),
}


def _constraints(name: str, value: Any) -> list[Any]:
    """Constraint objects, or mappings ``{"kind": "minimum_share", "category", "share"}``."""
    constrained = _module("constrained")
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise MethodError(f"{name}: expected a list of constraints, got {value!r}")
    out: list[Any] = []
    for number, item in enumerate(value, start=1):
        where = f"{name}[{number}]"
        if isinstance(
            item, constrained.MinimumShare | constrained.ReservedSeats | constrained.CoChairs
        ):
            out.append(item)
            continue
        if isinstance(item, str):
            raise MethodError(
                f"{where}: {item!r} is a constraint's description; a count needs its kind and "
                "parameters ({'kind': 'minimum_share', 'category': ..., 'share': ...})"
            )
        data = dict(_mapping(where, item))
        kind = data.pop("kind", None)
        if kind not in _CONSTRAINT_FIELDS:
            raise MethodError(
                f"{where}.kind: expected one of {', '.join(_CONSTRAINT_FIELDS)}, got {kind!r}"
            )
        cls_name, fields = _CONSTRAINT_FIELDS[kind]
        if set(data) != set(fields):
            raise MethodError(f"{where}: {kind} takes {', '.join(fields)}, got {', '.join(data)}")
        args = {k: decode(f"{where}.{k}", data[k]) for k, decode in fields.items()}
        out.append(getattr(constrained, cls_name)(**args))
    return out


def _stand_aside_limit(name: str, value: Any) -> Any:
    if value is None or value == "default":
        return value
    return _exact(name, value)


# -- ballots --------------------------------------------------------------------------------


def _ranked(ballots: Any, method: str) -> RankedProfile:
    if isinstance(ballots, RankedProfile):
        return ballots
    if isinstance(ballots, Mapping) and _is_ranked_form(ballots):
        try:
            return RankedProfile.from_canonical(ballots)
        except ProfileError as exc:
            raise MethodError(f"ballots: {exc}") from None
    raise MethodError(f"ballots: {method} counts ranked ballots, got {_kind(ballots)}")


def _is_ranked_form(data: Mapping[str, Any]) -> bool:
    ballots = data.get("ballots")
    return isinstance(ballots, list) and all(
        isinstance(b, Mapping) and "ranking" in b for b in ballots
    )


def _kind(ballots: Any) -> str:
    if isinstance(ballots, ScoredBallots):
        return "scored ballots"
    if isinstance(ballots, Mapping):
        return "a mapping that is not a profile of that kind"
    return type(ballots).__name__


@dataclass(frozen=True)
class _Options:
    """Ballots over options, grouped: each distinct mapping once with its total weight."""

    candidates: tuple[str, ...]
    items: tuple[tuple[tuple[tuple[str, Fraction], ...], Fraction], ...]


def _options(ballots: Any, method: str, *, from_ranked: str) -> _Options:
    """Scored, ranked or canonical ballots as grouped option marks."""
    grouped: dict[tuple[tuple[str, Fraction], ...], Fraction] = {}
    marks: tuple[tuple[str, Fraction], ...]
    if isinstance(ballots, Mapping) and _is_ranked_form(ballots):
        ballots = _ranked(ballots, method)
    if isinstance(ballots, RankedProfile):
        fast = _strict_options(ballots, from_ranked)
        if fast is not None:
            return fast
        names = ballots.candidates
        withdrawn = ballots.withdrawn
        for number, (ranking, weight) in enumerate(
            zip(ballots.rankings, ballots.weights, strict=True), start=1
        ):
            standing = [
                g for g in ([i for i in grp if names[i] not in withdrawn] for grp in ranking) if g
            ]
            if from_ranked == "first":
                if standing and len(standing[0]) > 1:
                    tied = " = ".join(names[i] for i in standing[0])
                    raise MethodError(
                        f"ballots: {method} needs one first preference, but ballot {number} "
                        f"ranks {tied} first equally"
                    )
                marks = ((names[standing[0][0]], Fraction(1)),) if standing else ()
            else:
                marks = tuple(sorted((names[i], Fraction(1)) for g in standing for i in g))
            grouped[marks] = grouped.get(marks, Fraction(0)) + weight
        if ballots.empty:
            grouped[()] = grouped.get((), Fraction(0)) + ballots.empty
        return _Options(tuple(c for c in names if c not in withdrawn), tuple(grouped.items()))
    if isinstance(ballots, ScoredBallots):
        candidates = ballots.candidates
        rows: Iterable[tuple[Mapping[str, Any], Any]] = zip(
            ballots.ballots, ballots.weights, strict=True
        )
    elif isinstance(ballots, Mapping) and isinstance(ballots.get("ballots"), list):
        candidates = tuple(_text("candidates", c) for c in ballots.get("candidates", ()))
        rows = []
        for number, item in enumerate(ballots["ballots"], start=1):
            if not isinstance(item, Mapping) or not isinstance(item.get("scores"), Mapping):
                raise MethodError(f"ballots[{number}]: expected {{'scores': ..., 'weight': ...}}")
            rows.append((item["scores"], item.get("weight", 1)))
    else:
        raise MethodError(f"ballots: {method} counts ballots over options, got {_kind(ballots)}")
    for number, (scores, weight) in enumerate(rows, start=1):
        marks = tuple(
            sorted(
                (_text(f"ballots[{number}]", k), _exact(f"ballots[{number}][{k!r}]", v))
                for k, v in scores.items()
            )
        )
        w = _exact(f"ballots[{number}].weight", weight)
        grouped[marks] = grouped.get(marks, Fraction(0)) + w
    return _Options(candidates, tuple(sorted(grouped.items())))


def _strict_options(profile: RankedProfile, from_ranked: str) -> _Options | None:
    """The same grouping as the general path, with numpy, for whole-weight strict profiles.

    A million distinct rankings (a large BLT file) are never turned into tuples this way.
    """
    if profile.withdrawn or profile.has_equal_rankings or not profile.is_integral:
        return None
    ballots = profile.strict_ballots()
    if ballots.counts is None:
        return None
    names = profile.candidates
    n = len(names)
    matrix = np.asarray(ballots.matrix)
    counts = np.asarray(ballots.counts, dtype=np.int64)
    grouped: dict[tuple[tuple[str, Fraction], ...], Fraction] = {}
    if matrix.shape[0]:
        if from_ranked == "first":
            totals = np.zeros(n, dtype=np.int64)
            np.add.at(totals, matrix[:, 0], counts)
            for i in np.flatnonzero(totals).tolist():
                grouped[((names[i], Fraction(1)),)] = Fraction(int(totals[i]))
        else:
            member = np.zeros((matrix.shape[0], n + 1), dtype=bool)
            rows = np.repeat(np.arange(matrix.shape[0]), matrix.shape[1])
            member[rows, np.where(matrix >= 0, matrix, n).ravel()] = True
            # Rows packed to bytes and compared as one opaque value each: far faster than
            # np.unique over boolean rows.
            packed = np.ascontiguousarray(np.packbits(member[:, :n], axis=1))
            opaque = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
            distinct, inverse = np.unique(opaque, return_inverse=True)
            totals = np.zeros(len(distinct), dtype=np.int64)
            np.add.at(totals, inverse.ravel(), counts)
            keys = np.unpackbits(
                distinct.view(np.uint8).reshape(len(distinct), -1), axis=1, count=n
            ).astype(bool)
            for key, total in zip(keys.tolist(), totals.tolist(), strict=True):
                marks = tuple(sorted((names[i], Fraction(1)) for i in range(n) if key[i]))
                grouped[marks] = Fraction(total)
    if profile.empty:
        grouped[()] = grouped.get((), Fraction(0)) + profile.empty
    return _Options(names, tuple(grouped.items()))


def _plurality_ballots(options: _Options, method: str) -> tuple[list[str | None], list[Fraction]]:
    choices: dict[str | None, Fraction] = {}
    for marks, weight in options.items:
        chosen = [name for name, value in marks if value]
        if len(chosen) > 1 or any(value not in (0, 1) for _, value in marks):
            raise MethodError(
                f"ballots: a {method} ballot marks one option with 1, got "
                + ", ".join(f"{n}={v}" for n, v in marks)
            )
        key = chosen[0] if chosen else None
        choices[key] = choices.get(key, Fraction(0)) + weight
    return list(choices), list(choices.values())


def _approval_sets(options: _Options) -> tuple[list[frozenset[str]], list[Fraction]]:
    sets: dict[frozenset[str], Fraction] = {}
    for marks, weight in options.items:
        key = frozenset(name for name, value in marks if value)
        sets[key] = sets.get(key, Fraction(0)) + weight
    return list(sets), list(sets.values())


def _whole_voters(sets: list[frozenset[str]], weights: list[Fraction], method: str) -> list[Any]:
    voters: list[frozenset[str]] = []
    for approved, weight in zip(sets, weights, strict=True):
        if weight.denominator != 1:
            raise MethodError(f"ballots: {method} counts whole voters, got a weight of {weight}")
        voters.extend([approved] * int(weight))
    return voters


# -- the methods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodSpec:
    """A counting method: its rule keys, the descriptive keys it records, and how to run it."""

    name: str
    kind: str
    params: Mapping[str, tuple[Callable[[str, Any], Any], Any]]
    run: Callable[[Any, dict[str, Any]], Result]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    derived: frozenset[str] = frozenset()

    def decode(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        """Check the rule's keys and decode its values; missing keys take their defaults."""
        out: dict[str, Any] = {}
        for key, value in rule.items():
            if key in self.derived:
                continue  # follows from the other keys; a recount reproduces it
            if key in self.fixed:
                if value != self.fixed[key]:
                    raise MethodError(
                        f"{key}: {self.name} counts with {key} {self.fixed[key]!r}, got {value!r}"
                    )
                continue
            if key not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise MethodError(f"{key}: not a rule key of {self.name} (its keys: {known})")
            out[key] = self.params[key][0](key, value)
        for key, (_, default) in self.params.items():
            if key not in out:
                if default is _REQUIRED:
                    raise MethodError(f"{key}: {self.name} needs {key}")
                out[key] = default
        return out


def _module(name: str) -> Any:
    try:
        return importlib.import_module(f"konsilo.counting.{name}")
    except ModuleNotFoundError:
        raise MethodError(f"method: konsilo.counting.{name} is not installed") from None


def _call(function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    try:
        return function(*args, **kwargs)
    except MethodError:
        raise
    except ValueError as exc:  # every counting error is a ValueError naming its field
        raise MethodError(str(exc)) from None


def _run_ranked(module: str, function: str = "count") -> Callable[[Any, dict[str, Any]], Result]:
    def run(ballots: Any, rule: dict[str, Any]) -> Result:
        return _call(getattr(_module(module), function), _ranked(ballots, module), **rule)

    return run


def _run_cardinal(name: str) -> Callable[[Any, dict[str, Any]], Result]:
    def run(ballots: Any, rule: dict[str, Any]) -> Result:
        cardinal = _module("cardinal")
        options = _options(ballots, name, from_ranked="first" if name == "plurality" else "all")
        marks: list[Any]
        if name == "plurality":
            marks, weights = _plurality_ballots(options, name)
        elif name == "approval":
            sets, weights = _approval_sets(options)
            marks = list(sets)
        else:
            marks = []
            weights = []
            for items, weight in options.items:
                ballot: dict[str, int | Fraction] = {}
                for option, value in items:
                    if name == "dot_vote" and value.denominator != 1:
                        raise MethodError(f"ballots: dots are whole numbers, got {value}")
                    ballot[option] = int(value) if value.denominator == 1 else value
                marks.append(ballot)
                weights.append(weight)
        return _call(
            getattr(cardinal, name), marks, candidates=options.candidates, weights=weights, **rule
        )

    return run


def _run_budget(name: str) -> Callable[[Any, dict[str, Any]], Result]:
    def run(ballots: Any, rule: dict[str, Any]) -> Result:
        budget = _module("budget")
        sets, weights = _approval_sets(_options(ballots, name, from_ranked="all"))
        approved = set().union(*sets) if sets else set()
        unpriced = sorted(approved - set(rule["projects"]))
        if unpriced:
            raise MethodError(
                f"projects: no cost is given for the approved project {unpriced[0]!r}"
            )
        return _call(getattr(budget, name), _whole_voters(sets, weights, name), **rule)

    return run


def _run_motion(ballots: Any, rule: dict[str, Any]) -> Result:
    motion = _module("motion")
    if isinstance(ballots, Mapping):
        data = dict(ballots)
        unknown = set(data) - {
            "yes",
            "no",
            "abstain",
            "eligible",
            "eligible_weight",
            "participants",
        }
        if unknown:
            raise MethodError(f"ballots: unknown motion field {sorted(unknown)[0]!r}")
        fields: dict[str, Any] = {}
        for key in ("yes", "no", "abstain", "eligible_weight"):
            if data.get(key) is not None:
                fields[key] = _exact_or_whole(key, data[key])
        for key in ("eligible", "participants"):
            if data.get(key) is not None:
                fields[key] = _whole(key, data[key])
        ballots = _call(motion.MotionBallots, **fields)
    if not isinstance(ballots, motion.MotionBallots):
        raise MethodError(f"ballots: a motion counts yes/no/abstain totals, got {_kind(ballots)}")
    return _call(motion.count, ballots, **rule)


def _run_consent(variant: str) -> Callable[[Any, dict[str, Any]], Result]:
    def run(ballots: Any, rule: dict[str, Any]) -> Result:
        consent = _module("consent")
        if isinstance(ballots, Mapping):
            listed = ballots.get("stances")
            if not isinstance(listed, list):
                raise MethodError("ballots: expected {'stances': [...]} for consent")
            stances = []
            for number, item in enumerate(listed, start=1):
                data = _mapping(f"stances[{number}]", item)
                judgement = data.get("judgement")
                stances.append(
                    _call(
                        consent.Stance,
                        _text(f"stances[{number}].member", data.get("member")),
                        _text(f"stances[{number}].stance", data.get("stance")),
                        str(data.get("reason", "")),
                        None
                        if judgement is None
                        else _call(
                            consent.Judgement,
                            _flag("judgement.valid", judgement.get("valid")),
                            _text("judgement.judged_by", judgement.get("judged_by")),
                            _text("judgement.reason", judgement.get("reason")),
                        ),
                    )
                )
            ballots = stances
        if not isinstance(ballots, Sequence) or not all(
            isinstance(s, consent.Stance) for s in ballots
        ):
            raise MethodError(f"ballots: {variant} counts stances, got {_kind(ballots)}")
        return _call(consent.count, ballots, variant=variant, **rule)

    return run


_SEATS = (_whole, 1)
_SEED = (_optional(_text), None)
_LOT = (_flag, False)
_WITHDRAWN = (_names, ())

_SPECS: list[MethodSpec] = [
    MethodSpec(
        "irv",
        "ranked",
        {"seed": _SEED, "withdrawn": _WITHDRAWN},
        _run_ranked("irv"),
        fixed={"method": "irv"},
        summary="instant-runoff, one seat",
    ),
    MethodSpec(
        "stv",
        "ranked",
        {
            "seats": (_whole, _REQUIRED),
            "rule": (_choice("scottish", "wigm"), _REQUIRED),
            "seed": _SEED,
            "withdrawn": _WITHDRAWN,
        },
        _run_ranked("stv"),
        fixed={"method": "stv"},
        derived=frozenset({"quota", "arithmetic"}),
        summary="single transferable vote: Scottish STV (SSI 2007/42) or WIGM",
    ),
    MethodSpec(
        "meek",
        "ranked",
        {
            "seats": (_whole, _REQUIRED),
            "seed": _SEED,
            "precision": (_whole, 9),
            "omega": (_optional(_whole), None),
            "tie_order": (_optional(_names), None),
            "equal_rankings": (_choice("refuse", "equalize", "droop"), "refuse"),
            "arithmetic": (_choice("fixed64", "bigfixed"), "fixed64"),
            "positive_surplus": (_flag, False),
        },
        _run_ranked("meek"),
        summary="Meek STV (Algorithm 123, New Zealand rules)",
    ),
    MethodSpec(
        "constrained_stv",
        "ranked",
        {
            "seats": (_whole, _REQUIRED),
            "rule": (_choice("scottish", "wigm"), _REQUIRED),
            "categories": (_categories, _REQUIRED),
            "constraints": (_constraints, _REQUIRED),
            "seed": _SEED,
            "withdrawn": _WITHDRAWN,
        },
        _run_ranked("constrained"),
        fixed={"method": "constrained_stv"},
        derived=frozenset({"quota", "arithmetic", "enforcement", "descriptions"}),
        summary="STV with representation constraints (minimum shares, co-chairs, reserved seats)",
    ),
    MethodSpec(
        "schulze",
        "ranked",
        {
            "status_quo": (_optional(_text), None),
            "seed": _SEED,
            "settle_ties_by_lot": _LOT,
        },
        _run_ranked("schulze"),
        fixed={"method": "schulze", "strength": "winning_votes"},
        summary="Schulze, winning votes",
    ),
    MethodSpec(
        "plurality",
        "options",
        {"seats": _SEATS, "seed": _SEED, "settle_ties_by_lot": _LOT},
        _run_cardinal("plurality"),
        fixed={"method": "plurality"},
        summary="plurality (first preferences)",
    ),
    MethodSpec(
        "approval",
        "options",
        {"seats": _SEATS, "seed": _SEED, "settle_ties_by_lot": _LOT},
        _run_cardinal("approval"),
        fixed={"method": "approval"},
        summary="approval voting",
    ),
    MethodSpec(
        "score",
        "options",
        {
            "seats": _SEATS,
            "min_score": (_whole, 0),
            "max_score": (_whole, 10),
            "seed": _SEED,
            "settle_ties_by_lot": _LOT,
        },
        _run_cardinal("score"),
        fixed={"method": "score"},
        summary="score (range) voting",
    ),
    MethodSpec(
        "dot_vote",
        "options",
        {"dots": (_whole, _REQUIRED), "seats": _SEATS, "seed": _SEED, "settle_ties_by_lot": _LOT},
        _run_cardinal("dot_vote"),
        fixed={"method": "dot_vote"},
        summary="dot voting (cumulative)",
    ),
    MethodSpec(
        "greedy",
        "options",
        {"projects": (_costs, _REQUIRED), "budget": (_exact_or_whole, _REQUIRED)},
        _run_budget("greedy"),
        fixed={"method": "greedy"},
        summary="participatory budget, greedy by approvals",
    ),
    MethodSpec(
        "equal_shares",
        "options",
        {
            "projects": (_costs, _REQUIRED),
            "budget": (_exact_or_whole, _REQUIRED),
            "completion": (_choice("add1", "none"), "add1"),
            "increment": (_exact_or_whole, 1),
            "greedy_completion": (_flag, True),
        },
        _run_budget("equal_shares"),
        fixed={"method": "equal_shares", "utilities": "cost"},
        summary="participatory budget, Method of Equal Shares",
    ),
    MethodSpec(
        "motion",
        "motion",
        {
            "rule": (_motion_rule, _REQUIRED),
            "quorum": (_quorum, None),
            "abstention_treatment": (_choice("excluded", "counts_against"), "excluded"),
            "tie_rule": (_choice("fails", "revote", "casting_vote"), "fails"),
            "casting_vote": (_optional(_choice("yes", "no")), None),
        },
        _run_motion,
        summary="yes/no/abstain motion",
    ),
    MethodSpec(
        "consent",
        "consent",
        {
            "stand_aside_limit": (_stand_aside_limit, "default"),
            "objection_requires_reason": (_flag, True),
        },
        _run_consent("consent"),
        fixed={"variant": "consent"},
        summary="consent (no valid objection)",
    ),
    MethodSpec(
        "consensus",
        "consent",
        {
            "stand_aside_limit": (_stand_aside_limit, "default"),
            "objection_requires_reason": (_flag, True),
        },
        _run_consent("consensus"),
        fixed={"variant": "consensus"},
        summary="consensus (no block, limited stand-asides)",
    ),
]

METHODS: Mapping[str, MethodSpec] = {spec.name: spec for spec in _SPECS}
"""Every method by name."""

_ALIASES = {"instant_runoff": "irv", "budget_greedy": "greedy", "mes": "equal_shares"}


def get_method(name: str) -> MethodSpec:
    """The method called ``name`` (``-`` and ``_`` are the same), or a ``MethodError``."""
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in METHODS:
        raise MethodError(f"method: unknown method {name!r} (known: {', '.join(sorted(METHODS))})")
    return METHODS[key]


def count_by_name(method: str, profile_or_ballots: Any, **rule: Any) -> Result:
    """Count ballots with the named method and rule (the count function's keyword arguments).

    >>> from konsilo.counting.ballot_csv import read_scores
    >>> count_by_name("approval", read_scores("A,B\\n1,1\\n,1\\n")).winners
    ('B',)
    """
    spec = get_method(method)
    return spec.run(profile_or_ballots, spec.decode(rule))


def recount(
    method: str,
    rule: Mapping[str, Any],
    ballots_canonical: Mapping[str, Any],
    *,
    seed: str | None = None,
) -> Result:
    """Recount a recorded tally: the ``Result.method`` and ``Result.rule`` it recorded, the
    ballots in canonical form (as decoded from canonical JSON) and the published seed.
    """
    spec = get_method(method)
    if not isinstance(rule, Mapping):
        raise MethodError(f"rule: expected a mapping, got {rule!r}")
    if not isinstance(ballots_canonical, Mapping):
        raise MethodError(
            f"ballots: expected canonical data (a mapping), got {ballots_canonical!r}"
        )
    decoded = dict(rule)
    if seed is not None:
        if "seed" not in spec.params:
            raise MethodError(f"seed: {spec.name} draws no lots")
        decoded["seed"] = seed
    return spec.run(ballots_canonical, spec.decode(decoded))


def canonical_ballots(method: str, ballots: Any) -> dict[str, Any]:
    """The canonical form of ``ballots`` for ``method``, as the record stores it."""
    spec = get_method(method)
    if spec.kind == "ranked" or isinstance(ballots, RankedProfile):
        return _ranked(ballots, spec.name).to_canonical()
    if spec.kind == "options":
        options = _options(ballots, spec.name, from_ranked="all")
        return {
            "candidates": list(options.candidates),
            "ballots": [
                {"scores": dict(marks), "weight": weight} for marks, weight in options.items
            ],
        }
    if spec.kind == "motion":
        data = ballots.to_canonical() if hasattr(ballots, "to_canonical") else dict(ballots)
        return dict(data)
    return {"stances": [s.to_canonical() for s in ballots]}
