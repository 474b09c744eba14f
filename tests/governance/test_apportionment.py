"""Tests for konsilo.governance.apportionment: seat policies and exact apportionment."""

from __future__ import annotations

import random
from collections.abc import Mapping
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.governance.apportionment import (
    Apportioned,
    ApportionmentMethod,
    Fixed,
    PerMembers,
    SeatPolicy,
    apportion,
    delegation_seats,
    format_seat_policy,
    parse_seat_policy,
)
from konsilo.governance.errors import ApportionmentError

SL = ApportionmentMethod.SAINTE_LAGUE
DH = ApportionmentMethod.DHONDT
HARE = ApportionmentMethod.LARGEST_REMAINDER_HARE

# Published worked examples. Each: (source, method, total, populations, expected seats).
KNOWN_ANSWERS: list[tuple[str, ApportionmentMethod, int, dict[str, int], dict[str, int]]] = [
    # Wikipedia "D'Hondt method" / "Sainte-Laguë method": 8 seats, 230,000 votes.
    (
        "dhondt 8 seats",
        DH,
        8,
        {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000},
        {"A": 4, "B": 3, "C": 1, "D": 0},
    ),
    (
        "sainte-lague 8 seats",
        SL,
        8,
        {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000},
        {"A": 3, "B": 3, "C": 1, "D": 1},
    ),
    (
        "hare 8 seats",
        HARE,
        8,
        {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000},
        {"A": 3, "B": 3, "C": 1, "D": 1},
    ),
    # Wikipedia "Largest remainder method": 10 seats, 100,000 votes, Hare quota 10,000.
    (
        "hare 10 seats",
        HARE,
        10,
        {
            "yellows": 47_000,
            "whites": 16_000,
            "reds": 15_800,
            "greens": 12_000,
            "blues": 6_100,
            "pinks": 3_100,
        },
        {"yellows": 5, "whites": 2, "reds": 1, "greens": 1, "blues": 1, "pinks": 0},
    ),
    # domain-rules §3.6: 120 members, 2 seats, 70 yes / 40 no: a 64% majority split 1–1.
    ("§3.6 largest remainder", HARE, 2, {"yes": 70, "no": 40}, {"yes": 1, "no": 1}),
    ("§3.6 dhondt", DH, 2, {"yes": 70, "no": 40}, {"yes": 1, "no": 1}),
    ("§3.6 sainte-lague", SL, 2, {"yes": 70, "no": 40}, {"yes": 1, "no": 1}),
    # The Alabama paradox (Balinski & Young): with 11 seats C drops from 2 to 1 under Hare.
    ("alabama 10", HARE, 10, {"A": 6, "B": 6, "C": 2}, {"A": 4, "B": 4, "C": 2}),
    ("alabama 11", HARE, 11, {"A": 6, "B": 6, "C": 2}, {"A": 5, "B": 5, "C": 1}),
]


@pytest.mark.parametrize(
    ("method", "total", "populations", "expected"),
    [case[1:] for case in KNOWN_ANSWERS],
    ids=[case[0] for case in KNOWN_ANSWERS],
)
def test_matches_published_worked_examples(
    method: ApportionmentMethod,
    total: int,
    populations: dict[str, int],
    expected: dict[str, int],
) -> None:
    result = apportion(total, populations, method=method)
    assert dict(result.seats) == expected
    assert result.method == method.value
    assert result.draws == ()
    assert result.total == total


def test_the_section_3_6_split_shows_the_rounding_loss() -> None:
    """Fractional shares would be 14/11 and 8/11; whole seats give 1 and 1."""
    result = apportion(2, {"yes": 70, "no": 40}, method=HARE)
    exact_yes = Fraction(2 * 70, 110)
    assert exact_yes == Fraction(14, 11)
    assert result.seats["yes"] - exact_yes == Fraction(-3, 11)


def test_explanation_names_the_method_and_every_party() -> None:
    result = apportion(8, {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}, method=DH)
    assert "D'Hondt" in result.explanation
    for party in "ABCD":
        assert f"{party} {result.seats[party]}" in result.explanation


def test_1918_urban_and_provincial_ratios() -> None:
    """RSFSR 1918: urban soviets 1 per 25,000 voters, provincial congresses 1 per 125,000."""
    urban = delegation_seats(
        parse_seat_policy("per_members(25000)"),
        {"moscow": 1_000_000, "tver": 60_000, "small_town": 12_000},
    )
    assert dict(urban.seats) == {"moscow": 40, "tver": 2, "small_town": 1}
    provincial = delegation_seats(PerMembers(125_000), {"vladimir": 1_625_000, "tula": 1_749_999})
    assert dict(provincial.seats) == {"vladimir": 13, "tula": 13}
    # Equal weight per head across the two ratios: one provincial delegate stands for five
    # times as many people as one urban delegate.
    assert Fraction(125_000, 25_000) == 5


