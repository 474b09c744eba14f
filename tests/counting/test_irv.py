"""Instant-runoff: the published example, the majority of continuing votes, ties and invariants."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import irv
from konsilo.counting.profile import EqualRankingError, RankedProfile
from konsilo.counting.tiebreak import LotRequiredError

DATA = Path(__file__).parent / "data" / "stv"
NAMES = ["Ana", "Bea", "Cai", "Dov", "Eli"]


def test_the_tennessee_capital_example_elects_knoxville_round_by_round() -> None:
    case = json.loads((DATA / "irv-tennessee-capital.json").read_text())
    profile = RankedProfile.from_rankings(
        case["candidates"], [b for _, b in case["ballots"]], [w for w, _ in case["ballots"]]
    )
    result = irv.count(profile)
    assert list(result.winners) == case["winners"]
    assert len(result.rounds) == len(case["rounds"])
    for expected, got in zip(case["rounds"], result.rounds, strict=True):
        assert dict(got.tallies) == {k: Fraction(v) for k, v in expected["tallies"].items()}
        assert list(got.excluded) == expected.get("excluded", [])
        assert list(got.elected) == expected.get("elected", [])
    assert result.details["majority_round"] == 3
    assert (
        result.summary == "Knoxville is elected by instant-runoff with 58 of 100 continuing votes."
    )


def test_a_majority_of_continuing_votes_wins_once_ballots_are_exhausted() -> None:
    ballots = [["Ana"]] * 4 + [["Bea"]] * 3 + [["Cai"]] * 3
    result = irv.count(RankedProfile.from_rankings(NAMES[:3], ballots), seed="s")
    # 4 of 10 is no majority; after one of Bea and Cai is excluded, 4 of 7 is.
    assert result.rounds[0].threshold == 5
    assert result.rounds[1].threshold == Fraction(7, 2)
    assert result.rounds[1].exhausted == 3
    assert result.winners == ("Ana",)
    assert "4 of 7 continuing votes, more than half" in result.rounds[1].explanation


def test_the_last_continuing_candidate_is_elected_without_a_majority() -> None:
    ballots = [["Ana"]] * 2 + [["Bea"]] * 2 + [["Cai", "Ana"]]
    result = irv.count(RankedProfile.from_rankings(NAMES[:3], ballots), seed="s")
    assert result.winners == ("Ana",)
    assert result.details["majority_round"] == 2


def test_an_exclusion_tie_looks_back_then_draws_lots_from_the_seed() -> None:
    looked_back = irv.count(
        RankedProfile.from_rankings(
            NAMES[:4], [["Ana"]] * 5 + [["Bea"]] * 2 + [["Cai"]] * 3 + [["Dov", "Bea"]]
        )
    )
    assert looked_back.rounds[1].excluded == ("Bea",)
    assert "Bea had fewer votes at round 1" in looked_back.rounds[1].explanation
    tied = RankedProfile.from_rankings(NAMES[:3], [["Ana"]] * 2 + [["Bea"]] + [["Cai"]])
    drawn = irv.count(tied, seed="public")
    (draw,) = drawn.draws
    assert draw.among == ("Bea", "Cai")
    assert drawn.rounds[0].excluded == (draw.chosen,)
    assert irv.count(tied, seed="public").to_json() == drawn.to_json()
    with pytest.raises(LotRequiredError, match="seed"):
        irv.count(tied)


def test_withdrawn_candidates_are_skipped() -> None:
    ballots = [["Cai", "Bea"]] * 3 + [["Ana"]] * 2
    result = irv.count(RankedProfile.from_rankings(NAMES[:3], ballots), withdrawn=["Cai"])
    assert result.rounds[0].tallies == {"Ana": 2, "Bea": 3}
    assert result.winners == ("Bea",)
    with pytest.raises(irv.IRVError, match="withdrawn: unknown candidate"):
        irv.count(RankedProfile.from_rankings(NAMES[:3], ballots), withdrawn=["Zed"])


def test_equal_rankings_are_refused() -> None:
    profile = RankedProfile.from_rankings(NAMES[:2], [[{"Ana", "Bea"}]])
    with pytest.raises(EqualRankingError, match="instant-runoff does not allow equal rankings"):
        irv.count(profile)


def test_fractional_ballot_weights_count_exactly() -> None:
    profile = RankedProfile.from_rankings(
        NAMES[:3], [["Ana"], ["Bea"], ["Cai", "Bea"]], [Fraction(5, 3), Fraction(4, 3), 1]
    )
    result = irv.count(profile)
    assert result.rounds[0].tallies == {"Ana": Fraction(5, 3), "Bea": Fraction(4, 3), "Cai": 1}
    assert result.winners == ("Bea",)
    assert result.rounds[-1].tallies["Bea"] == Fraction(7, 3)


def test_no_standing_candidate_elects_nobody() -> None:
    profile = RankedProfile.from_rankings(NAMES[:1], [["Ana"]])
    result = irv.count(profile, withdrawn=["Ana"])
    assert result.winners == ()
    assert result.outcome == "none_elected"


@st.composite
def profiles(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    n = draw(st.integers(2, 5))
    names = NAMES[:n]
    ranking = st.permutations(names).flatmap(lambda p: st.integers(1, n).map(lambda k: list(p[:k])))
    return names, draw(st.lists(ranking, min_size=1, max_size=30))


@settings(max_examples=80, deadline=None)
@given(profiles(), st.randoms(use_true_random=False))
def test_ballot_order_never_changes_the_result(
    case: tuple[list[str], list[list[str]]], rnd: random.Random
) -> None:
    names, ballots = case
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    a = irv.count(RankedProfile.from_rankings(names, ballots), seed="x")
    b = irv.count(RankedProfile.from_rankings(names, shuffled), seed="x")
    assert a.to_json() == b.to_json()


@settings(max_examples=80, deadline=None)
@given(profiles())
def test_every_ballot_is_with_a_candidate_or_exhausted_at_every_round(
    case: tuple[list[str], list[list[str]]],
) -> None:
    names, ballots = case
    result = irv.count(RankedProfile.from_rankings(names, ballots), seed="x")
    for r in result.rounds:
        assert sum(r.tallies.values(), Fraction(0)) + r.exhausted == len(ballots)
        assert r.threshold == sum(r.tallies.values(), Fraction(0)) / 2
    (winner,) = result.winners
    final = result.rounds[-1].tallies
    assert final[winner] == max(final.values())
    data = json.loads(result.to_json())
    assert canonical.dumps(data) == result.to_json()
