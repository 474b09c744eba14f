"""Constrained STV: the representation rules are met, forced steps explained, bad rules named."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from konsilo.counting import stv
from konsilo.counting.constrained import (
    CoChairs,
    ConstraintError,
    MinimumShare,
    ReservedSeats,
    count,
)
from konsilo.counting.profile import RankedProfile

MEN = ["Al", "Ben", "Cy", "Dan"]
WOMEN = ["Eva", "Flo", "Gia"]
NAMES = MEN + WOMEN
GENDER: dict[str, str | frozenset[str]] = {
    **dict.fromkeys(MEN, "man"),
    **dict.fromkeys(WOMEN, "woman"),
}


def _profile(ballots: list[tuple[int, list[str]]]) -> RankedProfile:
    return RankedProfile.from_rankings(NAMES, [b for _, b in ballots], [w for w, _ in ballots])


MEN_AHEAD = _profile(
    [
        (30, ["Al", "Ben"]),
        (25, ["Ben", "Cy"]),
        (20, ["Cy", "Dan"]),
        (10, ["Dan"]),
        (8, ["Eva"]),
        (5, ["Flo", "Eva"]),
        (2, ["Gia", "Flo"]),
    ]
)


def _women(winners: tuple[str, ...]) -> int:
    return sum(1 for w in winners if w in WOMEN)


@pytest.mark.parametrize("rule", stv.RULES)
def test_a_minimum_share_is_met_where_plain_stv_elects_only_men(rule: str) -> None:
    plain = stv.count(MEN_AHEAD, seats=5, rule=rule)
    assert _women(plain.winners) < 2
    result = count(
        MEN_AHEAD,
        seats=5,
        rule=rule,
        categories=GENDER,
        constraints=[MinimumShare("woman", Fraction(2, 5))],
    )
    assert _women(result.winners) >= 2
    assert len(result.winners) == 5
    assert result.method == "constrained_stv"
    assert result.rule["descriptions"] == ["woman ≥ 40 % of seats (2 of 5)"]
    assert result.rule["constraints"] == [
        {"kind": "minimum_share", "category": "woman", "share": "2/5"}
    ]
    forced = [f for r in result.rounds for f in r.extra.get("forced", [])]
    assert forced, "the forced steps are recorded in the rounds"
    assert all(f["rule"] == "woman ≥ 40 % of seats (2 of 5)" for f in forced)
    doomed = [r for r in result.rounds if "is doomed" in r.explanation]
    assert doomed
    assert all(r.excluded for r in doomed)


def test_a_guarded_candidate_is_passed_over_for_exclusion() -> None:
    names = ["Al", "Ben", "Cy", "Dan", "Eva"]
    ballots = [["Al"]] * 10 + [["Ben"]] * 9 + [["Cy"]] * 8 + [["Eva"]] * 3 + [["Dan"]] * 6
    profile = RankedProfile.from_rankings(names, ballots)
    categories = {n: GENDER[n] for n in names}
    result = count(
        profile,
        seats=2,
        rule="wigm",
        categories=categories,
        constraints=[ReservedSeats("woman", 1)],
    )
    assert result.winners == ("Al", "Eva")
    guarded = [r for r in result.rounds if "Eva is guarded" in r.explanation]
    assert [r.excluded for r in guarded] == [("Dan",), ("Cy",), ("Ben",)]
    assert any(f["action"] == "protected" for f in guarded[0].extra["forced"])


def test_co_chairs_are_one_of_each_category() -> None:
    profile = _profile([(40, ["Al", "Ben"]), (35, ["Ben", "Al"]), (15, ["Eva"]), (10, ["Flo"])])
    result = count(
        profile, seats=2, rule="scottish", categories=GENDER, constraints=[CoChairs("woman", "man")]
    )
    assert sorted(GENDER[w] for w in result.winners) == ["man", "woman"]
    assert "Al" in result.winners


def test_a_seat_counts_for_every_category_of_a_candidate() -> None:
    categories: dict[str, str | frozenset[str]] = {**GENDER, "Eva": frozenset({"woman", "north"})}
    result = count(
        MEN_AHEAD,
        seats=3,
        rule="wigm",
        categories=categories,
        constraints=[ReservedSeats("woman", 1), ReservedSeats("north", 1)],
    )
    assert "Eva" in result.winners
    assert _women(result.winners) == 1


def test_without_constraints_the_count_is_plain_stv() -> None:
    plain = stv.count(MEN_AHEAD, seats=3, rule="scottish")
    result = count(MEN_AHEAD, seats=3, rule="scottish", categories=GENDER, constraints=[])
    assert result.winners == plain.winners
    assert [r.tallies for r in result.rounds] == [r.tallies for r in plain.rounds]


@pytest.mark.parametrize(
    ("seats", "constraints", "message"),
    [
        (
            4,
            [MinimumShare("woman", Fraction(4, 5))],
            "woman ≥ 80 % of seats \\(4 of 4\\) cannot be met",
        ),
        (2, [CoChairs("woman", "nonbinary")], "co-chairs: 1 woman and 1 nonbinary cannot be met"),
        (
            3,
            [ReservedSeats("woman", 2), ReservedSeats("man", 2)],
            "reserved for woman and 2 seat\\(s\\) reserved for man together",
        ),
        (3, [CoChairs("woman", "man")], "need an even number of seats, got 3"),
        (3, [MinimumShare("woman", Fraction(3, 2))], "the share for 'woman' must be 0 to 1"),
        (3, [ReservedSeats("woman", 4)], "4 reserved seats for 'woman' do not fit in 3 seats"),
    ],
)
def test_rules_that_cannot_be_met_are_refused_naming_the_rule(
    seats: int, constraints: list[Any], message: str
) -> None:
    with pytest.raises(ConstraintError, match=message):
        count(MEN_AHEAD, seats=seats, rule="wigm", categories=GENDER, constraints=constraints)


def test_categories_for_unknown_candidates_are_refused() -> None:
    with pytest.raises(ConstraintError, match="categories: unknown candidate"):
        count(MEN_AHEAD, seats=2, rule="wigm", categories={"Zed": "woman"}, constraints=[])


@st.composite
def elections(draw: st.DrawFn) -> tuple[RankedProfile, dict[str, str | frozenset[str]], int, int]:
    names = NAMES[: draw(st.integers(3, len(NAMES)))]
    ranking = st.permutations(names).flatmap(
        lambda p: st.integers(1, len(names)).map(lambda k: list(p[:k]))
    )
    ballots = draw(st.lists(ranking, min_size=1, max_size=30))
    categories: dict[str, str | frozenset[str]] = {
        n: draw(st.sampled_from(["woman", "man"])) for n in names
    }
    seats = draw(st.integers(1, len(names)))
    women = sum(1 for c in categories.values() if c == "woman")
    minimum = draw(st.integers(0, min(seats, women)))
    return RankedProfile.from_rankings(names, ballots), categories, seats, minimum


@settings(max_examples=80, deadline=None)
@given(elections(), st.sampled_from(stv.RULES))
def test_feasible_rules_are_always_met(
    case: tuple[RankedProfile, dict[str, str | frozenset[str]], int, int], rule: str
) -> None:
    profile, categories, seats, minimum = case
    assume(minimum > 0)
    result = count(
        profile,
        seats=seats,
        rule=rule,
        categories=categories,
        constraints=[ReservedSeats("woman", minimum)],
        seed="x",
    )
    assert sum(1 for w in result.winners if categories[w] == "woman") >= minimum
    assert len(result.winners) == seats
    for r in result.rounds:
        loss = r.extra.get("rounding_loss", Fraction(0))
        assert sum(r.tallies.values(), Fraction(0)) + r.exhausted + loss == profile.num_ballots
