"""STV: Scottish rules 45-52 and WIGM, against published counts, with their ties and invariants."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import irv, stv
from konsilo.counting.profile import EqualRankingError, ProfileError, RankedProfile
from konsilo.counting.result import Result
from konsilo.counting.tiebreak import LotRequiredError

DATA = Path(__file__).parent / "data" / "stv"
TRANSCRIPTS = sorted(DATA.glob("droop-*.json"))
NAMES = ["Ana", "Bea", "Cai", "Dov", "Eli", "Fay"]


def load_blt(path: Path) -> tuple[RankedProfile, int]:
    """A minimal reader for the BLT files of this test data (grouped ballots, no options)."""
    lines = path.read_text().splitlines()
    n, seats = map(int, lines[0].split())
    rows: list[list[int]] = []
    weights: list[int] = []
    i = 1
    while lines[i].strip() != "0":
        numbers = [int(x) for x in lines[i].split()]
        weights.append(numbers[0])
        rows.append([c - 1 for c in numbers[1:-1]])
        i += 1
    names = [line.strip().strip('"') for line in lines[i + 1 : i + 1 + n]]
    return RankedProfile.from_indices(names, rows, weights), seats


def conserved(result: Result, total: Fraction) -> None:
    """Tallies, exhausted papers and the truncation loss add up to the valid ballots."""
    for r in result.rounds:
        loss = r.extra.get("rounding_loss", Fraction(0))
        assert sum(r.tallies.values(), Fraction(0)) + r.exhausted + loss == total, r.number


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_droop_reference_transcripts_are_reproduced_round_by_round(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    profile = RankedProfile.from_rankings(
        case["candidates"], [b for _, b in case["ballots"]], [w for w, _ in case["ballots"]]
    )
    result = stv.count(profile, seats=case["seats"], rule=case["rule"])
    assert list(result.winners) == case["winners"]
    assert result.details["quota"] == Fraction(case["quota"])
    for expected, got in zip(case["rounds"], result.rounds, strict=False):
        assert dict(got.tallies) == {k: Fraction(v) for k, v in expected["tallies"].items()}
        assert got.exhausted == Fraction(expected["exhausted"])
        assert list(got.elected) == expected.get("elected", [])
        assert list(got.excluded) == expected.get("excluded", [])


def test_the_calton_2007_ward_elects_the_declared_councillors() -> None:
    profile, seats = load_blt(DATA / "calton-2007.blt")
    result = stv.count(profile, seats=seats, rule="scottish")
    assert set(result.winners) == {"George Redmond", "Ruth Simpson", "Alison E Thewliss"}
    valid = result.details["valid_ballots"]
    assert result.details["quota"] == valid.numerator // (seats + 1) + 1
    conserved(result, valid)
    # Five-decimal truncation loses a little at each surplus, and the count says how much.
    assert 0 < result.details["rounding_loss"] < Fraction(1, 10)
    surplus = result.rounds[1]
    assert surplus.extra["action"] == "surplus"
    assert surplus.extra["candidate"] == "George Redmond"
    assert "to five decimal places" in surplus.explanation


def test_the_calton_2007_ward_is_reproduced_stage_by_stage() -> None:
    """Every stage of the count (first preferences, then each transfer) as an independent
    implementation of the Scottish rules counts it, to the five decimals the Order uses."""
    case = json.loads((DATA / "calton-2007-scottish-stages.json").read_text())
    profile, seats = load_blt(DATA / "calton-2007.blt")
    result = stv.count(profile, seats=seats, rule="scottish")
    assert result.details["quota"] == Fraction(case["quota"])
    assert [r.number for r in result.rounds] == list(range(1, len(case["stages"]) + 1))
    for stage, got in zip(case["stages"], result.rounds, strict=True):
        expected = {name: Fraction(v) for name, v in stage["tallies"].items()}
        assert dict(got.tallies) == expected, got.number
        assert got.exhausted == Fraction(stage["non_transferable"]), got.number
    assert [c for r in result.rounds for c in r.elected] == case["winners_in_order"]
    assert [c for r in result.rounds for c in r.excluded] == case["excluded_in_order"]


def test_the_quota_is_the_integer_part_of_votes_over_seats_plus_one_plus_one() -> None:
    profile = RankedProfile.from_rankings(NAMES[:4], [["Ana"]] * 7 + [["Bea"]] * 3 + [["Cai"]])
    result = stv.count(profile, seats=2, rule="scottish")
    assert result.rounds[0].threshold == 11 // 3 + 1
    wigm = stv.count(profile, seats=2, rule="wigm")
    assert wigm.rounds[0].threshold == Fraction(11, 3)


def test_scottish_transfer_values_are_truncated_to_five_places_and_the_loss_reported() -> None:
    profile = RankedProfile.from_rankings(
        NAMES[:3], [["Ana", "Bea"]] * 7 + [["Bea"]] * 2 + [["Cai"]] * 3
    )
    result = stv.count(profile, seats=2, rule="scottish")
    surplus = result.rounds[1]
    # Quota 12 // 3 + 1 = 5; surplus 2 of 7: 2 x 1 / 7 = 0.285714... -> 0.28571 a paper.
    assert surplus.extra["transfer_values"] == [Fraction(28571, 100000)]
    assert surplus.transfers["Bea"] == 7 * Fraction(28571, 100000)
    assert surplus.extra["loss"] == 2 - 7 * Fraction(28571, 100000)
    assert "0.00003 lost to truncation" in surplus.explanation
    conserved(result, Fraction(12))


def test_wigm_transfers_exact_fractions_with_no_loss() -> None:
    profile = RankedProfile.from_rankings(
        NAMES[:3], [["Ana", "Bea"]] * 7 + [["Bea"]] * 2 + [["Cai"]] * 3
    )
    result = stv.count(profile, seats=2, rule="wigm")
    surplus = result.rounds[1]
    # Quota 12/3 = 4; surplus 3 of 7 moves at 3/7 a paper.
    assert surplus.extra["transfer_values"] == [Fraction(3, 7)]
    assert surplus.transfers["Bea"] == 3
    assert "rounding_loss" not in surplus.extra
    conserved(result, Fraction(12))


def test_later_surpluses_use_the_value_each_paper_arrived_with() -> None:
    ballots = [["Ana", "Bea", "Cai"]] * 9 + [["Bea", "Cai"]] * 3 + [["Cai"]] + [["Dov"]] * 3
    profile = RankedProfile.from_rankings(NAMES[:4], ballots)
    result = stv.count(profile, seats=3, rule="wigm")
    # Quota 16/4 = 4; Ana's surplus 5 of 9 moves at 5/9; Bea then holds 3 + 5 = 8.
    second = result.rounds[2]
    assert second.extra["candidate"] == "Bea"
    assert set(second.extra["transfer_values"]) == {Fraction(1, 2), Fraction(5, 18)}
    assert second.transfers["Cai"] == 4
    conserved(result, Fraction(16))


def test_the_largest_surplus_goes_first() -> None:
    ballots = [["Ana", "Cai"]] * 6 + [["Bea", "Cai"]] * 8 + [["Cai"]] + [["Dov"]] * 4
    profile = RankedProfile.from_rankings(NAMES[:4], ballots)
    result = stv.count(profile, seats=3, rule="scottish")
    assert result.rounds[0].elected == ("Bea", "Ana")
    assert [r.extra.get("candidate") for r in result.rounds[1:3]] == ["Bea", "Ana"]


def test_equal_surpluses_go_by_the_most_recent_stage_where_votes_differed() -> None:
    # Cai's surplus (tv 1/2) lifts Ana (9) and Bea (7) to 11 each over a quota of 10.
    ballots = (
        [["Cai", "Ana"]] * 4
        + [["Cai", "Bea"]] * 8
        + [["Cai"]] * 8
        + [["Ana"]] * 9
        + [["Bea"]] * 7
        + [["Dov"]] * 6
        + [["Eli"]] * 5
    )
    profile = RankedProfile.from_rankings(NAMES[:5], ballots)
    result = stv.count(profile, seats=4, rule="scottish")
    assert result.rounds[1].elected == ("Ana", "Bea")
    assert result.rounds[1].tallies["Ana"] == result.rounds[1].tallies["Bea"] == 11
    following = result.rounds[2]
    assert following.extra["candidate"] == "Ana"
    assert "Ana and Bea were equal; Ana had more votes at round 1" in following.explanation
    assert not following.draws


def test_an_exclusion_tie_goes_by_the_most_recent_stage_where_votes_differed() -> None:
    ballots = [["Ana"]] * 4 + [["Bea"]] * 2 + [["Cai"]] * 3 + [["Dov", "Bea"]]
    profile = RankedProfile.from_rankings(NAMES[:4], ballots)
    result = stv.count(profile, seats=1, rule="wigm")
    third = result.rounds[2]
    assert third.excluded == ("Bea",)
    assert "Bea and Cai were equal; Bea had fewer votes at round 1" in third.explanation


def test_a_tie_at_every_stage_is_drawn_by_lot_and_recorded() -> None:
    profile = RankedProfile.from_rankings(NAMES[:3], [["Ana"]] * 2 + [["Bea"]] + [["Cai"]])
    result = stv.count(profile, seats=1, rule="scottish", seed="2026 public seed")
    (draw,) = result.draws
    assert draw.among == ("Bea", "Cai")
    assert result.rounds[1].excluded == (draw.chosen,)
    assert "was chosen by lot" in result.rounds[1].explanation
    again = stv.count(profile, seats=1, rule="scottish", seed="2026 public seed")
    assert again.to_json() == result.to_json()
    with pytest.raises(LotRequiredError, match="seed"):
        stv.count(profile, seats=1, rule="scottish")


def test_continuing_candidates_as_many_as_the_vacancies_are_elected_without_transfer() -> None:
    profile = RankedProfile.from_rankings(
        NAMES[:3], [["Ana", "Bea"]] * 6 + [["Bea"]] + [["Cai"]] * 2
    )
    result = stv.count(profile, seats=2, rule="scottish")
    last = result.rounds[-1]
    assert last.extra["action"] == "last_vacancies"
    assert "as many as the vacancies left" in last.explanation
    assert set(result.winners) == {"Ana", "Bea"}


def test_fewer_candidates_than_seats_leaves_seats_vacant() -> None:
    profile = RankedProfile.from_rankings(NAMES[:2], [["Ana"]] * 2 + [["Bea"]])
    result = stv.count(profile, seats=3, rule="wigm")
    assert set(result.winners) == {"Ana", "Bea"}
    assert "1 seat(s) stay vacant" in result.summary


def test_withdrawn_candidates_are_skipped_and_their_only_ballots_are_not_valid() -> None:
    ballots = [["Ana", "Bea"]] * 5 + [["Cai", "Bea"]] * 3 + [["Cai"]] * 2 + [["Bea"]]
    profile = RankedProfile.from_rankings(NAMES[:3], ballots)
    result = stv.count(profile, seats=1, rule="scottish", withdrawn=["Cai"])
    assert "Cai" not in result.rounds[0].tallies
    assert result.rounds[0].tallies["Bea"] == 4
    assert result.details["valid_ballots"] == 9
    assert result.details["invalid_ballots"] == 2
    assert result.rule["withdrawn"] == ["Cai"]
    marked = RankedProfile.from_rankings(NAMES[:3], ballots, withdrawn=["Cai"])
    assert stv.count(marked, seats=1, rule="scottish").to_json() == result.to_json()


def test_equal_rankings_are_refused_with_a_clear_message() -> None:
    profile = RankedProfile.from_rankings(NAMES[:3], [[{"Ana", "Bea"}, "Cai"]])
    with pytest.raises(EqualRankingError, match="Scottish STV does not allow equal rankings"):
        stv.count(profile, seats=1, rule="scottish")
    with pytest.raises(EqualRankingError, match="WIGM STV does not allow equal rankings"):
        stv.count(profile, seats=1, rule="wigm")


def test_fractional_weights_are_counted_by_wigm_and_refused_by_scottish_stv() -> None:
    profile = RankedProfile.from_rankings(
        NAMES[:3], [["Ana", "Bea"], ["Bea"], ["Cai"]], [Fraction(5, 2), 1, Fraction(3, 2)]
    )
    result = stv.count(profile, seats=2, rule="wigm")
    assert result.rounds[0].tallies == {"Ana": Fraction(5, 2), "Bea": 1, "Cai": Fraction(3, 2)}
    conserved(result, Fraction(5))
    with pytest.raises(ProfileError, match="Scottish STV counts whole ballots"):
        stv.count(profile, seats=2, rule="scottish")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seats": 0, "rule": "wigm"}, "seats: expected a whole number of at least 1, got 0"),
        ({"seats": 1, "rule": "meek"}, "rule: expected one of scottish, wigm, got 'meek'"),
        ({"seats": 1, "rule": "wigm", "withdrawn": ["Zed"]}, "withdrawn: unknown candidate"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(kwargs: dict[str, Any], message: str) -> None:
    profile = RankedProfile.from_rankings(NAMES[:2], [["Ana"]])
    with pytest.raises(stv.STVError, match=message):
        stv.count(profile, **kwargs)


def test_every_round_has_a_plain_sentence_and_the_summary_names_the_elected() -> None:
    profile, seats = load_blt(DATA / "calton-2007.blt")
    result = stv.count(profile, seats=seats, rule="scottish")
    for r in result.rounds:
        assert r.explanation.startswith(f"Round {r.number}: ")
        assert r.explanation.endswith(".")
    assert result.summary.startswith("Elected by Scottish STV (3 seats, quota 1,300): ")
    assert result.explain().splitlines()[-1] == result.summary


# -- invariants --------------------------------------------------------------------------------


@st.composite
def profiles(draw: st.DrawFn, *, max_candidates: int = 5) -> tuple[list[str], list[list[str]]]:
    n = draw(st.integers(2, max_candidates))
    names = NAMES[:n]
    ranking = st.permutations(names).flatmap(lambda p: st.integers(1, n).map(lambda k: list(p[:k])))
    return names, draw(st.lists(ranking, min_size=1, max_size=25))


@settings(max_examples=60, deadline=None)
@given(profiles(), st.integers(1, 3), st.sampled_from(stv.RULES), st.randoms(use_true_random=False))
def test_ballot_order_never_changes_the_result(
    case: tuple[list[str], list[list[str]]], seats: int, rule: str, rnd: random.Random
) -> None:
    names, ballots = case
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    a = stv.count(RankedProfile.from_rankings(names, ballots), seats=seats, rule=rule, seed="x")
    b = stv.count(RankedProfile.from_rankings(names, shuffled), seats=seats, rule=rule, seed="x")
    assert a.to_json() == b.to_json()


@settings(max_examples=80, deadline=None)
@given(profiles(), st.integers(1, 3), st.sampled_from(stv.RULES))
def test_weight_is_conserved_at_every_round(
    case: tuple[list[str], list[list[str]]], seats: int, rule: str
) -> None:
    names, ballots = case
    result = stv.count(
        RankedProfile.from_rankings(names, ballots), seats=seats, rule=rule, seed="x"
    )
    conserved(result, Fraction(len(ballots)))
    if rule == "wigm":
        assert all("rounding_loss" not in r.extra for r in result.rounds)
    assert len(result.winners) == min(seats, len(names))


@settings(max_examples=80, deadline=None)
@given(profiles(), st.sampled_from(stv.RULES))
def test_one_seat_stv_elects_the_instant_runoff_winner(
    case: tuple[list[str], list[list[str]]], rule: str
) -> None:
    names, ballots = case
    profile = RankedProfile.from_rankings(names, ballots)
    assert (
        stv.count(profile, seats=1, rule=rule, seed="x").winners
        == irv.count(profile, seed="x").winners
    )


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.permutations(NAMES).map(lambda p: list(p[:3])), min_size=300, max_size=400),
    st.sampled_from(stv.RULES),
    st.randoms(use_true_random=False),
)
def test_large_profiles_count_the_same_from_unmerged_rows_in_any_order(
    ballots: list[list[str]], rule: str, rnd: random.Random
) -> None:
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    indices = [[NAMES.index(c) for c in b] for b in shuffled]
    unmerged = RankedProfile.from_indices(NAMES, indices)  # rows kept as given until needed
    merged = RankedProfile.from_rankings(NAMES, ballots)
    merged.strict_ballots()
    a = stv.count(unmerged, seats=3, rule=rule, seed="x")
    b = stv.count(merged, seats=3, rule=rule, seed="x")
    assert a.to_json() == b.to_json()
    assert irv.count(unmerged, seed="x").to_json() == irv.count(merged, seed="x").to_json()
    assert unmerged.to_canonical() == merged.to_canonical()


@settings(max_examples=40, deadline=None)
@given(profiles(), st.integers(1, 3), st.sampled_from(stv.RULES))
def test_canonical_json_round_trips_and_a_recount_gives_the_same_bytes(
    case: tuple[list[str], list[list[str]]], seats: int, rule: str
) -> None:
    names, ballots = case
    profile = RankedProfile.from_rankings(names, ballots)
    result = stv.count(profile, seats=seats, rule=rule, seed="x")
    data = json.loads(result.to_json())
    assert canonical.dumps(data) == result.to_json()
    assert [Fraction(v) for v in data["rounds"][0]["tallies"].values()] == list(
        result.rounds[0].tallies.values()
    )
    stored = RankedProfile.from_canonical(json.loads(canonical.dumps(profile.to_canonical())))
    assert stv.count(stored, seats=seats, rule=rule, seed="x").to_json() == result.to_json()


@pytest.mark.parametrize("withdrawn", [(), ("C07", "C31")])
def test_moving_papers_on_by_comparison_or_by_lookup_gives_the_same_count(
    withdrawn: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Papers move on by comparing with the shorter list of candidates (out or still in) or,
    when both are long, by a lookup table: with 40 candidates and partial ballots a count
    goes through both, and each way alone gives the same bytes."""
    import numpy as np

    names = [f"C{i:02d}" for i in range(40)]
    rng = np.random.default_rng(40)
    order = np.argsort(rng.random((3000, 40)) ** rng.uniform(0.5, 2.0, 40), axis=1)
    lengths = rng.integers(1, 41, 3000)
    order[np.arange(40) >= lengths[:, None]] = -1
    profile = RankedProfile.from_indices(names, order)
    counts = []
    for limit in (None, -1, 10**9):
        if limit is not None:
            monkeypatch.setattr(stv, "_COMPARE_AT_MOST", limit)
        counts.append(
            (
                irv.count(profile, seed="s", withdrawn=withdrawn).to_json(),
                stv.count(profile, seats=7, rule="wigm", seed="s", withdrawn=withdrawn).to_json(),
            )
        )
    assert counts[0] == counts[1] == counts[2]
