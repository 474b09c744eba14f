"""Tests for konsilo.governance.minority: minority reports and the disclosure floor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from konsilo.counting.motion import MotionBallots
from konsilo.counting.motion import count as count_motion
from konsilo.governance.mandates import BaseVote, MandatePolicy, derive_mandate
from konsilo.governance.minority import (
    MinorityError,
    MinorityReport,
    carry_reports,
    cosign,
    disclose,
    disclose_mandate,
    file_report,
    is_filed,
    may_file,
)

HASH = "ab" * 32


@pytest.mark.parametrize(
    ("ballot", "outcome", "winners", "allowed"),
    [
        ({"choice": "no"}, "adopted", (), True),
        ({"choice": "abstain"}, "adopted", (), True),
        ({"choice": "yes"}, "adopted", (), False),
        ({"choice": "yes"}, "rejected", (), True),
        ({"choice": "no"}, "rejected", (), False),
        ({"stance": "object", "reason": "x"}, "adopted", (), True),
        ({"stance": "stand_aside"}, "adopted", (), True),
        ({"stance": "consent"}, "adopted", (), False),
        ({"stance": "consent"}, "objected", (), True),
        ({"choice": "B"}, "elected", ("A",), True),
        ({"choice": "A"}, "elected", ("A",), False),
        ({"ranking": [["B"], ["A"]]}, "elected", ("A",), True),
        ({"approve": ["A", "C"]}, "elected", ("A",), False),
        ({"choice": "no"}, "no_quorum", (), False),
    ],
)
def test_who_may_file_voted_against_abstained_or_objected(
    ballot: dict[str, object], outcome: str, winners: tuple[str, ...], allowed: bool
) -> None:
    assert may_file(ballot, outcome=outcome, winners=winners) is allowed


def test_minority_report_is_filed_and_cosigned_by_members_who_did_not_prevail() -> None:
    report = file_report(
        decision="d1",
        item="i1",
        council="mill",
        text_hash=HASH,
        filer="ana",
        ballot={"choice": "no"},
        outcome="adopted",
    )
    report = cosign(report, member="ben", ballot={"choice": "abstain"}, outcome="adopted")
    assert report.signatories == ("ana", "ben")
    with pytest.raises(MinorityError) as err:
        cosign(report, member="cem", ballot={"choice": "yes"}, outcome="adopted")
    assert err.value.code == "not_in_minority"
    with pytest.raises(MinorityError):
        cosign(report, member="ben", ballot={"choice": "no"}, outcome="adopted")
    assert is_filed(report, min_signatories=2)
    assert not is_filed(report, min_signatories=3)


def test_secret_ballot_voters_file_by_their_own_declaration() -> None:
    report = file_report(
        decision="d1",
        item="i1",
        council="mill",
        text_hash=HASH,
        filer="ana",
        ballot=None,
        outcome="adopted",
        declared=True,
    )
    assert report.self_declared == ("ana",)
    with pytest.raises(MinorityError):
        file_report(
            decision="d1",
            item="i1",
            council="mill",
            text_hash=HASH,
            filer="ben",
            ballot=None,
            outcome="adopted",
        )


def test_minority_reports_can_be_switched_off_and_need_a_text_hash() -> None:
    with pytest.raises(MinorityError) as off:
        file_report(
            decision="d",
            item="i",
            council="mill",
            text_hash=HASH,
            filer="ana",
            ballot={"choice": "no"},
            outcome="adopted",
            enabled=False,
        )
    assert off.value.field == "minority.minority_report"
    with pytest.raises(MinorityError):
        file_report(
            decision="d",
            item="i",
            council="mill",
            text_hash="not-a-hash",
            filer="ana",
            ballot={"choice": "no"},
            outcome="adopted",
        )


def test_minority_report_travels_up_with_the_mandate_along_the_chain() -> None:
    parent_of = {"mill": "harbour", "dock": "harbour", "harbour": "north", "north": "congress"}
    mill = MinorityReport("d-mill", "i", "mill", HASH, ("ana",))
    harbour = MinorityReport("d-harbour", "i", "harbour", "cd" * 32, ("eve", "fay"))
    carried = carry_reports([mill, harbour], parent_of=parent_of, top="congress")
    assert carried["mill->harbour"] == (mill,)
    assert "dock->harbour" not in carried
    assert carried["harbour->north"] == (harbour, mill)
    assert carried["north->congress"] == (harbour, mill)
    assert carry_reports([mill], parent_of=parent_of, top="congress", travels_up=False) == {}
    short = carry_reports([mill, harbour], parent_of=parent_of, top="congress", min_signatories=2)
    assert short["north->congress"] == (harbour,)


def test_secret_result_under_the_disclosure_floor_shows_only_the_outcome() -> None:
    result = count_motion(MotionBallots(yes=3, no=0), rule="simple_majority")
    hidden = disclose(result, voters=3, secret=True, floor=5)
    assert (hidden.outcome, hidden.tallies, hidden.outcome_only) == ("adopted", None, True)
    assert "below the disclosure floor of 5" in hidden.explanation
    shown = disclose(result, voters=3, secret=False, floor=5)
    assert shown.tallies == {"yes": 3, "no": 0, "abstain": 0}
    assert disclose(result, voters=5, secret=True, floor=5).tallies is not None


def test_proportional_mandate_of_a_small_secret_base_hides_its_split() -> None:
    vote = BaseVote.motion(
        "mill",
        item="i",
        content_hash="h",
        yes=2,
        no=1,
        eligible=3,
        closed_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    mandate = derive_mandate(
        vote,
        delegation="mill->north",
        content_hash="h",
        weight=3,
        policy=MandatePolicy(mode="bound_proportional"),
    )
    shown = disclose_mandate(mandate, voters=3, secret=True, floor=5)
    assert shown["votes"] is None
    assert shown["tally"] is None
    assert shown["outcome_only"] is True
    assert (
        disclose_mandate(mandate, voters=3, secret=False)["votes"]
        == mandate.to_canonical()["votes"]
    )
