"""Minority reports that travel up with the mandate, and the disclosure floor for small votes.

Minority reports (domain-rules §2.13, glossary "Minority report"): a member who did not
prevail (voted against the outcome, abstained, objected or stood aside) may file one; others
who did not prevail may co-sign. It needs ``minority.minority_report_min_signatories``
signatories in all, is attached to the decision forever, and, with
``minority.minority_report_travels_up``, goes with the delegation's mandate to the higher
council and on up the chain, shown beside the item there. It is informational: the higher
council receives it without a vote and can adopt it only by a motion to substitute
(Robert's Rules on minority views).

On a secret ballot nobody can check what a member voted, so eligibility is the member's own
declaration (``declared``) and the report says so.

Disclosure floor (§3.16, ``secrecy.small_n_disclosure_floor``): a secret ballot with fewer
voters than the floor publishes only its outcome, never the tallies (3–0 in a base of three
reveals every vote). Proportional mandate weights reveal votes the same way, so a mandate
from such a base is shown without its split. The exact numbers still reach the tally engine.

>>> report = file_report(decision="d1", item="i1", council="mill", text_hash="ab" * 32,
...                      filer="ana", ballot={"choice": "no"}, outcome="adopted")
>>> cosign(report, member="ben", ballot={"choice": "abstain"}, outcome="adopted").signatories
('ana', 'ben')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from konsilo.counting.result import Result
from konsilo.governance.errors import GovernanceError
from konsilo.governance.mandates import Ballot, Mandate, delegation_key

__all__ = [
    "Disclosure",
    "MinorityError",
    "MinorityReport",
    "carry_reports",
    "cosign",
    "disclose",
    "disclose_mandate",
    "file_report",
    "is_filed",
    "may_file",
]


class MinorityError(GovernanceError):
    """A minority report cannot be filed or co-signed as asked."""


_ADOPTED = ("adopted", "elected", "status_quo")


def may_file(
    ballot: Ballot | None,
    *,
    outcome: str,
    winners: Sequence[str] = (),
    declared: bool = False,
) -> bool:
    """Whether a member who cast ``ballot`` did not prevail and so may file or co-sign.

    Motions: after ``adopted``, those who voted no or abstained; after ``rejected``, those
    who voted yes or abstained. Consent: after ``adopted``, those who objected, blocked or
    stood aside; after any other outcome, those who consented. Plurality, approval and
    ranked items: those whose choice, approvals or first preference include no winner, and
    blank ballots. Without a decision (``no_quorum``, ``tie``) nobody prevailed and nobody
    files. ``ballot=None`` with ``declared=True`` is a secret voter's own declaration.

    >>> [may_file({"choice": c}, outcome="adopted") for c in ("yes", "no", "abstain")]
    [False, True, True]
    """
    if outcome in ("no_quorum", "tie"):
        return False
    if ballot is None:
        return declared
    if "stance" in ballot:
        stance = ballot["stance"]
        if outcome == "adopted":
            return stance in ("object", "block", "stand_aside")
        return stance in ("consent", "consent_with_concern", "stand_aside")
    if "choice" in ballot and ballot["choice"] in ("yes", "no", "abstain"):
        prevailing = "yes" if outcome == "adopted" else "no"
        return bool(ballot["choice"] != prevailing)
    chosen: set[str]
    if "choice" in ballot:
        chosen = {str(ballot["choice"])} if ballot["choice"] is not None else set()
    elif "approve" in ballot:
        chosen = {str(c) for c in ballot["approve"]}
    elif "ranking" in ballot:
        chosen = {str(c) for c in ballot["ranking"][0]} if ballot["ranking"] else set()
    else:
        chosen = set()
    return not (chosen & set(winners))


@dataclass(frozen=True, slots=True)
class MinorityReport:
    """A minority report on one decision: who signed it and the hash of its text."""

    decision: str
    item: str
    council: str
    text_hash: str
    signatories: tuple[str, ...]
    self_declared: tuple[str, ...] = ()

    @property
    def filer(self) -> str:
        return self.signatories[0]

    def to_canonical(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "item": self.item,
            "council": self.council,
            "text_hash": self.text_hash,
            "signatories": list(self.signatories),
            "self_declared": list(self.self_declared),
        }


def _check_may(
    member: str, ballot: Ballot | None, outcome: str, winners: Sequence[str], declared: bool
) -> None:
    if not may_file(ballot, outcome=outcome, winners=winners, declared=declared):
        what = "declared" if ballot is None else f"cast {ballot!r}"
        raise MinorityError(
            f"{member} {what} and prevailed (outcome {outcome}); only members who voted "
            "against, abstained, objected or stood aside may sign a minority report",
            field="member",
            code="not_in_minority",
        )


def file_report(
    *,
    decision: str,
    item: str,
    council: str,
    text_hash: str,
    filer: str,
    ballot: Ballot | None,
    outcome: str,
    winners: Sequence[str] = (),
    declared: bool = False,
    enabled: bool = True,
) -> MinorityReport:
    """File a minority report (``minority.minority_report`` must be on); see :func:`may_file`.

    ``text_hash`` is the SHA-256 (hex) of the report's text, stored as a long text.
    """
    if not enabled:
        raise MinorityError(
            "minority reports are off in this council's policy",
            field="minority.minority_report",
            code="disabled",
        )
    if len(text_hash) != 64 or any(c not in "0123456789abcdef" for c in text_hash):
        raise MinorityError(
            f"expected the SHA-256 hex of the text, got {text_hash!r}", field="text_hash"
        )
    _check_may(filer, ballot, outcome, winners, declared)
    return MinorityReport(
        decision, item, council, text_hash, (filer,), (filer,) if ballot is None else ()
    )


def cosign(
    report: MinorityReport,
    *,
    member: str,
    ballot: Ballot | None,
    outcome: str,
    winners: Sequence[str] = (),
    declared: bool = False,
) -> MinorityReport:
    """Add a co-signatory who also did not prevail; each member signs once."""
    if member in report.signatories:
        raise MinorityError(
            f"{member} has already signed this report", field="member", code="duplicate"
        )
    _check_may(member, ballot, outcome, winners, declared)
    return replace(
        report,
        signatories=(*report.signatories, member),
        self_declared=(*report.self_declared, member) if ballot is None else report.self_declared,
    )


def is_filed(report: MinorityReport, *, min_signatories: int = 1) -> bool:
    """Whether a report has the signatories ``minority.minority_report_min_signatories`` asks."""
    return len(report.signatories) >= min_signatories


def carry_reports(
    reports: Iterable[MinorityReport],
    *,
    parent_of: Mapping[str, str],
    top: str,
    travels_up: bool = True,
    min_signatories: int = 1,
) -> dict[str, tuple[MinorityReport, ...]]:
    """The minority reports each delegation carries for one item, up to ``top``.

    ``parent_of`` maps each council below ``top`` to the council its delegation sits in for
    the item. A report filed in council c travels with c's delegation and, from there, with
    every delegation above it up the chain (``minority.minority_report_travels_up``); with
    travelling off it stays with its own decision. Reports without enough signatories do not
    travel.

    >>> r = MinorityReport("d", "i", "mill", "0" * 64, ("ana",))
    >>> sorted(carry_reports([r], parent_of={"mill": "north", "north": "congress"},
    ...                      top="congress"))
    ['mill->north', 'north->congress']
    """
    carried: dict[str, list[MinorityReport]] = {}
    if not travels_up:
        return {}
    for report in sorted(reports, key=lambda r: (r.council, r.decision, r.text_hash)):
        if not is_filed(report, min_signatories=min_signatories):
            continue
        council = report.council
        seen: set[str] = set()
        while council != top:
            if council in seen or council not in parent_of:
                raise MinorityError(
                    f"council {council!r} has no path to {top!r}", field="parent_of"
                )
            seen.add(council)
            parent = parent_of[council]
            carried.setdefault(delegation_key(council, parent), []).append(report)
            council = parent
    return {k: tuple(v) for k, v in sorted(carried.items())}


# -- the disclosure floor -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What may be published of a result: everything, or the outcome only (§3.16)."""

    outcome: str
    winners: tuple[str, ...]
    tallies: Mapping[str, Fraction] | None
    outcome_only: bool
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "winners": list(self.winners),
            "tallies": dict(self.tallies) if self.tallies is not None else None,
            "outcome_only": self.outcome_only,
            "explanation": self.explanation,
        }


