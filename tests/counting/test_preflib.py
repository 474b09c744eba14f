"""PrefLib .soi/.toc files: real excerpts read exactly, every malformed line refused by number."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from konsilo.counting import schulze
from konsilo.counting.preflib import PreflibError, read_preflib
from konsilo.counting.profile import EqualRankingError

DATA = Path(__file__).parent / "data" / "preflib"


def _first_preferences(path: Path) -> dict[str, int]:
    """First-preference totals straight from the file's lines, independently of the reader."""
    names: dict[str, str] = {}
    totals: dict[str, int] = {}
    for line in path.read_text().splitlines():
        if line.startswith("# ALTERNATIVE NAME "):
            number, name = line.removeprefix("# ALTERNATIVE NAME ").split(": ", 1)
            names[number] = name
        elif line and not line.startswith("#"):
            count, order = line.split(":")
            first = order.strip().split(",")[0].strip()
            if not first.startswith("{"):
                totals[names[first]] = totals.get(names[first], 0) + int(count)
    return totals


@pytest.mark.parametrize(
    "name", ["debian_2002_excerpt.soi", "debian_2002_excerpt.toc", "burlington_2009_excerpt.toc"]
)
def test_real_excerpts_keep_every_voter_and_first_preference(name: str) -> None:
    path = DATA / name
    election = read_preflib(path.read_text(), data_type=path.suffix[1:])
    profile = election.profile
    assert election.data_type == path.suffix[1:]
    assert profile.num_ballots == int(election.metadata["NUMBER VOTERS"])
    assert profile.title == election.metadata["TITLE"]
    got: dict[str, Fraction] = {}
    for ranking, weight in zip(profile.rankings, profile.weights, strict=True):
        (first,) = ranking[0]
        got[profile.candidates[first]] = got.get(profile.candidates[first], Fraction(0)) + weight
    assert got == _first_preferences(path)


def test_the_names_come_from_the_header_in_number_order() -> None:
    profile = read_preflib((DATA / "debian_2002_excerpt.soi").read_text()).profile
    assert profile.candidates == (
        "Branden Robinson",
        "Raphael Hertzog",
        "Bdale Garbee",
        "None Of The Above",
    )
    assert profile.rankings[0][0] == (0,)  # rankings are sorted; Robinson's first comes first


def test_a_final_tie_of_everyone_left_means_unranked_so_toc_counts_under_strict_rules() -> None:
    profile = read_preflib((DATA / "debian_2002_excerpt.toc").read_text()).profile
    assert not profile.has_equal_rankings
    garbee = profile.candidates.index("Bdale Garbee")
    assert profile.weights[profile.rankings.index(((garbee,),))] == 9
    profile.require_strict("IRV")  # does not raise


def test_an_inner_tie_in_toc_is_kept_and_refused_by_a_strict_rule() -> None:
    text = (DATA / "debian_2002_excerpt.toc").read_text()
    text = text.replace("12: 3,1,4,2", "12: {3,1},4,2")
    profile = read_preflib(text).profile
    assert profile.has_equal_rankings
    with pytest.raises(EqualRankingError, match="Branden Robinson = Bdale Garbee"):
        profile.require_strict("IRV")


def test_schulze_counts_a_toc_file_with_its_ties() -> None:
    election = read_preflib((DATA / "burlington_2009_excerpt.toc").read_text())
    result = schulze.count(election.profile)
    # 681 voters rank Kiss first against 840 for Wright: Wright beats everyone pairwise here.
    assert result.winners == ("Kurt Wright",)


def test_the_old_preflib_layout_is_read_too() -> None:
    text = "3\n1,Ana\n2,Bea\n3,Cem\n5,5,2\n3,1,2,3\n2,3,{1,2}\n"
    election = read_preflib(text, data_type="toc")
    assert election.profile.candidates == ("Ana", "Bea", "Cem")
    assert election.profile.num_ballots == 5
    assert election.profile.rankings == (((0,), (1,), (2,)), ((2,),))


HEADER = (
    "# DATA TYPE: {kind}\n# NUMBER ALTERNATIVES: 3\n# NUMBER VOTERS: {voters}\n"
    "# NUMBER UNIQUE ORDERS: {orders}\n"
    "# ALTERNATIVE NAME 1: Ana\n# ALTERNATIVE NAME 2: Bea\n# ALTERNATIVE NAME 3: Cem\n"
)  # 7 header lines: the first order is line 8


def _file(body: str, *, kind: str = "soi", voters: int = 1, orders: int = 1) -> str:
    return HEADER.format(kind=kind, voters=voters, orders=orders) + body


BAD = [
    ("tie_in_soi", _file("1: 1,{2,3}\n"), "line 8: a soi file has strict orders"),
    ("incomplete_toc", _file("1: 1,2\n", kind="toc"), "line 8: a toc file has complete orders"),
    ("unknown_alternative", _file("1: 1,4\n"), "line 8: alternative 4 does not exist"),
    ("ranked_twice", _file("1: 1,2,1\n"), "line 8: alternative 1 is ranked twice"),
    ("no_colon", _file("1 1,2\n"), "line 8: expected 'count: order'"),
    ("bad_count", _file("x: 1,2\n"), "line 8: the number of voters must be a whole number"),
    ("trailing_comma", _file("1: 1,2,\n"), "line 8: the order ends with a comma"),
    ("open_brace", _file("1: 1,{2,3\n", kind="toc"), "line 8: a '{' group is not closed"),
    ("not_a_number", _file("1: 1,b\n"), "line 8: an alternative must be a whole number"),
    (
        "voters_do_not_add_up",
        _file("1: 1,2\n1: 2\n", voters=3, orders=2),
        "line 3: NUMBER VOTERS is 3, but the orders' counts add up to 2",
    ),
    (
        "orders_do_not_add_up",
        _file("2: 1,2\n", voters=2, orders=2),
        "line 4: NUMBER UNIQUE ORDERS is 2, but the file has 1",
    ),
    (
        "repeated_order",
        _file("1: 1,2\n1: 1,2\n", voters=2, orders=2),
        "line 9: this order already appears",
    ),
    (
        "late_metadata",
        _file("1: 1,2\n# TITLE: late\n"),
        "line 9: metadata lines must all come before the orders",
    ),
    (
        "missing_name",
        _file("1: 1\n").replace("# ALTERNATIVE NAME 3: Cem\n", ""),
        "line 7: the header names no alternative 3",
    ),
    (
        "same_name_twice",
        _file("1: 1\n").replace("NAME 3: Cem", "NAME 3: Ana"),
        "line 7: two alternatives are named 'Ana'",
    ),
    ("unknown_type", _file("1: 1\n", kind="wmd"), "line 1: DATA TYPE must be one of"),
    ("no_header", "1: 1,2\n", "line 1: expected the '# ...' metadata header"),
]


@pytest.mark.parametrize(("text", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_malformed_file_is_one_error_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(PreflibError) as caught:
        read_preflib(text)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_file_extension_must_agree_with_the_header() -> None:
    with pytest.raises(PreflibError, match=r"line 1: the file is named \.toc but its header says"):
        read_preflib(_file("1: 1,2\n"), data_type="toc")
