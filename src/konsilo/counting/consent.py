"""Consent and consensus: a proposal passes when no valid objection (or block) remains.

Each participant states one stance: ``consent``, ``consent_with_concern``, ``stand_aside``,
``object`` or, in the ``consensus`` variant only, ``block``. An objection or a block must give
its reason (domain rules §2.10, ``objection_requires_reason``). Whether an objection is valid
("paramount and well-founded") may be judged, and the judgement is recorded with who judged
and why; an objection nobody has judged counts as valid, so a proposal is never adopted by
leaving an objection unexamined.

The rule: the proposal is adopted when no valid objection and no valid block remains and the
share of stand-asides among the stances does not exceed ``stand_aside_limit``. Stand-asides
above the limit show weak support: the proposal fails. Otherwise the outcome is
``"objected"`` (valid objections remain: integrate them and consent again) or ``"blocked"``
(a valid block in the consensus variant).

There are no ties and no weights (§3.3, §3.21): consent is not weight-aggregable, so one valid
objection stops the proposal whatever the size of the council or base that raised it.
Stances carry no weight for this reason; a council that wants size to matter must choose a
vote as its fallback instead.

Source: Sociocracy For All / S3 (consent: "no paramount objection"); the Sociocratic
Circle-organization Method; consensus practice with stand-asides and blocks (Seeds for
Change); konsilo domain rules §§2.10, 3.3, 3.21.

>>> r = count([Stance("Ana", "consent"), Stance("Bea", "object", reason="no budget line")])
>>> r.outcome, r.details["unresolved_objections"][0]["member"]
('objected', 'Bea')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from konsilo.counting.result import Result, Round

__all__ = ["ConsentError", "Judgement", "Stance", "count"]

STANCES = ("consent", "consent_with_concern", "stand_aside", "object", "block")
_OPPOSING = ("object", "block")

Variant = Literal["consent", "consensus"]


class ConsentError(ValueError):
    """A stance or judgement is malformed; the message names the member and the field."""


def _n(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


@dataclass(frozen=True, slots=True)
class Judgement:
    """A ruling on whether an objection is valid, by whom (facilitator, circle) and why."""

    valid: bool
    judged_by: str
    reason: str

    def __post_init__(self) -> None:
        if not self.judged_by.strip():
            raise ConsentError("judgement.judged_by: expected who judged, got an empty name")
        if not self.reason.strip():
            raise ConsentError("judgement.reason: expected the reasons of the ruling, got none")

    def to_canonical(self) -> dict[str, Any]:
        return {"valid": self.valid, "judged_by": self.judged_by, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Stance:
    """One participant's stance on a proposal, with the reason and any validity ruling."""

    member: str
    stance: str
    reason: str = ""
    judgement: Judgement | None = None

    def __post_init__(self) -> None:
        if self.stance not in STANCES:
            raise ConsentError(
                f"{self.member}: stance expected one of {', '.join(STANCES)}, got {self.stance!r}"
            )
        if self.judgement is not None and self.stance not in _OPPOSING:
            raise ConsentError(
                f"{self.member}: judgement given for a {self.stance} stance; only objections "
                "and blocks are judged"
            )

    @property
    def is_valid_opposition(self) -> bool:
        """An objection or block that stands: valid, or not yet judged."""
        return self.stance in _OPPOSING and (self.judgement is None or self.judgement.valid)

    def to_canonical(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "stance": self.stance,
            "reason": self.reason,
            "judgement": self.judgement,
        }


