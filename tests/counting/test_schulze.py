"""Schulze: Schulze's published examples, equal rankings, the status quo, ties and invariants."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting.profile import RankedProfile
from konsilo.counting.schulze import (
    SchulzeError,
    count,
    count_arrays,
    pairwise,
    strongest_paths,
)

DATA = Path(__file__).parent / "data" / "schulze"
CASES = sorted(DATA.glob("*.json"))


def _load(path: Path) -> tuple[dict[str, Any], RankedProfile]:
    case = json.loads(path.read_text())
    profile = RankedProfile.from_rankings(
        case["candidates"],
        [list(order) for _, order in case["ballots"]],
        [weight for weight, _ in case["ballots"]],
    )
    return case, profile


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_schulzes_published_examples(path: Path) -> None:
    case, profile = _load(path)
    result = count(profile)
    assert list(result.winners) == case["winners"]
    assert sorted(result.tied) == case.get("tied", [])
    assert [sorted(g) for g in result.details["ranking"]] == case["ranking"]
    names = case["candidates"]
    for key in ("d", "p"):
        if key in case:
            got = result.details[key]
            for a, x in enumerate(names):
                for b, y in enumerate(names):
                    if a != b:
                        assert got[x][y] == case[key][a][b], (key, x, y)


def test_the_45_voter_example_explains_its_ranking() -> None:
    _, profile = _load(DATA / "schulze_2011_example_1.json")
    result = count(profile)
    assert result.outcome == "elected"
    assert "ranking E > A > C > B > D" in result.summary
    assert result.rounds[0].tallies["E"] == 4
    assert result.rounds[0].tallies["D"] == 0


def test_a_tie_between_potential_winners_is_settled_only_by_a_requested_lot() -> None:
    _, profile = _load(DATA / "schulze_2011_example_4.json")
    assert count(profile, seed="s").outcome == "tie"
    result = count(profile, seed="s", settle_ties_by_lot=True)
    assert result.outcome == "elected"
    (draw,) = result.draws
    assert draw.among == ("B", "D")
    assert result.winners == (draw.chosen,)
    with pytest.raises(SchulzeError, match="seed"):
        count(profile, settle_ties_by_lot=True)


def test_unranked_alternatives_rank_equally_below_the_ranked_ones() -> None:
    profile = RankedProfile.from_rankings(["A", "B", "C"], [["A"], ["A"], ["B", "C"]])
    d = pairwise(profile)
    assert d["A"]["B"] == 2
    assert d["B"]["A"] == 1
    assert d["B"]["C"] == 1
    assert d["C"]["B"] == 0
    assert d["A"]["C"] == 2


def test_equal_rankings_count_for_neither_side() -> None:
    profile = RankedProfile.from_rankings(["A", "B", "C"], [[{"A", "B"}, "C"], ["C", "A"]])
    d = pairwise(profile)
    assert d["A"]["B"] == 1  # only the second ballot, which leaves B unranked below A
    assert d["B"]["A"] == 0
    assert d["A"]["C"] == 1
    assert d["C"]["A"] == 1


def test_fractional_weights_are_counted_exactly() -> None:
    profile = RankedProfile.from_rankings(
        ["A", "B"], [["A", "B"], ["B", "A"]], [Fraction(14, 11), Fraction(8, 11)]
    )
    result = count(profile)
    assert result.winners == ("A",)
    assert result.details["d"]["A"]["B"] == Fraction(14, 11)
    assert result.details["p"]["A"]["B"] == Fraction(14, 11)


def test_withdrawn_alternatives_are_left_out() -> None:
    profile = RankedProfile.from_rankings(
        ["A", "B", "C"], [["C", "B", "A"], ["C", "A", "B"], ["A", "B"]], withdrawn=["C"]
    )
    result = count(profile)
    assert "C" not in result.details["d"]
    assert result.winners == ("A",)


def test_an_initiative_must_beat_the_status_quo() -> None:
    # I1 is the Schulze winner among the initiatives but loses to the status quo directly.
    profile = RankedProfile.from_rankings(
        ["SQ", "I1", "I2"],
        [["SQ", "I1", "I2"], ["I1", "I2", "SQ"], ["SQ", "I2", "I1"]],
        [3, 2, 2],
    )
    result = count(profile, status_quo="SQ")
    assert result.outcome == "status_quo"
    assert result.winners == ("SQ",)
    assert result.details["eligible"] == []


def test_the_best_ranked_eligible_initiative_wins_over_the_status_quo() -> None:
    profile = RankedProfile.from_rankings(
        ["SQ", "I1", "I2"],
        [["I1", "I2", "SQ"], ["I2", "I1", "SQ"], ["I1", "SQ", "I2"]],
        [3, 2, 1],
    )
    result = count(profile, status_quo="SQ")
    assert result.details["eligible"] == ["I1", "I2"]
    assert result.winners == ("I1",)
    assert result.outcome == "elected"


def test_an_initiative_above_the_status_quo_but_ineligible_is_passed_over() -> None:
    # Condorcet cycle I1 > I2 > SQ > I1 with I1 strongest: I1 heads the Schulze ranking,
    # but only I2 beats the status quo directly, so I2 wins.
    profile = RankedProfile.from_rankings(
        ["SQ", "I1", "I2"],
        [["I1", "I2", "SQ"], ["I2", "SQ", "I1"], ["SQ", "I1", "I2"]],
        [4, 3, 2],
    )
    result = count(profile, status_quo="SQ")
    assert result.details["ranking"][0] == ["I1"]
    assert result.details["eligible"] == ["I2"]
    assert result.winners == ("I2",)


def test_a_status_quo_that_is_not_an_alternative_is_refused() -> None:
    profile = RankedProfile.from_rankings(["A", "B"], [["A"]])
    with pytest.raises(SchulzeError, match="status_quo"):
        count(profile, status_quo="Z")


def test_strongest_paths_take_the_widest_route() -> None:
    d = {
        "A": {"B": Fraction(5), "C": Fraction(2)},
        "B": {"A": Fraction(1), "C": Fraction(4)},
        "C": {"A": Fraction(3), "B": Fraction(0)},
    }
    p = strongest_paths(d)
    assert p["A"]["C"] == 4  # A-(5)-B-(4)-C beats the direct defeat of A by C
    assert p["C"]["B"] == 3  # C-(3)-A-(5)-B


NAMES = ["A", "B", "C", "D", "E"]


@st.composite
def ballots(draw: st.DrawFn) -> list[list[str | set[str]]]:
    out: list[list[str | set[str]]] = []
    for _ in range(draw(st.integers(0, 25))):
        order = draw(st.permutations(NAMES))
        cut = draw(st.integers(1, len(NAMES)))
        groups: list[str | set[str]] = []
        i = 0
        while i < cut:
            size = draw(st.integers(1, cut - i))
            groups.append(set(order[i : i + size]) if size > 1 else order[i])
            i += size
        out.append(groups)
    return out


def _naive_d(rankings: list[list[str | set[str]]], weights: list[Fraction]) -> dict[Any, Fraction]:
    d: dict[Any, Fraction] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        pos = {}
        for level, group in enumerate(ranking):
            for name in [group] if isinstance(group, str) else group:
                pos[name] = level
        for x in NAMES:
            for y in NAMES:
                if x != y and pos.get(x, len(ranking)) < pos.get(y, len(ranking)):
                    d[x, y] = d.get((x, y), Fraction(0)) + weight
    return d


@settings(max_examples=60)
@given(ballots(), st.randoms(), st.lists(st.fractions(0, 5, max_denominator=6), min_size=25))
def test_pairwise_matches_a_direct_count_and_ignores_ballot_order(
    rankings: list[list[str | set[str]]], rnd: random.Random, raw_weights: list[Fraction]
) -> None:
    weights = raw_weights[: len(rankings)]
    profile = RankedProfile.from_rankings(NAMES, rankings, weights)
    order = list(range(len(rankings)))
    rnd.shuffle(order)
    shuffled = RankedProfile.from_rankings(
        NAMES, [rankings[i] for i in order], [weights[i] for i in order]
    )
    expected = _naive_d(rankings, weights)
    got = pairwise(profile)
    for x in NAMES:
        for y in NAMES:
            if x != y:
                assert got[x][y] == expected.get((x, y), 0)
    result = count(profile)
    assert result.to_json() == count(shuffled).to_json()
    assert canonical.loads(result.to_json()) == canonical.to_jsonable(result)


@settings(max_examples=60)
@given(ballots())
def test_a_condorcet_winner_wins(rankings: list[list[str | set[str]]]) -> None:
    profile = RankedProfile.from_rankings(NAMES, rankings)
    d = pairwise(profile)
    condorcet = [x for x in NAMES if all(d[x][y] > d[y][x] for y in NAMES if y != x)]
    result = count(profile)
    if condorcet:
        assert result.winners == (condorcet[0],)
    assert set(result.winners) | set(result.tied) <= set(result.details["potential_winners"])


def test_agrees_with_svvamp_on_random_strict_profiles() -> None:
    svvamp = pytest.importorskip("svvamp", reason="svvamp (a peer engine) is not installed")
    rng = random.Random(7)
    for _ in range(20):
        n = rng.randint(3, 6)
        names = [f"c{i}" for i in range(n)]
        orders = [rng.sample(range(n), n) for _ in range(rng.randint(5, 40))]
        profile = RankedProfile.from_rankings(names, [[names[i] for i in o] for o in orders])
        peer = svvamp.RuleSchulze()(svvamp.Profile(preferences_rk=orders))
        ours = count(profile)
        d = pairwise(profile)
        for a in range(n):
            for b in range(n):
                if a != b:
                    assert d[names[a]][names[b]] == int(peer.profile_.matrix_duels_rk[a, b])
        # svvamp breaks ties by index; it must pick one of our potential winners.
        assert names[peer.w_] in ours.details["potential_winners"]


@st.composite
def strict_ballots(draw: st.DrawFn) -> list[list[str]]:
    out: list[list[str]] = []
    for _ in range(draw(st.integers(0, 25))):
        order = draw(st.permutations(NAMES))
        out.append(list(order[: draw(st.integers(0, len(NAMES)))]))
    return out


@settings(max_examples=60)
@given(strict_ballots(), st.sampled_from([None, "C"]))
def test_count_arrays_gives_the_same_result_as_count_of_the_profile(
    rankings: list[list[str]], status_quo: str | None
) -> None:
    profile = RankedProfile.from_rankings(NAMES, rankings)
    if not profile.rankings:
        return
    matrix, weights = profile.strict_arrays()
    from_arrays = count_arrays(NAMES, matrix, weights, status_quo=status_quo)
    from_profile = count(profile, status_quo=status_quo)
    assert from_arrays.details["d"] == from_profile.details["d"]
    assert from_arrays.winners == from_profile.winners
    assert from_arrays.details["ranking"] == from_profile.details["ranking"]
    # Ungrouped rows (one per ballot) count the same as grouped ones.
    ungrouped = np.repeat(matrix, weights, axis=0)
    assert (
        count_arrays(NAMES, ungrouped, status_quo=status_quo).to_json()
        == count_arrays(NAMES, matrix, weights, status_quo=status_quo).to_json()
    )


def test_count_arrays_leaves_withdrawn_candidates_out() -> None:
    rows = np.array([[2, 1, 0], [2, 0, 1], [0, 1, -1]])
    result = count_arrays(["A", "B", "C"], rows, withdrawn=["C"])
    assert result.winners == ("A",)
    assert "C" not in result.details["d"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (np.array([[0, 0, 1]]), "row 0 ranks a candidate twice"),
        (np.array([[0, -1, 1]]), "padding"),
        (np.array([[0, 5, 1]]), "indices"),
        (np.array([0, 1, 2]), "2-d"),
    ],
)
def test_count_arrays_refuses_malformed_rows(rows: np.ndarray, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(SchulzeError, match=message):
        count_arrays(["A", "B", "C"], rows)