def disclose(result: Result, *, voters: int, secret: bool, floor: int = 5) -> Disclosure:
    """The publishable form of a result under ``secrecy.small_n_disclosure_floor``.

    A secret ballot with fewer than ``floor`` voters shows only its outcome; open ballots and
    larger electorates show every tally of the last round. The full result still goes to the
    record's tally engine; this is what pages and the API display.

    >>> from konsilo.counting.motion import MotionBallots, count
    >>> d = disclose(count(MotionBallots(yes=3, no=0), rule="simple_majority"), voters=3,
    ...              secret=True)
    >>> d.outcome, d.tallies, d.outcome_only
    ('adopted', None, True)
    """
    if voters < floor and secret:
        return Disclosure(
            result.outcome,
            result.winners,
            None,
            True,
            f"{result.outcome}; {voters} voters on a secret ballot is below the disclosure "
            f"floor of {floor}, so only the outcome is shown.",
        )
    tallies = dict(result.rounds[-1].tallies) if result.rounds else {}
    return Disclosure(result.outcome, result.winners, tallies, False, result.summary)


def disclose_mandate(
    mandate: Mandate, *, voters: int, secret: bool, floor: int = 5
) -> dict[str, Any]:
    """A mandate as displayed: without its split and base tally under the floor (§3.16).

    Proportional weights reveal a small base's votes as a tally would, so a mandate whose
    base voted secretly with fewer than ``floor`` voters is shown with its status and
    weight only.
    """
    data = mandate.to_canonical()
    if not (secret and voters < floor):
        return data
    for key in ("votes", "tally", "rounding_loss"):
        data[key] = None
    data["explanation"] = (
        f"{mandate.base}'s delegation carries {mandate.weight} on {mandate.content_hash} "
        f"({mandate.status}); its base voted secretly with {voters} voters, below the "
        f"disclosure floor of {floor}, so the split is not shown."
    )
    data["outcome_only"] = True
    return data
