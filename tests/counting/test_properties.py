"""Invariants across the counting methods, checked with hypothesis on random profiles."""

from __future__ import annotations

import importlib.util
import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import schulze
from konsilo.counting.ballot_csv import read_rankings
from konsilo.counting.methods import canonical_ballots, count_by_name, recount
from konsilo.counting.profile import RankedProfile
from tests.counting.test_crosscheck import _no_tie_for_exclusion

NAMES = ["Ana", "Bea", "Cem", "Dan", "Eli"]

# Every method that counts a ranked profile, with a rule that uses two seats where it can.
RANKED_METHODS: list[tuple[str, str, dict[str, Any]]] = [
    ("schulze", "schulze", {}),
    ("plurality", "cardinal", {"seats": 2, "settle_ties_by_lot": True, "seed": "s"}),
    ("approval", "cardinal", {"seats": 2, "settle_ties_by_lot": True, "seed": "s"}),
    ("irv", "irv", {"seed": "s"}),
    ("stv", "stv", {"seats": 2, "rule": "scottish", "seed": "s"}),
    ("stv", "stv", {"seats": 2, "rule": "wigm", "seed": "s"}),
    ("meek", "meek", {"seats": 2, "seed": "s"}),
]


def _available(module: str) -> bool:
    return importlib.util.find_spec(f"konsilo.counting.{module}") is not None


@st.composite
def ballots(draw: st.DrawFn, *, complete: bool = False) -> list[tuple[list[str], int]]:
    """Strict ballots over 3 to 5 candidates, each with a whole weight."""
    n = draw(st.integers(3, 5))
    names = NAMES[:n]
    size = st.integers(n, n) if complete else st.integers(1, n)
    ranking = st.permutations(names).flatmap(lambda p: size.map(lambda k: list(p[:k])))
    return draw(st.lists(st.tuples(ranking, st.integers(1, 6)), min_size=1, max_size=12))


def _profile(items: list[tuple[list[str], int]]) -> RankedProfile:
    names = sorted({c for ranking, _ in items for c in ranking} | set(NAMES[:3]))
    return RankedProfile.from_rankings(names, [r for r, _ in items], [w for _, w in items])


@pytest.mark.parametrize(
    ("method", "module", "rule"),
    RANKED_METHODS,
    ids=[f"{m}-{r.get('rule', '')}" for m, _, r in RANKED_METHODS],
)
@settings(max_examples=40)
@given(items=ballots(), order=st.randoms(use_true_random=False))
def test_the_order_of_ballots_never_changes_a_result(
    method: str, module: str, rule: dict[str, Any], items: list[Any], order: random.Random
) -> None:
    if not _available(module):
        pytest.skip(f"konsilo.counting.{module} is not in this tree yet")
    shuffled = list(items)
    order.shuffle(shuffled)
    first = count_by_name(method, _profile(items), **rule)
    again = count_by_name(method, _profile(shuffled), **rule)
    assert first.to_json() == again.to_json()


@settings(max_examples=60)
@given(items=ballots(), order=st.randoms(use_true_random=False))
def test_the_order_of_csv_rows_never_changes_the_profile(
    items: list[tuple[list[str], int]], order: random.Random
) -> None:
    rows = [f"{' > '.join(r)},{w}" for r, w in items]
    shuffled = list(rows)
    order.shuffle(shuffled)
    first = read_rankings("ranking,weight\n" + "\n".join(rows) + "\n")
    again = read_rankings("ranking,weight\n" + "\n".join(shuffled) + "\n")
    assert first.to_canonical() == again.to_canonical()
    assert first.num_ballots == sum(w for _, w in items)


@settings(max_examples=150)
@given(items=ballots())
def test_a_condorcet_winner_wins_schulze(items: list[tuple[list[str], int]]) -> None:
    profile = _profile(items)
    names = profile.candidates

    def above(x: str, y: str) -> int:
        """Weight of ballots ranking x above y (unranked candidates rank below all ranked)."""
        total = 0
        for ranking, weight in items:
            if x in ranking and (y not in ranking or ranking.index(x) < ranking.index(y)):
                total += weight
        return total

    winners = [x for x in names if all(above(x, y) > above(y, x) for y in names if y != x)]
    if winners:
        assert schulze.count(profile).winners == (winners[0],)


