"""Agenda from below: who may put an item on a council's agenda, and who may take it off.

Rules (domain-rules §2.11, ``agenda``):

* a member's item reaches their council's agenda under ``agenda.member_item_right``:
  ``any_member``; ``seconded(k)``, when k other members second it (Indymedia: three
  supporters); or ``petition(fraction)``, when that fraction of the council's electorate
  signs (the proposer counts as a signer);
* a base's item reaches a higher council's agenda when the endorsing councils are at least
  ``agenda.base_to_higher_item_threshold_bases`` of the councils below it **or** represent
  at least ``agenda.base_to_higher_item_threshold_members`` of its represented members,
  whichever is reached first (1/5 each by default);
* with ``agenda.protected_items`` on, an item put by bases may be tabled or removed only by
  two thirds of the votes cast; other items by a simple majority. A tie never tables.

All comparisons are exact; reaching a threshold exactly admits the item.

>>> councils = {"mill": 300, "dock": 20, "farm": 900, "port": 700, "yard": 80, "rail": 500}
>>> base_item_admitted({"dock"}, represented=councils).admitted
False
>>> farm = base_item_admitted({"farm"}, represented=councils)
>>> farm.admitted, farm.have
(True, Fraction(9, 25))
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from konsilo.counting.motion import MotionBallots, supermajority
from konsilo.counting.motion import count as count_motion
from konsilo.counting.result import Result
from konsilo.governance._values import Choice
from konsilo.governance.errors import GovernanceError

__all__ = ["AgendaDecision", "base_item_admitted", "member_item_admitted", "table_item"]


def _n(value: Fraction) -> str:
    return (
        str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    )


@dataclass(frozen=True, slots=True)
class AgendaDecision:
    """Whether an item reaches the agenda, what it had and needed, and why in one sentence."""

    admitted: bool
    have: Fraction
    needed: Fraction
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "admitted": self.admitted,
            "have": self.have,
            "needed": self.needed,
            "explanation": self.explanation,
        }


def member_item_admitted(
    right: Choice | str, *, proposer: str, supporters: Collection[str], electorate: int
) -> AgendaDecision:
    """Whether a member's item reaches their council's agenda (``agenda.member_item_right``).

    ``supporters`` are the members who seconded or signed (the proposer, if listed, is not
    counted as a seconder; for a petition the proposer always counts as a signer).

    >>> member_item_admitted(Choice("seconded", (2,)), proposer="ana", supporters={"ben"},
    ...                      electorate=40).explanation
    '1 of 2 seconders needed: not admitted'
    """
    choice = right if isinstance(right, Choice) else Choice(str(right))
    others = set(supporters) - {proposer}
    if choice.name == "any_member":
        return AgendaDecision(
            True, Fraction(1), Fraction(1), "any member may put an item: admitted"
        )
    if choice.name == "seconded":
        k = Fraction(int(choice.args[0]))
        have = Fraction(len(others))
        ok = have >= k
        return AgendaDecision(
            ok,
            have,
            k,
            f"{_n(have)} of {_n(k)} seconders needed: {'admitted' if ok else 'not admitted'}",
        )
    if choice.name == "petition":
        if electorate < 1:
            raise GovernanceError("expected an electorate ≥ 1", field="electorate")
        fraction = Fraction(choice.args[0])
        signers = Fraction(len(others) + 1)
        needed = fraction * electorate
        ok = signers >= needed
        return AgendaDecision(
            ok,
            signers,
            needed,
            f"{_n(signers)} of {electorate} members signed, {_n(needed)} ({_n(fraction)}) "
            f"needed: {'admitted' if ok else 'not admitted'}",
        )
    raise GovernanceError(
        f"expected any_member, seconded(k) or petition(fraction), got {choice}",
        field="agenda.member_item_right",
        code="invalid_choice",
    )


def base_item_admitted(
    endorsing: Collection[str],
    *,
    represented: Mapping[str, int],
    threshold_bases: Fraction = Fraction(1, 5),
    threshold_members: Fraction = Fraction(1, 5),
) -> AgendaDecision:
    """Whether bases put an item on a higher council's agenda (§2.11).

    ``represented`` maps every council below the higher council whose endorsement counts to
    the members it represents (census). Admitted when the endorsing councils reach
    ``threshold_bases`` of them, or represent ``threshold_members`` of the members.
    ``have``/``needed`` report the share that decided (the councils' share when both fall
    short).
    """
    unknown = sorted(set(endorsing) - set(represented))
    if unknown:
        raise GovernanceError(
            f"endorsements from {', '.join(unknown)}, which are not councils below the higher "
            "council",
            field="endorsing",
            code="unknown_council",
        )
    if not represented:
        raise GovernanceError("expected at least one council below", field="represented")
    count = len(set(endorsing))
    share_bases = Fraction(count, len(represented))
    total = sum(represented.values())
    members = sum(represented[k] for k in set(endorsing))
    share_members = Fraction(members, total) if total else Fraction(0)
    by_bases = share_bases >= threshold_bases
    by_members = share_members >= threshold_members
    words_bases = f"{count} of {len(represented)} councils ({_n(share_bases)})"
    words_members = f"{members} of {total} represented members ({_n(share_members)})"
    if by_bases:
        text = f"{words_bases} endorse, at least {_n(threshold_bases)} of the councils: admitted"
        return AgendaDecision(True, share_bases, threshold_bases, text)
    if by_members:
        text = (
            f"{words_bases} endorse, representing {words_members}, at least "
            f"{_n(threshold_members)} of the members: admitted"
        )
        return AgendaDecision(True, share_members, threshold_members, text)
    text = (
        f"{words_bases} endorse, representing {words_members}; needed {_n(threshold_bases)} "
        f"of the councils or {_n(threshold_members)} of the members: not admitted"
    )
    return AgendaDecision(False, share_bases, threshold_bases, text)


def table_item(ballots: MotionBallots, *, from_bases: bool, protected_items: bool = True) -> Result:
    """Count a motion to table or remove an item: 2/3 of votes cast for an item put by bases
    under ``agenda.protected_items``, else a simple majority (a tie never tables).

    >>> table_item(MotionBallots(yes=60, no=40), from_bases=True).outcome
    'rejected'
    """
    rule = supermajority(Fraction(2, 3)) if from_bases and protected_items else "simple_majority"
    return count_motion(ballots, rule=rule)
