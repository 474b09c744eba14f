"""The one result type of every counting method: winners, rounds, draws, in exact numbers.

A result is immutable and canonical: the same profile, rule and seed always give the same
``to_json()`` bytes, which is what the record stores and what ``konsilo verify`` recomputes.
Each round carries a plain sentence a member can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo import canonical

__all__ = ["Draw", "Result", "Round"]


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Draw:
    """One drawing of lots: which tied options were in it and which was chosen.

    ``counter`` is the position of this draw in the result's sequence of draws from the
    seeded generator, so a verifier can repeat it from the published seed.
    """

    among: tuple[str, ...]
    chosen: str
    counter: int
    reason: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "among": list(self.among),
            "chosen": self.chosen,
            "counter": self.counter,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Round:
    """One round (or stage) of a count, with exact tallies.

    ``tallies`` maps each option (candidate, "yes", "no", ...) still in the count to its exact
    vote. ``threshold`` is the quota or the votes needed to win, where the rule has one.
    ``transfers`` maps an option to the exact weight that moved to it in this round.
    ``extra`` holds what only some rules have (Meek keep factors, budgets, beat paths).
    """

    number: int
    tallies: Mapping[str, Fraction]
    explanation: str
    threshold: Fraction | None = None
    elected: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    transfers: Mapping[str, Fraction] = field(default_factory=dict)
    exhausted: Fraction = Fraction(0)
    draws: tuple[Draw, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tallies", _frozen(self.tallies))
        object.__setattr__(self, "transfers", _frozen(self.transfers))
        object.__setattr__(self, "extra", _frozen(self.extra))

    def to_canonical(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "tallies": dict(self.tallies),
            "explanation": self.explanation,
            "threshold": self.threshold,
            "elected": list(self.elected),
            "excluded": list(self.excluded),
            "transfers": dict(self.transfers),
            "exhausted": self.exhausted,
            "draws": list(self.draws),
            "extra": dict(self.extra),
        }


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one count.

    ``winners`` lists the elected or adopted options in the order the rule chose them.
    ``tied`` is non-empty only when the rule ends in a tie it does not settle itself (for
    example a motion tie under ``tie_rule="revote"``); then ``winners`` holds only the options
    that won outright. ``outcome`` is a short machine word for decisions ("adopted",
    "rejected", "no_quorum", "tie", "elected"), and ``summary`` one sentence for people.
    """

    method: str
    rule: Mapping[str, Any]
    winners: tuple[str, ...]
    rounds: tuple[Round, ...]
    outcome: str
    summary: str
    tied: frozenset[str] = frozenset()
    seed: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule", _frozen(self.rule))
        object.__setattr__(self, "details", _frozen(self.details))

    @property
    def draws(self) -> tuple[Draw, ...]:
        """Every drawing of lots in the count, in order."""
        return tuple(d for r in self.rounds for d in r.draws)

    def to_canonical(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "rule": dict(self.rule),
            "winners": list(self.winners),
            "tied": sorted(self.tied),
            "outcome": self.outcome,
            "summary": self.summary,
            "seed": self.seed,
            "rounds": list(self.rounds),
            "details": dict(self.details),
        }

    def to_json(self) -> bytes:
        """The canonical JSON bytes of this result, as stored in the record."""
        return canonical.dumps(self)

    def explain(self) -> str:
        """Every round's sentence, then the summary: what a member reads."""
        lines = [r.explanation for r in self.rounds]
        lines.append(self.summary)
        return "\n".join(lines)
