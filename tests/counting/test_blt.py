"""BLT files: reading every extension, writing, round trips, and one clear error per bad file."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo.counting.blt import BltError, read_blt, write_blt
from konsilo.counting.profile import RankedProfile

# The public conformance data sits beside the repository (../shared/conformance);
# KONSILO_CONFORMANCE points elsewhere, e.g. from a worktree.
SHARED = Path(
    os.environ.get(
        "KONSILO_CONFORMANCE", Path(__file__).parents[2].parent / "shared" / "conformance"
    )
)
CONFORMANCE = SHARED / "stv-rs" / "testdata"
BLT_FILES = sorted(CONFORMANCE.glob("**/*.blt")) if CONFORMANCE.is_dir() else []

NAMES = ("Ana", "Bea", "Cy", "Dan")


def ballots_of(text: str) -> dict[tuple[tuple[str, ...], ...], Fraction]:
    p = read_blt(text).profile
    return {
        tuple(tuple(p.candidates[i] for i in g) for g in r): w
        for r, w in zip(p.rankings, p.weights, strict=True)
    }


def test_reads_the_original_algorithm_123_example() -> None:
    e = read_blt(
        "4 2\n-2\n3 1 3 4 0\n4 1 3 2 0\n2 4 1 3 0\n1 2 0\n2 2 4 3 1 0\n1 3 4 2 0\n0\n"
        '"Adam"\n"Basil"\n"Charlotte"\n"Donald"\n"Title"\n'
    )
    assert e.seats == 2
    assert e.profile.candidates == ("Adam", "Basil", "Charlotte", "Donald")
    assert e.profile.withdrawn == frozenset({"Basil"})
    assert e.profile.title == "Title"
    assert e.profile.num_ballots == 13
    assert ballots_of(write_blt(e.profile, 2))[("Adam",), ("Charlotte",), ("Donald",)] == 3


def test_nicknames_withdrawn_tie_and_equal_rankings() -> None:
    e = read_blt(
        "3 2\n[nick a b c]\n[withdrawn b]\n[tie c b a]\n"
        '2 a=b c 0\n1 c 0\n0\n"Ana"\n"Bea"\n"Cy"\n"Vote"\n'
    )
    assert e.nicknames == ("a", "b", "c")
    assert e.profile.withdrawn == frozenset({"Bea"})
    assert e.tie_order == ("Cy", "Bea", "Ana")
    assert ballots_of(write_blt(e.profile, 2, nicknames=e.nicknames)) == {
        (("Ana", "Bea"), ("Cy",)): 2,
        (("Cy",),): 1,
    }


def test_comments_ballot_ids_skips_and_free_line_breaks() -> None:
    text = (
        "# an election\n3 1  # three candidates\n(b1) 2 1 - 2 0\n"
        '3 3\n 1 0\n0\n"Ana # not a comment"\n"Bea"\n"Cy"\n"T"\n"source"\n"remark"\n'
    )
    e = read_blt(text)
    assert e.profile.candidates[0] == "Ana # not a comment"
    assert e.notes == ("source", "remark")
    ana = "Ana # not a comment"
    assert ballots_of(text) == {((ana,), ("Bea",)): 2, (("Cy",), (ana,)): 3}


def test_other_options_are_kept() -> None:
    e = read_blt('1 1\n[droop meek precision=9]\n1 1 0\n0\n"A"\n"T"\n')
    assert e.options == {"droop": ("meek", "precision=9")}


def test_empty_ballots_count_as_empty() -> None:
    e = read_blt('2 1\n4 0\n1 2 0\n0\n"A"\n"B"\n"T"\n')
    assert e.profile.empty == 4
    assert read_blt(write_blt(e.profile, 1)).profile.empty == 4


def test_the_bulk_reader_and_the_token_reader_agree() -> None:
    plain = '3 2\n5 1 2 3 0\n2 3 0\n1 2 1 0\n5 1 2 3 0\n0\n"A"\n"B"\n"C"\n"T"\n'
    commented = plain.replace("2 3 0\n", "2 3 0 # forces the token reader\n")
    assert read_blt(plain).profile.to_canonical() == read_blt(commented).profile.to_canonical()


def test_windows_line_ends_and_byte_order_mark() -> None:
    e = read_blt('\ufeff2 1\r\n1 2 1 0\r\n0\r\n"A"\r\n"B"\r\n"T"\r\n')
    assert ballots_of(write_blt(e.profile, 1)) == {(("B",), ("A",)): 1}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("", 1, "empty"),
        ("three 2\n", 1, "header 'candidates seats'"),
        ("3\n", 1, "header 'candidates seats'"),
        ("3 0\n1 1 0\n0\n", 1, "at least one seat"),
        ('2 1\n1 1 3 0\n0\n"A"\n"B"\n"T"\n', 2, "unknown candidate number 3"),
        ('2 1\n1 1 2 0\n3 2 2 0\n0\n"A"\n"B"\n"T"\n', 3, "ranked twice"),
        ('2 1\n1 1 2 0\n-3 2 0\n0\n"A"\n"B"\n"T"\n', 3, "negative"),
        ('2 1\n1 1 x 0\n0\n"A"\n"B"\n"T"\n', 2, "unknown candidate 'x'"),
        ('2 1\n1.5 1 0\n0\n"A"\n"B"\n"T"\n', 2, "whole number, got '1.5'"),
        ('2 1\n1 1 2.0 0\n0\n"A"\n"B"\n"T"\n', 2, "expected a candidate number"),
        ('2 1\n1 1 2 0\n"A"\n"B"\n"T"\n', 3, "line '0' that ends the ballots"),
        ("2 1\n1 1 2 0\n2 2 1 0\n", 3, "ballots never end"),
        ("2 1\n1 1 2\n", 2, "does not end with 0"),
        ('2 1\n1 1 2 0\n0 1 0\n"A"\n"B"\n"T"\n', 3, "text after the 0"),
        ('2 1\n1 1 2 0\n0\n"A"\n', 4, "expected 2 candidate names"),
        ('2 1\n1 1 2 0\n0\n"A"\nB\n"T"\n', 5, "a candidate name in double quotes"),
        ('2 1\n1 1 2 0\n0\n"A"\n"A"\n"T"\n', 5, "appears twice"),
        ('2 1\n[nick a]\n1 a 0\n0\n"A"\n"B"\n"T"\n', 2, "1 nicknames for 2 candidates"),
        ('2 1\n[nick a a]\n1 a 0\n0\n"A"\n"B"\n"T"\n', 2, "same nickname twice"),
        ('2 1\n[withdrawn z]\n1 1 0\n0\n"A"\n"B"\n"T"\n', 2, "unknown candidate 'z'"),
        ('2 1\n[tie 1 1]\n1 1 0\n0\n"A"\n"B"\n"T"\n', 2, "[tie ...] names a candidate twice"),
        ('2 1\n-5\n1 1 0\n0\n"A"\n"B"\n"T"\n', 2, "unknown candidate number 5"),
        ('2 1\n[nick a b\n1 a 0\n0\n"A"\n"B"\n"T"\n', 2, "expected an option"),
        ('2 1\n1 1= 0\n0\n"A"\n"B"\n"T"\n', 2, "empty candidate in the equal ranking"),
        ("2 1\n(id 1 1 0\n", 2, "never closed"),
    ],
)
def test_a_bad_file_gets_one_message_with_its_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(BltError) as info:
        read_blt(text)
    assert info.value.line == line
    assert problem in str(info.value)
    assert str(info.value).startswith(f"line {line}: ")


def test_writing_refuses_what_blt_cannot_hold() -> None:
    p = RankedProfile.from_rankings(["A", "B"], [["A"]], [Fraction(1, 2)])
    with pytest.raises(BltError, match="whole-number weights"):
        write_blt(p, 1)
    q = RankedProfile.from_rankings(['say "A"', "B"], [["B"]])
    with pytest.raises(BltError, match="cannot be written"):
        write_blt(q, 1)


@pytest.mark.skipif(not BLT_FILES, reason="../shared/conformance is not present")
@pytest.mark.parametrize("path", BLT_FILES, ids=lambda p: str(p.relative_to(CONFORMANCE)))
def test_every_conformance_file_reads_and_round_trips(path: Path) -> None:
    e = read_blt(path.read_text())
    again = read_blt(write_blt(e.profile, e.seats, tie_order=e.tie_order))
    assert again.profile.to_canonical() == e.profile.to_canonical()
    assert again.tie_order == e.tie_order
    assert again.seats == e.seats


rankings = st.lists(
    st.lists(
        st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True),
        max_size=4,
    ),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    raw=rankings,
    weights=st.lists(st.integers(0, 10**12), min_size=12, max_size=12),
    withdrawn=st.sets(st.sampled_from(NAMES)),
    nick=st.booleans(),
)
def test_any_profile_round_trips(
    raw: list[list[list[str]]], weights: list[int], withdrawn: set[str], nick: bool
) -> None:
    # Keep each ballot's candidates distinct across its groups.
    ballots = []
    for ballot in raw:
        seen: set[str] = set()
        groups = []
        for group in ballot:
            fresh = [c for c in group if c not in seen]
            seen.update(fresh)
            if fresh:
                groups.append(fresh)
        ballots.append(groups)
    p = RankedProfile.from_rankings(
        NAMES, ballots, weights[: len(ballots)], withdrawn=withdrawn, title="Round trip"
    )
    nicknames = ("a", "b", "c", "d") if nick else None
    text = write_blt(p, 2, tie_order=("Dan", "Ana"), nicknames=nicknames)
    e = read_blt(text)
    assert e.profile.to_canonical() == p.to_canonical()
    assert e.tie_order == ("Dan", "Ana")
