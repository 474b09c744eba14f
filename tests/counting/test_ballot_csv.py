"""Ballot CSV: the three ranked layouts agree, weights are exact, bad rows name their line."""

from __future__ import annotations

from fractions import Fraction

import pytest

from konsilo.counting.ballot_csv import BallotCsvError, read_rankings, read_scores

# The same four ballots (Ana > Bea > Cem twice, Bea = Cem > Ana once, one blank) in each layout.
RANKING_COLUMN = "id,ranking\np1,Ana > Bea > Cem\np2,Bea = Cem > Ana\np3,\np4,Ana>Bea>Cem\n"
PREFERENCE_COLUMNS = "rank 1,rank 2,rank 3\nAna,Bea,Cem\nBea = Cem,Ana,\n,,\nAna,Bea,Cem\n"
CANDIDATE_COLUMNS = "Ana,Bea,Cem\n1,2,3\n2,1,1\n,,\n1,2,5\n"


@pytest.mark.parametrize(
    "text",
    [RANKING_COLUMN, PREFERENCE_COLUMNS, CANDIDATE_COLUMNS],
    ids=["ranking", "preferences", "candidates"],
)
def test_the_three_layouts_read_the_same_ballots(text: str) -> None:
    profile = read_rankings(text)
    assert profile.candidates == ("Ana", "Bea", "Cem")
    as_names = {
        tuple(tuple(profile.candidates[i] for i in g) for g in r): w
        for r, w in zip(profile.rankings, profile.weights, strict=True)
    }
    assert as_names == {
        (("Ana",), ("Bea",), ("Cem",)): Fraction(2),
        (("Bea", "Cem"), ("Ana",)): Fraction(1),
    }
    assert profile.empty == 1


def test_weights_are_exact_fractions_and_decimals() -> None:
    profile = read_rankings("ranking,weight\nAna,3/2\nAna,0.1\nBea,2\n")
    assert profile.weights == (Fraction(8, 5), Fraction(2))


def test_the_candidates_given_admit_one_nobody_ranked_and_fix_the_order() -> None:
    profile = read_rankings("ranking\nBea > Ana\n", candidates=["Cem", "Ana", "Bea"])
    assert profile.candidates == ("Cem", "Ana", "Bea")
    assert profile.rankings == (((2,), (1,)),)


def test_plain_numbered_columns_are_preference_columns_in_number_order() -> None:
    profile = read_rankings("2,1\nBea,Ana\n")
    assert [[profile.candidates[i] for i in g] for g in profile.rankings[0]] == [["Ana"], ["Bea"]]


def test_a_byte_order_mark_and_quoted_names_are_read() -> None:
    profile = read_rankings('\ufeffranking\n"Smith, Ana > Bea"\n')
    assert profile.candidates == ("Bea", "Smith, Ana")


def test_scores_read_exact_numbers_and_merge_identical_rows() -> None:
    scored = read_scores("Park,Library,weight\n5,1/2,1\n5,1/2,2\n,3,1\n")
    assert scored.candidates == ("Park", "Library")
    assert scored.ballots == ({"Park": 5, "Library": Fraction(1, 2)}, {"Library": 3})
    assert scored.weights == (Fraction(3), Fraction(1))


BAD_RANKED = [
    ("empty_file", "", "line 1: the file is empty"),
    ("short_row", "Ana,Bea\n1\n", "line 2: expected 2 cells as in the header, got 1"),
    ("unnamed_column", "Ana,,Bea\n1,2,3\n", "line 1: column 2 has no name"),
    ("duplicate_column", "Ana,ana\n1,2\n", "line 1: column 'ana' appears twice"),
    ("rank_not_a_number", "Ana,Bea\n1,2\n1,x\n", "line 3, column Bea: expected a number"),
    ("rank_zero", "Ana,Bea\n1,0\n", "line 2, column Bea: expected a rank 1, 2, 3"),
    ("negative_weight", "ranking,weight\nAna,-1\n", "line 2, column weight: expected a positive"),
    ("weight_not_a_number", "ranking,weight\nAna,lots\n", "line 2, column weight: expected a"),
    ("ranked_twice", "ranking\nAna > Bea\nAna > Ana\n", "line 3: candidate 'Ana' is ranked twice"),
    ("empty_name", "ranking\nAna > > Bea\n", "line 2, column ranking: an empty name"),
    (
        "gap_in_preferences",
        "1,2,3\nAna,,Bea\n",
        "line 2, column 3: a preference after the blank column 2",
    ),
    ("columns_not_1_to_n", "1,3\nAna,Bea\n", "line 1: preference columns must be numbered 1 to 2"),
    ("ranking_and_more", "ranking,Ana\nAna,1\n", "line 1: a file with a ranking column has no"),
    ("only_weight", "weight\n1\n", "line 1: the header has no ranking, preference or candidate"),
    ("unclosed_quote", 'ranking\n"Ana\n', "line 2:"),
]


@pytest.mark.parametrize(
    ("text", "message"), [b[1:] for b in BAD_RANKED], ids=[b[0] for b in BAD_RANKED]
)
def test_a_bad_ranked_file_is_one_error_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(BallotCsvError) as caught:
        read_rankings(text)
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_unknown_candidate_is_named_with_its_line() -> None:
    with pytest.raises(BallotCsvError, match="line 3: unknown candidate 'Dan'"):
        read_rankings("ranking\nAna\nDan\n", candidates=["Ana", "Bea"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Park,Library\n1,-2\n", "line 2, column Library: expected a number ≥ 0"),
        ("ranking\nAna\n", "line 1: scored ballots need one column per option"),
        ("Park\nmany\n", "line 2, column Park: expected a number"),
    ],
)
def test_a_bad_scores_file_is_one_error_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(BallotCsvError) as caught:
        read_scores(text)
    assert str(caught.value).startswith(message), str(caught.value)