def test_rojava_2014_one_seat_per_15000_votes_fills_101_seats() -> None:
    votes = {"jazira": 900_000, "kobani": 345_000, "afrin": 270_000}
    assert sum(votes.values()) == 101 * 15_000
    result = delegation_seats(PerMembers(15_000), votes)
    assert dict(result.seats) == {"jazira": 60, "kobani": 23, "afrin": 18}
    assert result.total == 101
    assert dict(apportion(101, votes, method=SL).seats) == dict(result.seats)


def test_per_members_rounds_down_to_full_quotas_with_a_floor() -> None:
    result = delegation_seats(
        PerMembers(25, min_seats=1), {"a": 0, "b": 24, "c": 25, "d": 49, "e": 50}
    )
    assert dict(result.seats) == {"a": 1, "b": 1, "c": 1, "d": 1, "e": 2}
    none_floor = delegation_seats(PerMembers(25, min_seats=0), {"a": 24})
    assert none_floor.seats["a"] == 0


def test_fixed_gives_every_delegation_the_same_seats() -> None:
    result = delegation_seats(Fixed(2), {"a": 10, "b": 10_000})
    assert dict(result.seats) == {"a": 2, "b": 2}
    assert result.method == "fixed"


def test_apportioned_policy_uses_its_method_and_minimum() -> None:
    reps = {"big": 1_000, "mid": 100, "tiny": 1}
    result = delegation_seats(parse_seat_policy("apportioned(10, dhondt, min=1)"), reps)
    assert result.seats["tiny"] == 1
    assert result.total == 10
    assert result.method == "dhondt"


@pytest.mark.parametrize("method", list(ApportionmentMethod))
def test_minimum_seats_are_guaranteed_first(method: ApportionmentMethod) -> None:
    pops = {"big": 9_000, "mid": 900, "small": 90, "empty": 0}
    result = apportion(12, pops, method=method, min_seats=2)
    assert all(result.seats[k] >= 2 for k in pops)
    assert result.total == 12
    assert result.seats["big"] == 6
    assert "guaranteed 2" in result.explanation


def test_divisor_minimum_gives_max_of_minimum_and_divisor_share() -> None:
    """With a floor of 1, D'Hondt gives max(1, floor(p / D)) for one common divisor D."""
    pops = {"A": 100_000, "B": 80_000, "C": 30_000, "D": 20_000}
    seats = dict(apportion(8, pops, method=DH, min_seats=1).seats)
    divisor = Fraction(80_000, 3)
    assert seats == {k: max(1, int(Fraction(p) / divisor)) for k, p in pops.items()}
    assert seats == {"A": 3, "B": 3, "C": 1, "D": 1}