@pytest.mark.parametrize("rule", ["wigm", "scottish"])
@settings(max_examples=80)
@given(items=ballots(complete=True))
def test_one_seat_stv_elects_the_irv_winner(rule: str, items: list[Any]) -> None:
    """With complete ballots nothing exhausts, so the quota of one seat is a majority of the
    continuing votes, as in IRV; ties for exclusion are settled differently, so are left out.
    """
    if not (_available("irv") and _available("stv")):
        pytest.skip("konsilo.counting.irv and .stv are not in this tree yet")
    from konsilo.counting import irv, stv

    profile = _profile(items)
    by_irv = irv.count(profile, seed="s")
    by_stv = stv.count(profile, seats=1, rule=rule, seed="s")
    if _no_tie_for_exclusion(by_irv) and _no_tie_for_exclusion(by_stv):
        assert by_stv.winners == by_irv.winners


@settings(max_examples=80)
@given(items=ballots())
def test_wigm_rounds_conserve_the_weight_of_the_ballots(items: list[Any]) -> None:
    """Exact WIGM: in every round the candidates' votes and the exhausted weight add up to
    the valid ballots."""
    if not _available("stv"):
        pytest.skip("konsilo.counting.stv is not in this tree yet")
    from konsilo.counting import stv

    profile = _profile(items)
    result = stv.count(profile, seats=2, rule="wigm", seed="s")
    for round_ in result.rounds:
        assert sum(round_.tallies.values(), Fraction(0)) + round_.exhausted == profile.num_ballots


@st.composite
def general_profiles(draw: st.DrawFn) -> RankedProfile:
    """Profiles with equal rankings, fractional weights, withdrawn candidates, empty ballots."""
    n = draw(st.integers(2, 5))
    names = NAMES[:n]
    groups = st.lists(st.sets(st.sampled_from(names), min_size=1, max_size=2), max_size=3)
    rankings: list[list[set[str]]] = []
    for raw in draw(st.lists(groups, min_size=1, max_size=8)):
        seen: set[str] = set()
        ranking = []
        for group in raw:
            fresh = group - seen
            if fresh:
                ranking.append(fresh)
                seen |= fresh
        rankings.append(ranking)
    weights = draw(
        st.lists(
            st.fractions(min_value=0, max_value=5, max_denominator=7),
            min_size=len(rankings),
            max_size=len(rankings),
        )
    )
    withdrawn = draw(st.sets(st.sampled_from(names), max_size=1))
    return RankedProfile.from_rankings(names, rankings, weights, withdrawn=withdrawn, title="T")


@settings(max_examples=100)
@given(profile=general_profiles())
def test_a_profile_round_trips_through_canonical_json(profile: RankedProfile) -> None:
    data = canonical.dumps(profile.to_canonical())
    again = RankedProfile.from_canonical(canonical.loads(data))
    assert canonical.dumps(again.to_canonical()) == data
    assert again.num_ballots == profile.num_ballots


@pytest.mark.parametrize(
    ("method", "module", "rule"),
    RANKED_METHODS,
    ids=[f"{m}-{r.get('rule', '')}" for m, _, r in RANKED_METHODS],
)
@settings(max_examples=30)
@given(items=ballots())
def test_a_result_is_stable_and_a_recount_from_its_json_gives_the_same_bytes(
    method: str, module: str, rule: dict[str, Any], items: list[Any]
) -> None:
    if not _available(module):
        pytest.skip(f"konsilo.counting.{module} is not in this tree yet")
    profile = _profile(items)
    result = count_by_name(method, profile, **rule)
    data = result.to_json()
    assert count_by_name(method, profile, **rule).to_json() == data
    assert canonical.dumps(canonical.loads(data)) == data
    recorded = canonical.loads(data)
    stored = canonical.loads(canonical.dumps(canonical_ballots(method, profile)))
    again = recount(recorded["method"], recorded["rule"], stored, seed=recorded["seed"])
    assert again.to_json() == data
