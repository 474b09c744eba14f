"""Plurality, approval, score and dot voting: exact tallies, set-valued ties, seeded lots."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting.cardinal import BallotError, approval, dot_vote, plurality, score
from konsilo.counting.tiebreak import Lot

CITIES = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]


def test_plurality_elects_memphis_in_the_tennessee_example() -> None:
    # The "Tennessee example" (electowiki, Wikipedia): first preferences 42/26/15/17.
    ballots = ["Memphis", "Nashville", "Chattanooga", "Knoxville"]
    result = plurality(ballots, candidates=CITIES, weights=[42, 26, 15, 17])
    assert result.winners == ("Memphis",)
    assert result.outcome == "elected"
    assert result.rounds[0].tallies == {
        "Memphis": 42,
        "Nashville": 26,
        "Chattanooga": 15,
        "Knoxville": 17,
    }


def test_approval_in_the_tennessee_example_with_top_two_approvals_elects_nashville() -> None:
    # Each group approves its top two cities: Memphis 42, Nashville 42+26 = 68,
    # Chattanooga 26+15+17 = 58, Knoxville 15+17 = 32.
    ballots = [
        {"Memphis", "Nashville"},
        {"Nashville", "Chattanooga"},
        {"Chattanooga", "Knoxville"},
        {"Knoxville", "Chattanooga"},
    ]
    result = approval(ballots, candidates=CITIES, weights=[42, 26, 15, 17])
    assert result.winners == ("Nashville",)
    assert result.rounds[0].tallies["Nashville"] == 68
    assert result.rounds[0].tallies["Chattanooga"] == 58


def test_approval_elects_the_top_k_for_several_seats() -> None:
    ballots = [{"A", "B"}, {"A", "C"}, {"A"}, {"B"}, {"D"}]
    result = approval(ballots, candidates=["A", "B", "C", "D"], seats=2)
    assert result.winners == ("A", "B")


def test_a_tie_for_the_last_seat_is_set_valued() -> None:
    ballots = [{"A", "B"}, {"A", "C"}, {"A"}, {"B"}, {"C"}]
    result = approval(ballots, candidates=["A", "B", "C"], seats=2)
    assert result.outcome == "tie"
    assert result.winners == ("A",)
    assert result.tied == frozenset({"B", "C"})
    assert result.draws == ()


def test_a_tie_settled_by_lot_records_the_draw_and_repeats_from_the_seed() -> None:
    ballots = [{"A", "B"}, {"A", "C"}, {"A"}, {"B"}, {"C"}]
    result = approval(
        ballots, candidates=["A", "B", "C"], seats=2, seed="s-42", settle_ties_by_lot=True
    )
    assert result.outcome == "elected"
    (draw,) = result.draws
    assert draw.among == ("B", "C")
    assert draw.chosen == Lot("s-42").draw(["B", "C"], reason="").chosen
    assert result.winners == ("A", draw.chosen)
    assert result.seed == "s-42"


def test_settling_by_lot_without_a_seed_is_refused() -> None:
    with pytest.raises(BallotError, match="seed"):
        plurality(["A"], candidates=["A", "B"], settle_ties_by_lot=True)


def test_a_seed_alone_does_not_settle_a_tie() -> None:
    result = plurality(["A", "B"], candidates=["A", "B"], seed="s")
    assert result.outcome == "tie"


def test_plurality_counts_blank_ballots_apart() -> None:
    result = plurality(["A", None, None], candidates=["A", "B"])
    assert result.rounds[0].exhausted == 2
    assert result.winners == ("A",)


def test_score_sums_exact_scores_and_unscored_options_get_the_minimum() -> None:
    ballots = [{"A": 5, "B": 3}, {"B": 5}, {"A": Fraction(9, 2), "C": 1}]
    result = score(ballots, candidates=["A", "B", "C"], min_score=0, max_score=5)
    assert result.rounds[0].tallies == {"A": Fraction(19, 2), "B": 8, "C": 1}
    assert result.winners == ("A",)


def test_score_with_a_negative_scale_gives_unscored_options_the_minimum() -> None:
    ballots = [{"A": 2}, {"B": 1}]
    result = score(ballots, candidates=["A", "B"], min_score=-2, max_score=2)
    assert result.rounds[0].tallies == {"A": 0, "B": -1}


def test_score_out_of_range_is_refused_naming_the_ballot() -> None:
    with pytest.raises(BallotError, match=r"ballot 2: score of 'B' must be from 0 to 5, got 6"):
        score([{"A": 1}, {"B": 6}], candidates=["A", "B"], max_score=5)


def test_dot_vote_adds_dots_and_records_unused_dots() -> None:
    ballots = [{"A": 3}, {"A": 1, "B": 2}, {"C": 1}]
    result = dot_vote(ballots, candidates=["A", "B", "C"], dots=3)
    assert result.rounds[0].tallies == {"A": 4, "B": 2, "C": 1}
    assert result.details["unused_dots"] == 2


def test_dot_ballots_over_budget_are_refused_with_a_clear_message() -> None:
    with pytest.raises(BallotError, match="ballot 2: places 4 dots, but each voter has 3"):
        dot_vote([{"A": 3}, {"A": 2, "B": 2}], candidates=["A", "B"], dots=3)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plurality(["Z"], candidates=["A"]), "ballot 1: unknown option 'Z'"),
        (lambda: approval([["A", "A"]], candidates=["A"]), "approved twice"),
        (lambda: approval(["A"], candidates=["A"]), "expected a set"),
        (lambda: plurality(["A"], candidates=["A"], seats=2), "seats"),
        (lambda: plurality(["A"], candidates=["A"], weights=[1, 2]), "weights"),
        (lambda: plurality(["A"], candidates=["A"], weights=[-1]), "negative"),
        (lambda: dot_vote([{"A": -1}], candidates=["A"], dots=2), "whole number"),
        (lambda: plurality([], candidates=["A", "A"]), "candidates"),
    ],
)
def test_malformed_input_is_refused(call: object, message: str) -> None:
    with pytest.raises(BallotError, match=message):
        call()  # type: ignore[operator]


names = ["A", "B", "C", "D"]
approval_ballots = st.lists(st.sets(st.sampled_from(names)), max_size=30)


@given(approval_ballots, st.integers(1, 4), st.randoms())
def test_ballot_order_is_irrelevant_to_approval(
    ballots: list[set[str]], seats: int, rnd: random.Random
) -> None:
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert (
        approval(ballots, candidates=names, seats=seats).to_json()
        == approval(shuffled, candidates=names, seats=seats).to_json()
    )


@given(approval_ballots, st.integers(1, 4))
def test_approval_results_round_trip_and_conserve_approvals(
    ballots: list[set[str]], seats: int
) -> None:
    result = approval(ballots, candidates=names, seats=seats, seed="x", settle_ties_by_lot=True)
    assert canonical.loads(result.to_json()) == canonical.to_jsonable(result)
    assert sum(result.rounds[0].tallies.values()) == sum(len(b) for b in ballots)
    assert len(result.winners) == seats


@given(
    st.lists(st.dictionaries(st.sampled_from(names), st.integers(0, 3), max_size=2), max_size=20)
)
def test_dot_votes_conserve_dots(ballots: list[dict[str, int]]) -> None:
    fitting = [b for b in ballots if sum(b.values()) <= 5]
    result = dot_vote(fitting, candidates=names, dots=5)
    placed = sum(result.rounds[0].tallies.values())
    assert placed + result.details["unused_dots"] == 5 * len(fitting)
    assert canonical.loads(result.to_json()) == canonical.to_jsonable(result)


@given(st.lists(st.sampled_from([*names, None]), max_size=30), st.randoms())
def test_ballot_order_is_irrelevant_to_plurality(
    ballots: list[str | None], rnd: random.Random
) -> None:
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert (
        plurality(ballots, candidates=names).to_json()
        == plurality(shuffled, candidates=names).to_json()
    )