def test_hare_holds_parties_below_the_minimum_and_shares_the_rest() -> None:
    result = apportion(10, {"A": 6, "B": 3, "C": 1}, method=HARE, min_seats=2)
    # C's entitlement is 1 < 2: held at 2; A and B share 8 by Hare (16/3, 8/3 -> 5, 3).
    assert dict(result.seats) == {"A": 5, "B": 3, "C": 2}
    assert "held at the minimum: C" in result.explanation


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"total": -1, "populations": {"a": 1}}, "total", "out_of_range"),
        ({"total": 2, "populations": {"a": -5}}, "populations.a", "out_of_range"),
        ({"total": 2, "populations": {"a": 1.5}}, "populations.a", "not_integer"),
        ({"total": True, "populations": {"a": 1}}, "total", "not_integer"),
        ({"total": 3, "populations": {"a": 1, "b": 1}, "min_seats": 2}, "min_seats", "infeasible"),
        ({"total": 3, "populations": {"a": 0, "b": 0}}, "populations", "infeasible"),
        ({"total": 3, "populations": {}}, "populations", "infeasible"),
        ({"total": 3, "populations": {"a": 1}, "min_seats": -1}, "min_seats", "out_of_range"),
    ],
)
def test_refuses_infeasible_input(kwargs: dict[str, object], field: str, code: str) -> None:
    with pytest.raises(ApportionmentError) as err:
        apportion(method=DH, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field
    assert err.value.code == code


def test_refuses_an_unknown_method() -> None:
    with pytest.raises(ApportionmentError, match="sainte_lague, dhondt, largest_remainder_hare"):
        apportion(2, {"a": 1}, method="droop")


def test_zero_seats_and_exact_minimums_need_no_population() -> None:
    assert dict(apportion(0, {"a": 0, "b": 5}, method=SL).seats) == {"a": 0, "b": 0}
    assert dict(apportion(4, {"a": 0, "b": 0}, method=HARE, min_seats=2).seats) == {
        "a": 2,
        "b": 2,
    }


@pytest.mark.parametrize("method", list(ApportionmentMethod))
def test_exact_tie_for_the_last_seat_is_drawn_by_lot_and_recorded(
    method: ApportionmentMethod,
) -> None:
    pops = {"north": 300, "south": 300, "east": 300}
    first = apportion(4, pops, method=method, seed="2026-11-22 congress")
    again = apportion(4, dict(reversed(pops.items())), method=method, seed="2026-11-22 congress")
    assert first == again
    assert len(first.draws) == 1
    draw = first.draws[0]
    assert draw.among == ("east", "north", "south")
    assert first.seats[draw.chosen] == 2
    assert sorted(first.seats.values()) == [1, 1, 2]
    assert f"Lot drawn among east, north, south: {draw.chosen}" in first.explanation


def test_two_seats_left_for_three_tied_parties_draw_twice() -> None:
    result = apportion(2, {"a": 1, "b": 1, "c": 1}, method=DH, seed="s")
    assert len(result.draws) == 2
    assert result.draws[0].counter < result.draws[1].counter
    assert result.draws[1].chosen != result.draws[0].chosen
    assert set(result.draws[1].among) == {"a", "b", "c"} - {result.draws[0].chosen}


def test_tie_that_fits_the_seats_left_needs_no_lot() -> None:
    result = apportion(3, {"a": 1, "b": 1, "c": 1}, method=SL)
    assert dict(result.seats) == {"a": 1, "b": 1, "c": 1}
    assert result.draws == ()


def test_tie_without_a_seed_is_refused_with_a_clear_error() -> None:
    with pytest.raises(ApportionmentError, match="a, b tie exactly") as err:
        apportion(1, {"a": 7, "b": 7}, method=SL)
    assert err.value.code == "lot_required"
    assert err.value.field == "seed"


def test_different_seeds_can_draw_differently() -> None:
    chosen = {
        apportion(1, {"a": 7, "b": 7, "c": 7}, method=DH, seed=f"seed-{i}").draws[0].chosen
        for i in range(30)
    }
    assert len(chosen) > 1


def test_apportionment_is_canonical_json() -> None:
    result = apportion(4, {"a": 1, "b": 1, "c": 1}, method=HARE, seed="x")
    data = canonical.loads(canonical.dumps(result))
    assert data["seats"] == dict(result.seats)
    assert data["draws"][0]["chosen"] == result.draws[0].chosen


# -- seat policy text ---------------------------------------------------------------------

SEAT_POLICY_TEXTS = [
    ("fixed(2)", Fixed(2), "fixed(2)"),
    ("per_members(25)", PerMembers(25), "per_members(25)"),
    ("per_members(25, min=1)", PerMembers(25, 1), "per_members(25)"),
    ("per_members(25,min=0)", PerMembers(25, 0), "per_members(25, min=0)"),
    ("apportioned(50)", Apportioned(50), "apportioned(50, sainte_lague)"),
    ("apportioned(50, sainte_lague)", Apportioned(50, SL), "apportioned(50, sainte_lague)"),
    ("apportioned(50, dhondt, min=2)", Apportioned(50, DH, 2), "apportioned(50, dhondt, min=2)"),
    (
        " apportioned( 7 , largest_remainder_hare ) ",
        Apportioned(7, HARE),
        "apportioned(7, largest_remainder_hare)",
    ),
]


@pytest.mark.parametrize(("text", "policy", "canonical_text"), SEAT_POLICY_TEXTS)
def test_seat_policy_text_parses_and_round_trips(
    text: str, policy: object, canonical_text: str
) -> None:
    parsed = parse_seat_policy(text)
    assert parsed == policy
    assert format_seat_policy(parsed) == canonical_text
    assert parse_seat_policy(format_seat_policy(parsed)) == parsed


@pytest.mark.parametrize(
    ("text", "expected_words"),
    [
        ("", "fixed(n), per_members(k[, min=m])"),
        ("fixed", "fixed(n)"),
        ("fixed()", "fixed(n)"),
        ("fixed(0)", "≥ 1"),
        ("fixed(2, min=1)", "without min"),
        ("fixed(-2)", "whole number for n"),
        ("fixed(1.5)", "whole number for n"),
        ("per_members(0)", "≥ 1"),
        ("per_members(25, 3)", "per_members(k[, min=m])"),
        ("per_members(25, max=3)", "'min=m'"),
        ("per_members(25, min=1, min=2)", "'min=m'"),
        ("apportioned(50, droop)", "sainte_lague, dhondt"),
        ("apportioned(50, min=1, dhondt)", "'min=m' last"),
        ("apportioned(50, dhondt, 3)", "apportioned(total[, method][, min=m])"),
        ("weighted(3)", "unknown form 'weighted'"),
    ],
)
def test_bad_seat_policy_text_names_what_was_expected(text: str, expected_words: str) -> None:
    with pytest.raises(ApportionmentError) as err:
        parse_seat_policy(text)
    assert expected_words in err.value.message
    assert err.value.field == "delegation_seats"


def test_policy_objects_validate_their_numbers() -> None:
    with pytest.raises(ApportionmentError, match="≥ 1"):
        Apportioned(0)
    with pytest.raises(ApportionmentError, match="≥ 0"):
        PerMembers(10, min_seats=-1)
    assert Apportioned(5, "dhondt").method is DH  # type: ignore[arg-type]


# -- invariants -----------------------------------------------------------------------------

populations = st.dictionaries(
    st.text(alphabet="abcdefgh", min_size=1, max_size=3),
    st.integers(0, 10_000),
    min_size=1,
    max_size=7,
).filter(lambda d: sum(d.values()) > 0)


@settings(max_examples=150)
@given(populations, st.integers(0, 60), st.sampled_from(list(ApportionmentMethod)), st.data())
def test_seats_always_sum_to_the_total_and_respect_the_minimum(
    pops: dict[str, int], total: int, method: ApportionmentMethod, data: st.DataObject
) -> None:
    min_seats = data.draw(st.integers(0, total // len(pops)))
    result = apportion(total, pops, method=method, min_seats=min_seats, seed="inv")
    assert sum(result.seats.values()) == total
    assert set(result.seats) == set(pops)
    assert all(s >= min_seats for s in result.seats.values())


@settings(max_examples=150)
@given(populations, st.integers(0, 40), st.sampled_from([SL, DH]), st.integers(0, 2))
def test_divisor_methods_are_house_monotone(
    pops: dict[str, int], total: int, method: ApportionmentMethod, min_seats: int
) -> None:
    """One more seat in the house never takes a seat from anyone (no Alabama paradox)."""
    if min_seats * len(pops) > total:
        min_seats = 0
    smaller = apportion(total, pops, method=method, min_seats=min_seats, seed="house")
    larger = apportion(total + 1, pops, method=method, min_seats=min_seats, seed="house")
    assert all(larger.seats[k] >= smaller.seats[k] for k in pops)


@settings(max_examples=150)
@given(populations, st.integers(0, 40), st.sampled_from(list(ApportionmentMethod)), st.randoms())
def test_permuting_the_input_never_changes_the_result(
    pops: dict[str, int], total: int, method: ApportionmentMethod, rnd: random.Random
) -> None:
    items = list(pops.items())
    rnd.shuffle(items)
    first = apportion(total, pops, method=method, seed="perm")
    second = apportion(total, dict(items), method=method, seed="perm")
    assert first == second
    assert canonical.dumps(first) == canonical.dumps(second)


@settings(max_examples=100)
@given(populations, st.integers(1, 40), st.sampled_from(list(ApportionmentMethod)))
def test_a_larger_population_never_gets_fewer_seats(
    pops: dict[str, int], total: int, method: ApportionmentMethod
) -> None:
    result = apportion(total, pops, method=method, seed="order")
    for a, pop_a in pops.items():
        for b, pop_b in pops.items():
            if pop_a > pop_b:
                assert result.seats[a] >= result.seats[b]


@settings(max_examples=100)
@given(populations, st.integers(1, 40))
def test_hare_stays_within_one_seat_of_the_exact_quota(pops: dict[str, int], total: int) -> None:
    result = apportion(total, pops, method=HARE, seed="quota")
    whole = sum(pops.values())
    for k, p in pops.items():
        quota = Fraction(p * total, whole)
        assert quota - 1 < result.seats[k] < quota + 1


def _as_dict(m: Mapping[str, int]) -> dict[str, int]:
    return dict(m)


@settings(max_examples=60)
@given(populations, st.integers(1, 5_000), st.integers(0, 3))
def test_per_members_is_a_floor_division_with_a_minimum(
    pops: dict[str, int], k: int, m: int
) -> None:
    result = delegation_seats(PerMembers(k, m), pops)
    assert _as_dict(result.seats) == {key: max(m, p // k) for key, p in pops.items()}


seat_policies = st.one_of(
    st.builds(Fixed, st.integers(1, 1_000)),
    st.builds(PerMembers, st.integers(1, 10**6), st.integers(0, 5)),
    st.builds(Apportioned, st.integers(1, 1_000), st.sampled_from(list(ApportionmentMethod)),
              st.integers(0, 5)),
)  # fmt: skip


@settings(max_examples=200)
@given(seat_policies)
def test_every_seat_policy_round_trips_through_its_text(policy: SeatPolicy) -> None:
    text = format_seat_policy(policy)
    assert parse_seat_policy(text) == policy
    assert parse_seat_policy(text.replace(", ", " , ").replace("(", " ( ")) == policy
