"""The method registry: every method by name, and a recount from canonical JSON is bit-identical."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest

from konsilo import canonical
from konsilo.counting import cardinal, schulze
from konsilo.counting.ballot_csv import read_scores
from konsilo.counting.consent import Judgement, Stance
from konsilo.counting.methods import (
    METHODS,
    MethodError,
    canonical_ballots,
    count_by_name,
    recount,
)
from konsilo.counting.motion import MotionBallots
from konsilo.counting.profile import RankedProfile

RANKED = RankedProfile.from_rankings(
    ["Ana", "Bea", "Cem"],
    [["Ana", "Bea"], ["Bea", "Cem"], ["Cem", "Ana"], ["Ana"], []],
    [4, 3, 2, Fraction(1, 2), 1],
)
SCORES = read_scores("Park,Library,Bikes\n5,3,\n,10,2\n5,3,\n1,,1\n")
APPROVALS = read_scores("Park,Library,Bikes\n1,1,\n,1,\n1,,\n,,1\n1,,\n")
DOTS = read_scores("Park,Library,Bikes\n2,1,\n,3,\n1,1,1\n")
PROJECTS = {"Park": 40, "Library": 50, "Bikes": 30}

STANDING = RankedProfile.from_rankings(
    ["Ana", "Bea", "Cem", "Dan"],
    [["Ana", "Bea"], ["Bea", "Cem"], ["Cem", "Ana"], ["Dan", "Ana"], ["Ana"]],
    [5, 4, 3, 2, 1],
    withdrawn=["Dan"],
)

CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("irv", STANDING, {"seed": "public"}),
    ("stv", STANDING, {"seats": 2, "rule": "scottish", "seed": "public"}),
    ("stv", STANDING, {"seats": 2, "rule": "wigm", "seed": "public"}),
    ("meek", STANDING, {"seats": 2, "seed": "public"}),
    ("meek", STANDING, {"seats": 2, "seed": "public", "precision": 6, "arithmetic": "bigfixed"}),
    ("schulze", RANKED, {}),
    ("schulze", RANKED, {"status_quo": "Cem"}),
    ("plurality", RANKED, {}),
    ("plurality", RANKED, {"seats": 2}),
    ("approval", APPROVALS, {"seats": 2, "settle_ties_by_lot": True, "seed": "public"}),
    ("score", SCORES, {"max_score": 10}),
    ("dot_vote", DOTS, {"dots": 3}),
    ("greedy", APPROVALS, {"projects": PROJECTS, "budget": 100}),
    ("equal_shares", APPROVALS, {"projects": PROJECTS, "budget": 100}),
    ("equal_shares", APPROVALS, {"projects": PROJECTS, "budget": 100, "completion": "none"}),
    (
        "motion",
        MotionBallots(yes=Fraction(14, 11), no=Fraction(8, 11), abstain=1, eligible=5),
        {"rule": "simple_majority", "quorum": {"fraction": "1/2", "basis": "members"}},
    ),
    ("motion", MotionBallots(yes=2, no=1), {"rule": {"kind": "supermajority", "fraction": "2/3"}}),
    (
        "consent",
        [
            Stance("Ana", "consent"),
            Stance("Bea", "object", "no budget", Judgement(False, "Cem", "covered by §2")),
        ],
        {},
    ),
    ("consensus", [Stance("Ana", "consent"), Stance("Bea", "stand_aside")], {}),
]


@pytest.mark.parametrize(
    ("method", "ballots", "rule"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_a_recount_from_canonical_json_gives_the_same_bytes(
    method: str, ballots: Any, rule: dict[str, Any]
) -> None:
    seed = rule.get("seed")
    result = count_by_name(method, ballots, **rule)
    recorded = canonical.loads(result.to_json())
    stored = canonical.loads(canonical.dumps(canonical_ballots(method, ballots)))
    again = recount(recorded["method"], recorded["rule"], stored, seed=seed)
    assert again.to_json() == result.to_json()


def test_constrained_stv_recounts_with_its_categories_and_constraints() -> None:
    rule = {
        "seats": 2,
        "rule": "wigm",
        "seed": "public",
        "categories": {"Ana": "woman", "Cem": "woman", "Bea": "man"},
        "constraints": [{"kind": "minimum_share", "category": "man", "share": "1/2"}],
    }
    result = count_by_name("constrained_stv", STANDING, **rule)
    assert "Bea" in result.winners
    recorded = canonical.loads(result.to_json())
    # The recorded rule carries the categories and the constraints as data: it recounts alone.
    assert recorded["rule"]["categories"] == rule["categories"]
    assert recorded["rule"]["constraints"] == rule["constraints"]
    assert recorded["rule"]["descriptions"] == ["man ≥ 50 % of seats (1 of 2)"]
    full = recorded["rule"]
    again = recount("constrained_stv", full, STANDING.to_canonical(), seed="public")
    assert again.to_json() == result.to_json()


def test_stv_by_name_is_stv() -> None:
    from konsilo.counting import stv

    direct = stv.count(STANDING, seats=2, rule="scottish", seed="public")
    by_name = count_by_name("stv", STANDING, seats="2", rule="scottish", seed="public")
    assert by_name.to_json() == direct.to_json()


def test_plurality_over_a_profile_counts_first_preferences_as_the_cardinal_method_does() -> None:
    direct = cardinal.plurality(
        ["Ana", "Bea", "Cem", "Ana", None],
        candidates=RANKED.candidates,
        weights=[4, 3, 2, Fraction(1, 2), 1],
    )
    assert count_by_name("plurality", RANKED).to_json() == direct.to_json()


def test_schulze_by_name_is_schulze() -> None:
    assert count_by_name("schulze", RANKED).to_json() == schulze.count(RANKED).to_json()


def test_approval_over_a_profile_approves_every_ranked_candidate() -> None:
    result = count_by_name("approval", RANKED)
    assert result.rounds[0].tallies == {
        "Ana": Fraction(13, 2),
        "Bea": Fraction(7),
        "Cem": Fraction(5),
    }


def test_every_method_has_a_spec_with_a_summary() -> None:
    expected = {"irv", "stv", "meek", "constrained_stv", "schulze", "plurality", "approval"}
    expected |= {"score", "dot_vote", "greedy", "equal_shares", "motion", "consent", "consensus"}
    assert set(METHODS) == expected
    assert all(spec.summary for spec in METHODS.values())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: count_by_name("borda", RANKED), "method: unknown method 'borda' (known: "),
        (
            lambda: count_by_name("schulze", RANKED, seats=2),
            "seats: not a rule key of schulze (its keys: ",
        ),
        (
            lambda: recount("schulze", {"strength": "margins"}, RANKED.to_canonical()),
            "strength: schulze counts with strength 'winning_votes', got 'margins'",
        ),
        (lambda: count_by_name("dot_vote", DOTS), "dots: dot_vote needs dots"),
        (lambda: count_by_name("stv", RANKED, seats=2), "rule: stv needs rule"),
        (
            lambda: count_by_name("stv", RANKED, seats=2, rule="meek"),
            "rule: expected one of scottish, wigm, got 'meek'",
        ),
        (
            lambda: count_by_name("irv", RankedProfile.from_rankings(["A", "B"], [[{"A", "B"}]])),
            "instant-runoff does not allow equal rankings",
        ),
        (lambda: count_by_name("plurality", RANKED, seats="two"), "seats: expected a whole number"),
        (lambda: count_by_name("schulze", SCORES), "ballots: schulze counts ranked ballots"),
        (lambda: count_by_name("plurality", RANKED, seats=7), "seats: expected a whole number"),
        (
            lambda: count_by_name("greedy", APPROVALS, projects={"Park": 1}, budget=1),
            "projects: no cost is given for the approved project 'Bikes'",
        ),
        (
            lambda: recount("motion", {"rule": "unanimity"}, {"yes": 1, "no": 0}, seed="x"),
            "seed: motion draws no lots",
        ),
        (lambda: recount("motion", {"rule": "simple_majority"}, {"ja": 3}), "ballots: unknown"),
    ],
)
def test_bad_methods_rules_and_ballots_are_one_clear_error(call: Any, message: str) -> None:
    with pytest.raises(MethodError) as caught:
        call()
    assert str(caught.value).startswith(message), str(caught.value)


def test_equal_first_preferences_are_refused_by_plurality() -> None:
    tied = RankedProfile.from_rankings(["A", "B"], [[{"A", "B"}]])
    with pytest.raises(MethodError, match="ballot 1 ranks A = B first equally"):
        count_by_name("plurality", tied)


def test_names_accept_dashes_and_case() -> None:
    assert count_by_name("Equal-Shares", APPROVALS, projects=PROJECTS, budget=100).method == (
        "equal_shares"
    )


@pytest.mark.parametrize("seed", range(5))
def test_first_preferences_and_approvals_of_array_profiles_match_their_rankings(seed: int) -> None:
    rng = random.Random(seed)
    names = ["Ana", "Bea", "Cem", "Dan"]
    rows = [rng.sample(range(4), rng.randint(1, 4)) for _ in range(60)]
    profile = RankedProfile.from_indices(names, rows)
    firsts = [names[r[0]] for r in rows]
    approved = [{names[c] for c in r} for r in rows]
    direct_plurality = cardinal.plurality(firsts, candidates=names)
    direct_approval = cardinal.approval(approved, candidates=names)
    assert count_by_name("plurality", profile).to_json() == direct_plurality.to_json()
    assert count_by_name("approval", profile).to_json() == direct_approval.to_json()