def count(
    stances: Iterable[Stance],
    *,
    variant: Variant = "consent",
    stand_aside_limit: Fraction | int | Literal["default"] | None = "default",
    objection_requires_reason: bool = True,
) -> Result:
    """Decide a proposal by consent or consensus; see the module docstring for the rule.

    ``stand_aside_limit`` is the largest share of stand-asides among all stances that still
    lets the proposal pass; ``"default"`` means none for consent and 1/3 for consensus
    (domain rules §2.10). ``details["unresolved_objections"]`` lists the objections and blocks
    that stand, with their reasons; ``details["overruled"]`` those judged invalid, with the
    judgement. Outcomes: ``adopted``, ``objected``, ``blocked``, ``rejected`` (too many
    stand-asides).

    >>> r = count([Stance("Ana", "consent"), Stance("Bea", "stand_aside")], variant="consensus")
    >>> r.outcome, r.rounds[0].threshold
    ('rejected', Fraction(1, 3))
    """
    if variant not in ("consent", "consensus"):
        raise ConsentError(f"variant: expected consent or consensus, got {variant!r}")
    limit: Fraction | None
    if stand_aside_limit == "default":
        limit = Fraction(1, 3) if variant == "consensus" else None
    elif stand_aside_limit is None:
        limit = None
    else:
        limit = Fraction(stand_aside_limit)
        if not 0 <= limit <= 1:
            raise ConsentError(f"stand_aside_limit: expected a fraction in [0, 1], got {limit}")

    listed = sorted(stances, key=lambda s: s.member)
    seen: set[str] = set()
    for stance in listed:
        if stance.member in seen:
            raise ConsentError(f"{stance.member}: states more than one stance")
        seen.add(stance.member)
        if stance.stance == "block" and variant != "consensus":
            raise ConsentError(
                f"{stance.member}: stance 'block' exists only in the consensus variant"
            )
        if objection_requires_reason and stance.stance in _OPPOSING and not stance.reason.strip():
            raise ConsentError(
                f"{stance.member}: "
                f"{'an objection' if stance.stance == 'object' else 'a block'} needs a reason, "
                "but none was given"
            )

    tallies = {name: Fraction(sum(1 for s in listed if s.stance == name)) for name in STANCES}
    if variant == "consent":
        del tallies["block"]
    total = len(listed)
    unresolved = [s for s in listed if s.is_valid_opposition]
    overruled = [s for s in listed if s.stance in _OPPOSING and not s.is_valid_opposition]
    blocks = [s for s in unresolved if s.stance == "block"]
    objections = [s for s in unresolved if s.stance == "object"]
    stand_asides = tallies["stand_aside"]
    share = stand_asides / total if total else Fraction(0)

    parts = [
        f"{_n(tallies[name])} {name.replace('_', ' ')}"
        for name in tallies
        if tallies[name] or name in ("consent", "object")
    ]
    opening = ", ".join(parts)
    if overruled:
        opening += f"; {len(overruled)} objection(s) judged invalid"
    if not listed:
        outcome, why = "rejected", "nobody stated a stance"
    elif blocks:
        outcome = "blocked"
        why = f"{len(blocks)} block(s) stand ({', '.join(s.member for s in blocks)})"
    elif objections:
        outcome = "objected"
        why = (
            f"{len(objections)} valid objection(s) remain "
            f"({', '.join(s.member for s in objections)}); consent needs none"
        )
    elif limit is not None and share > limit:
        outcome = "rejected"
        why = f"{_n(stand_asides)} of {total} stand aside, more than the limit of {_n(limit)}"
    else:
        outcome = "adopted"
        why = "no valid objection remains"
    sentence = f"{opening}; {why}: {outcome}"
    return Result(
        method=variant,
        rule={
            "variant": variant,
            "stand_aside_limit": limit,
            "objection_requires_reason": objection_requires_reason,
        },
        winners=("yes",) if outcome == "adopted" else (),
        rounds=(
            Round(
                number=1,
                tallies=tallies,
                explanation=sentence,
                threshold=limit,
                extra={"stand_aside_share": share, "stances": listed},
            ),
        ),
        outcome=outcome,
        summary=sentence,
        details={
            "unresolved_objections": [
                {"member": s.member, "stance": s.stance, "reason": s.reason} for s in unresolved
            ],
            "overruled": [
                {
                    "member": s.member,
                    "stance": s.stance,
                    "reason": s.reason,
                    "judgement": s.judgement,
                }
                for s in overruled
            ],
        },
    )
