"""Ranked profiles: the array form equals the general form, merging, validation, canonical data."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import profile as profile_module
from konsilo.counting.profile import EqualRankingError, ProfileError, RankedProfile

NAMES = ["Ana", "Bea", "Cai", "Dov", "Eli"]


@st.composite
def strict_ballots(draw: st.DrawFn) -> tuple[list[list[int]], list[int]]:
    n = len(NAMES)
    rows = draw(
        st.lists(
            st.permutations(range(n)).flatmap(lambda p: st.integers(0, n).map(lambda k: p[:k]))
        )
    )
    weights = draw(st.lists(st.integers(0, 5), min_size=len(rows), max_size=len(rows)))
    return [list(r) for r in rows], weights


def _by_name(rows: list[list[int]]) -> list[list[str]]:
    return [[NAMES[i] for i in row] for row in rows]


@settings(max_examples=60, deadline=None)
@given(strict_ballots())
def test_from_indices_equals_the_name_based_constructor(
    case: tuple[list[list[int]], list[int]],
) -> None:
    rows, weights = case
    fast = RankedProfile.from_indices(NAMES, rows, weights)
    slow = RankedProfile.from_rankings(NAMES, _by_name(rows), weights)
    assert fast.to_canonical() == slow.to_canonical()
    grouped: dict[tuple[tuple[int, ...], ...], int] = {}
    empty = 0
    for row, weight in zip(rows, weights, strict=True):
        if row:
            key = tuple((i,) for i in row)
            grouped[key] = grouped.get(key, 0) + weight
        else:
            empty += weight
    expected = sorted((r, w) for r, w in grouped.items() if w)
    assert list(zip(fast.rankings, fast.weights, strict=True)) == expected
    assert fast.empty == empty
    assert fast.num_ballots == sum(w for _, w in expected)


@settings(max_examples=60, deadline=None)
@given(strict_ballots(), st.randoms(use_true_random=False))
def test_ballot_order_never_changes_the_profile(
    case: tuple[list[list[int]], list[int]], rnd: object
) -> None:
    rows, weights = case
    pairs = list(zip(rows, weights, strict=True))
    rnd.shuffle(pairs)  # type: ignore[attr-defined]
    shuffled = RankedProfile.from_indices(NAMES, [r for r, _ in pairs], [w for _, w in pairs])
    original = RankedProfile.from_indices(NAMES, rows, weights)
    assert canonical.dumps(shuffled.to_canonical()) == canonical.dumps(original.to_canonical())


@settings(max_examples=40, deadline=None)
@given(strict_ballots())
def test_a_padded_matrix_gives_the_same_profile_as_lists(
    case: tuple[list[list[int]], list[int]],
) -> None:
    rows, weights = case
    matrix = np.full((len(rows), len(NAMES)), -1, dtype=np.int64)
    for r, row in enumerate(rows):
        matrix[r, : len(row)] = row
    from_matrix = RankedProfile.from_indices(NAMES, matrix, np.array(weights, dtype=np.int64))
    from_lists = RankedProfile.from_indices(NAMES, rows, weights)
    assert from_matrix.to_canonical() == from_lists.to_canonical()


@settings(max_examples=60, deadline=None)
@given(strict_ballots(), st.sampled_from([None, "fractions"]))
def test_the_array_path_for_many_ballots_equals_the_path_for_few(
    case: tuple[list[list[int]], list[int]], kind: str | None
) -> None:
    rows, counts = case
    weights: list[int | Fraction] = (
        [Fraction(w, 3) for w in counts] if kind == "fractions" else list(counts)
    )
    few = RankedProfile.from_indices(NAMES, rows, weights)
    original = profile_module._SMALL
    try:
        profile_module._SMALL = -1
        many = RankedProfile.from_indices(NAMES, rows, weights)
    finally:
        profile_module._SMALL = original
    assert many.to_canonical() == few.to_canonical()
    assert many.is_integral == few.is_integral
    assert many.strict_ballots().matrix.tolist() == few.strict_ballots().matrix.tolist()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.permutations(range(16, 30)), st.integers(1, 14)),
        min_size=1,
        max_size=40,
    )
)
def test_long_rankings_sharing_prefixes_sort_and_merge_like_the_python_path(
    parts: list[tuple[int, list[int], int]],
) -> None:
    names = [f"C{i}" for i in range(30)]
    prefixes = [list(range(16)), list(range(15, -1, -1)), list(range(8)) + list(range(15, 7, -1))]
    rows = [prefixes[p] + list(tail[:cut]) for p, tail, cut in parts]
    few = RankedProfile.from_indices(names, rows)
    original = profile_module._SMALL
    try:
        profile_module._SMALL = -1
        many = RankedProfile.from_indices(names, rows)
    finally:
        profile_module._SMALL = original
    assert many.rankings == few.rankings
    assert many.weights == few.weights


def test_many_rows_merge_on_first_use_and_counting_may_read_them_unmerged() -> None:
    rows = [[1, 0], [0, 1], [1, 0]] * 100
    p = RankedProfile.from_indices(NAMES[:2], rows)
    raw = p.strict_rows()
    assert raw.matrix.shape == (300, 2)
    assert p.num_ballots == 300
    assert p.is_integral
    merged = p.strict_ballots()
    assert merged.matrix.tolist() == [[0, 1], [1, 0]]
    assert merged.counts is not None
    assert merged.counts.tolist() == [100, 200]
    assert p.strict_rows().matrix.tolist() == [[0, 1], [1, 0]]


def test_identical_rows_merge_and_keep_the_canonical_order() -> None:
    p = RankedProfile.from_indices(NAMES[:3], [[2, 1], [0], [2, 1], [0, 1, 2], [0]])
    assert p.rankings == (((0,),), ((0,), (1,), (2,)), ((2,), (1,)))
    assert p.weights == (Fraction(2), Fraction(1), Fraction(2))
    assert p.num_distinct == 3
    assert p.is_integral
    assert not p.has_equal_rankings


def test_fractional_weights_are_kept_exact() -> None:
    p = RankedProfile.from_indices(NAMES[:2], [[0, 1], [0, 1], [1]], [Fraction(1, 3), 1, "1/2"])  # type: ignore[list-item]
    assert p.weights == (Fraction(4, 3), Fraction(1, 2))
    assert not p.is_integral
    ballots = p.strict_ballots()
    assert ballots.counts is None
    assert ballots.fractions == (Fraction(4, 3), Fraction(1, 2))
    with pytest.raises(ProfileError, match="whole-number"):
        p.strict_arrays()


def test_empty_ballots_and_zero_weights_are_not_rankings() -> None:
    p = RankedProfile.from_indices(NAMES[:2], [[], [1], [0], []], [2, 0, 1, 3])
    assert p.rankings == (((0,),),)
    assert p.empty == 5
    assert p.num_ballots == 1


def test_strict_arrays_pad_with_minus_one() -> None:
    p = RankedProfile.from_indices(NAMES[:3], [[1, 0, 2], [2]], [3, 4])
    matrix, weights = p.strict_arrays()
    assert matrix.dtype == np.int32
    assert matrix.tolist() == [[1, 0, 2], [2, -1, -1]]
    assert weights.tolist() == [3, 4]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0, 5]], "ballot 1: candidate index 5 is not between 0 and 2"),
        ([[0], [1, 1]], "ballot 2: a candidate is ranked twice"),
        ([[-2]], "ballot 1: candidate index -2"),
    ],
)
def test_bad_index_lists_are_refused_naming_the_ballot(
    rows: list[list[int]], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ProfileError, match=message):
        RankedProfile.from_indices(NAMES[:3], rows)
    monkeypatch.setattr(profile_module, "_SMALL", -1)
    with pytest.raises(ProfileError, match=message):
        RankedProfile.from_indices(NAMES[:3], rows)


def test_padding_before_a_preference_is_refused() -> None:
    with pytest.raises(ProfileError, match="ballot 2: -1 padding before a preference"):
        RankedProfile.from_indices(NAMES[:3], np.array([[0, 1], [-1, 2]]))
    with pytest.raises(ProfileError, match="ballot 2: -1 padding before a preference"):
        RankedProfile.from_indices(NAMES[:3], [[0, 1], [-1, 2]])
    padded = RankedProfile.from_indices(NAMES[:3], [[0, 1, -1], [2, -1, -1]])
    assert padded.rankings == (((0,), (1,)), ((2,),))


def test_a_candidate_twice_is_refused_with_many_candidates() -> None:
    names = [f"C{i}" for i in range(70)]
    with pytest.raises(ProfileError, match="ballot 1: a candidate is ranked twice"):
        RankedProfile.from_indices(names, [[69, 3, 69]])


@pytest.mark.parametrize("n", [2, 31, 32, 62, 63])
@pytest.mark.parametrize("padded", [False, True])
def test_a_repeated_candidate_is_found_at_every_width_of_the_check(n: int, padded: bool) -> None:
    """The bit-mask check uses 32-bit masks up to 31 candidates, 64-bit ones up to 62 (one
    bit for padding), and sorting above: each finds the one bad row among many good ones."""
    names = [f"C{i}" for i in range(n)]
    rng = np.random.default_rng(n)
    good = np.argsort(rng.random((70_000, n)), axis=1)
    if padded:
        good[:, n // 2 :] = -1
    RankedProfile.from_indices(names, good)  # every row is a valid ranking
    bad = good.copy()
    bad[66_000, 1] = bad[66_000, 0]  # a row past the first block of the check
    with pytest.raises(ProfileError, match="ballot 66001: a candidate is ranked twice"):
        RankedProfile.from_indices(names, bad)


def test_negative_and_mismatched_weights_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ProfileError, match="ballot 2: weight -1 is negative"):
        RankedProfile.from_indices(NAMES[:2], [[0], [1]], [1, -1])
    with pytest.raises(ProfileError, match="ballot 2: weight -1/2 is negative"):
        RankedProfile.from_indices(NAMES[:2], [[0], [1]], [1, Fraction(-1, 2)])
    with pytest.raises(ProfileError, match="weights: not an exact number"):
        RankedProfile.from_indices(NAMES[:2], [[0], [1]], [1, "lots"])  # type: ignore[list-item]
    monkeypatch.setattr(profile_module, "_SMALL", -1)
    with pytest.raises(ProfileError, match="ballot 2: weight -1 is negative"):
        RankedProfile.from_indices(NAMES[:2], [[0], [1]], [1, -1])
    with pytest.raises(ProfileError, match="ballot 2: weight -1/2 is negative"):
        RankedProfile.from_indices(NAMES[:2], [[0], [1]], [1, Fraction(-1, 2)])
    with pytest.raises(ProfileError, match="weights: expected 2 weights"):
        RankedProfile.from_indices(NAMES[:2], [[0], [1]], [1])
    with pytest.raises(ProfileError, match="weights: there must be one weight per ranking"):
        RankedProfile.from_rankings(NAMES[:2], [["Ana"], ["Bea"]], [1])


def test_equal_rankings_keep_the_general_form_and_are_refused_by_strict_rules() -> None:
    p = RankedProfile.from_rankings(NAMES[:3], [[{"Ana", "Bea"}, "Cai"], ["Cai"]])
    assert p.has_equal_rankings
    assert p.rankings == (((0, 1), (2,)), ((2,),))
    with pytest.raises(EqualRankingError, match="ranks Ana = Bea equally"):
        p.strict_ballots("Scottish STV")


def test_a_profile_is_immutable() -> None:
    p = RankedProfile.from_indices(NAMES[:2], [[0]])
    with pytest.raises(AttributeError, match="immutable"):
        p.title = "changed"  # type: ignore[misc]


def test_the_plain_constructor_still_holds_rankings_as_given() -> None:
    p = RankedProfile(
        candidates=("Ana", "Bea"),
        rankings=(((1,), (0,)),),
        weights=(Fraction(2),),
        withdrawn=frozenset({"Ana"}),
    )
    assert p.continuing == ("Bea",)
    assert p.strict_ballots().matrix.tolist() == [[1, 0]]
    assert p.num_ballots == 2
    with pytest.raises(ProfileError, match="one weight per ranking"):
        RankedProfile(candidates=("Ana",), rankings=(((0,),),), weights=())


@settings(max_examples=40, deadline=None)
@given(strict_ballots(), st.integers(0, 3))
def test_canonical_json_round_trips(case: tuple[list[list[int]], list[int]], extra: int) -> None:
    rows, weights = case
    p = RankedProfile.from_indices(NAMES, rows, weights, withdrawn=["Eli"], title="Ward 1")
    p = RankedProfile.from_grouped(
        NAMES,
        dict(zip(p.rankings, p.weights, strict=True)),
        withdrawn=["Eli"],
        empty=p.empty + extra,
        title="Ward 1",
    )
    data = json.loads(canonical.dumps(p.to_canonical()))
    back = RankedProfile.from_canonical(data)
    assert canonical.dumps(back.to_canonical()) == canonical.dumps(p.to_canonical())
    assert back.withdrawn == {"Eli"}
    assert back.title == "Ward 1"


def test_malformed_canonical_data_is_refused() -> None:
    with pytest.raises(ProfileError, match="malformed canonical data"):
        RankedProfile.from_canonical({"candidates": ["A"]})
