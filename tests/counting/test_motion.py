"""Motions: majorities, qualified majorities, unanimity, quorum and ties, in exact numbers."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting.motion import (
    MotionBallots,
    MotionError,
    Quorum,
    count,
    supermajority,
    supermajority_of_members,
)


def test_simple_majority_sentence_reads_as_the_chair_would_say_it() -> None:
    result = count(MotionBallots(yes=41, no=30, abstain=5), rule="simple_majority")
    assert result.outcome == "adopted"
    assert result.winners == ("yes",)
    assert result.summary == (
        "41 yes, 30 no, 5 abstentions; abstentions excluded; "
        "41 of 71 votes cast is more than half: adopted"
    )
    assert result.rounds[0].tallies == {"yes": 41, "no": 30, "abstain": 5}


def test_abstentions_counting_against_can_defeat_a_simple_majority() -> None:
    ballots = MotionBallots(yes=41, no=30, abstain=12)
    assert count(ballots, rule="simple_majority").outcome == "adopted"
    against = count(ballots, rule="simple_majority", abstention_treatment="counts_against")
    assert against.outcome == "rejected"
    assert against.rounds[0].threshold == 42


def test_a_tie_fails_by_default() -> None:
    result = count(MotionBallots(yes=20, no=20, abstain=3), rule="simple_majority")
    assert result.outcome == "rejected"
    assert "tied" in result.summary


def test_a_tie_under_revote_has_no_winner() -> None:
    result = count(MotionBallots(yes=20, no=20), rule="simple_majority", tie_rule="revote")
    assert result.outcome == "tie"
    assert result.winners == ()
    assert result.tied == frozenset({"yes", "no"})


@pytest.mark.parametrize(("vote", "outcome"), [("yes", "adopted"), ("no", "rejected")])
def test_the_chairs_casting_vote_settles_a_tie(vote: str, outcome: str) -> None:
    result = count(
        MotionBallots(yes=7, no=7),
        rule="simple_majority",
        tie_rule="casting_vote",
        casting_vote=vote,  # type: ignore[arg-type]
    )
    assert result.outcome == outcome
    assert f"casting vote is {vote}" in result.summary


def test_a_tie_needing_a_casting_vote_without_one_is_refused() -> None:
    with pytest.raises(MotionError, match="casting_vote"):
        count(MotionBallots(yes=7, no=7), rule="simple_majority", tie_rule="casting_vote")


def test_a_casting_vote_is_not_used_when_there_is_no_tie() -> None:
    result = count(
        MotionBallots(yes=8, no=7),
        rule="simple_majority",
        tie_rule="casting_vote",
        casting_vote="no",
    )
    assert result.outcome == "adopted"


def test_proportional_delegation_weights_are_counted_exactly() -> None:
    # Domain rules §3.6: 120 members, 2 seats, 70 yes / 40 no -> 14/11 yes, 8/11 no.
    ballots = MotionBallots(yes=Fraction(14, 11), no=Fraction(8, 11))
    result = count(ballots, rule="simple_majority")
    assert result.outcome == "adopted"
    assert result.rounds[0].tallies["yes"] == Fraction(14, 11)
    assert "14/11 yes, 8/11 no" in result.summary


def test_a_weighted_exact_tie_fails() -> None:
    ballots = MotionBallots(yes=Fraction(1, 3) + Fraction(2, 3), no=Fraction(5, 7) + Fraction(2, 7))
    assert count(ballots, rule="simple_majority").outcome == "rejected"


def test_absolute_majority_counts_against_all_members() -> None:
    ballots = MotionBallots(yes=40, no=10, abstain=5, eligible=100)
    assert count(ballots, rule="absolute_majority").outcome == "rejected"
    ballots = MotionBallots(yes=51, no=10, eligible=100)
    assert count(ballots, rule="absolute_majority").outcome == "adopted"


def test_absolute_majority_exactly_half_is_a_tie() -> None:
    ballots = MotionBallots(yes=50, no=10, eligible=100)
    assert count(ballots, rule="absolute_majority", tie_rule="revote").outcome == "tie"
    assert count(ballots, rule="absolute_majority").outcome == "rejected"


def test_absolute_majority_without_membership_is_refused() -> None:
    with pytest.raises(MotionError, match="eligible_weight"):
        count(MotionBallots(yes=5, no=1), rule="absolute_majority")


def test_two_thirds_is_reached_exactly_at_the_mark() -> None:
    rule = supermajority(Fraction(2, 3))
    assert count(MotionBallots(yes=20, no=10), rule=rule).outcome == "adopted"
    assert count(MotionBallots(yes=19, no=10), rule=rule).outcome == "rejected"


def test_abstentions_enter_votes_cast_of_a_supermajority_only_when_counted_against() -> None:
    rule = supermajority(Fraction(2, 3))
    ballots = MotionBallots(yes=20, no=10, abstain=1)
    assert count(ballots, rule=rule).outcome == "adopted"
    assert count(ballots, rule=rule, abstention_treatment="counts_against").outcome == "rejected"


def test_supermajority_of_members_uses_eligible_weight() -> None:
    rule = supermajority_of_members(Fraction(3, 4))
    assert count(MotionBallots(yes=70, no=0, eligible=100), rule=rule).outcome == "rejected"
    assert count(MotionBallots(yes=75, no=20, eligible=100), rule=rule).outcome == "adopted"


def test_a_supermajority_with_no_votes_cast_is_rejected() -> None:
    assert count(MotionBallots(yes=0, no=0, abstain=4), rule=supermajority(1)).outcome == (
        "rejected"
    )


def test_unanimity_tolerates_abstentions_only_when_they_are_excluded() -> None:
    ballots = MotionBallots(yes=9, no=0, abstain=1)
    assert count(ballots, rule="unanimity").outcome == "adopted"
    assert (
        count(ballots, rule="unanimity", abstention_treatment="counts_against").outcome
        == "rejected"
    )
    assert count(MotionBallots(yes=9, no=1), rule="unanimity").outcome == "rejected"
    assert count(MotionBallots(yes=0, no=0, abstain=3), rule="unanimity").outcome == "rejected"


def test_a_failed_quorum_is_never_a_decision() -> None:
    ballots = MotionBallots(yes=12, no=0, eligible=40)
    result = count(ballots, rule="simple_majority", quorum=Quorum(Fraction(1, 2)))
    assert result.outcome == "no_quorum"
    assert result.winners == ()
    assert "12 of 40 members took part" in result.summary
    assert "no decision" in result.summary


def test_a_members_quorum_counts_abstainers_as_present() -> None:
    ballots = MotionBallots(yes=12, no=3, abstain=5, eligible=40)
    result = count(ballots, rule="simple_majority", quorum=Quorum(Fraction(1, 2)))
    assert result.outcome == "adopted"
    strict = count(ballots, rule="simple_majority", quorum=Quorum(Fraction(1, 2), strict=True))
    assert strict.outcome == "no_quorum"


def test_a_votes_cast_quorum_leaves_abstentions_out() -> None:
    ballots = MotionBallots(yes=12, no=3, abstain=5, eligible=40)
    quorum = Quorum(Fraction(1, 2), basis="votes_cast")
    assert count(ballots, rule="simple_majority", quorum=quorum).outcome == "no_quorum"


def test_a_weight_quorum_uses_represented_weight() -> None:
    ballots = MotionBallots(yes=Fraction(14, 11), no=Fraction(8, 11), eligible_weight=5)
    quorum = Quorum(Fraction(1, 2), basis="weight")
    assert count(ballots, rule="simple_majority", quorum=quorum).outcome == "no_quorum"
    ballots = MotionBallots(yes=Fraction(14, 11), no=Fraction(19, 11), eligible_weight=6)
    assert count(ballots, rule="simple_majority", quorum=quorum).outcome == "rejected"


def test_a_members_quorum_over_fractional_weights_needs_a_head_count() -> None:
    ballots = MotionBallots(yes=Fraction(1, 2), no=0, eligible=3)
    with pytest.raises(MotionError, match="participants"):
        count(ballots, rule="simple_majority", quorum=Quorum(Fraction(1, 2)))
    ballots = MotionBallots(yes=Fraction(1, 2), no=0, eligible=3, participants=2)
    assert count(ballots, rule="simple_majority", quorum=Quorum(Fraction(1, 2))).outcome == (
        "adopted"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"yes": -1, "no": 0}, "yes"),
        ({"yes": 1.5, "no": 0}, "yes"),
        ({"yes": 5, "no": 5, "eligible": 3}, "eligible_weight"),
        ({"yes": 1, "no": 1, "eligible": 3, "participants": 4}, "participants"),
    ],
)
def test_bad_ballots_are_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(MotionError, match=field):
        MotionBallots(**kwargs)  # type: ignore[arg-type]


def test_bad_rules_are_refused_naming_the_field() -> None:
    with pytest.raises(MotionError, match="rule"):
        count(MotionBallots(yes=1, no=0), rule="plurality")
    with pytest.raises(MotionError, match="rule"):
        count(MotionBallots(yes=1, no=0), rule="supermajority")
    with pytest.raises(MotionError, match="fraction"):
        supermajority(Fraction(3, 2))
    with pytest.raises(MotionError, match="tie_rule"):
        count(MotionBallots(yes=1, no=0), rule="simple_majority", tie_rule="coin")  # type: ignore[arg-type]


weights = st.fractions(min_value=0, max_value=1000, max_denominator=12)
rules = st.sampled_from(
    ["simple_majority", "absolute_majority", "unanimity", supermajority(Fraction(2, 3))]
)


@given(weights, weights, weights, rules, st.sampled_from(["excluded", "counts_against"]))
def test_every_result_round_trips_through_canonical_json(
    yes: Fraction, no: Fraction, abstain: Fraction, rule: object, treatment: str
) -> None:
    ballots = MotionBallots(yes=yes, no=no, abstain=abstain, eligible_weight=yes + no + abstain + 1)
    result = count(ballots, rule=rule, abstention_treatment=treatment)  # type: ignore[arg-type]
    decoded = canonical.loads(result.to_json())
    assert decoded == canonical.to_jsonable(result)
    assert Fraction(decoded["rounds"][0]["tallies"]["yes"]) == yes
    assert result.outcome in {"adopted", "rejected"}


@given(weights, weights)
def test_swapping_yes_and_no_never_adopts_both(yes: Fraction, no: Fraction) -> None:
    forward = count(MotionBallots(yes=yes, no=no), rule="simple_majority")
    backward = count(MotionBallots(yes=no, no=yes), rule="simple_majority")
    assert not (forward.outcome == "adopted" and backward.outcome == "adopted")
    assert (forward.outcome == backward.outcome == "rejected") == (yes == no)
