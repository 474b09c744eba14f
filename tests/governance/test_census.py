"""Tests for konsilo.governance.census: membership checks and the frozen census."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.governance.census import (
    Census,
    MembershipSpec,
    take_census,
    validate_memberships,
)
from konsilo.governance.errors import CensusError
from konsilo.governance.graph import CouncilGraph, CouncilSpec

JAN = date(2026, 1, 1)
JUN = date(2026, 6, 1)
DEC = date(2026, 12, 1)


def _dag() -> CouncilGraph:
    """factory belongs to both the territorial and the industrial council; coop stands apart."""
    return CouncilGraph.build(
        levels=("assembly", "council", "congress"),
        parent_rule="dag",
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("territorial", "council", ("congress",)),
            CouncilSpec("industrial", "council", ("congress",)),
            CouncilSpec("factory", "assembly", ("territorial", "industrial")),
            CouncilSpec("street", "assembly", ("territorial",)),
            CouncilSpec("chamber_b", "council"),
            CouncilSpec("coop", "assembly", ("chamber_b",)),
        ],
    )


def M(
    member: str,
    council: str,
    *,
    primary: bool = True,
    start: date = JAN,
    end: date | None = None,
    status: str = "good_standing",
) -> MembershipSpec:
    return MembershipSpec(member, council, primary, start, end, status)


def test_secondary_memberships_vote_locally_but_never_add_to_represented_counts() -> None:
    census = take_census(
        _dag(),
        [
            M("ana", "factory"),
            M("ana", "street", primary=False),
            M("ben", "street"),
            M("cai", "coop"),
            M("cai", "factory", primary=False),
        ],
        on=JUN,
    )
    assert census.voters("street") == {"ana", "ben"}
    assert census.voters("factory") == {"ana", "cai"}
    assert census.primary_members("street") == {"ben"}
    assert census.represented("street") == 1
    assert census.represented("factory") == 1
    assert census.represented("territorial") == 2
    assert census.represented("congress") == 2
    assert census.represented("chamber_b") == 1
    assert census.primary_base("cai") == "coop"
    assert census.primary_base("nobody") is None


def test_a_dag_double_path_counts_each_member_once() -> None:
    """factory reaches congress through territorial and industrial: its members count once."""
    census = take_census(_dag(), [M(f"w{i}", "factory") for i in range(7)], on=JUN)
    assert census.represented("territorial") == 7
    assert census.represented("industrial") == 7
    assert census.represented("congress") == 7
    assert dict(census.represented_by_council()) == {
        "chamber_b": 0,
        "congress": 7,
        "coop": 0,
        "factory": 7,
        "industrial": 7,
        "street": 0,
        "territorial": 7,
    }


def test_census_date_freezes_joins_and_departures() -> None:
    memberships = [
        M("early", "street", start=JAN),
        M("late", "street", start=JUN + timedelta(days=1)),
        M("gone", "street", start=JAN, end=JUN - timedelta(days=1)),
        M("leaves_that_day", "street", start=JAN, end=JUN),
        M("joins_that_day", "street", start=JUN),
        M("leaves_later", "street", start=JAN, end=DEC),
    ]
    census = take_census(_dag(), memberships, on=JUN)
    assert census.voters("street") == {"early", "joins_that_day", "leaves_later"}
    assert census.represented("street") == 3
    later = take_census(_dag(), memberships, on=DEC)
    assert later.voters("street") == {"early", "late", "joins_that_day"}


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        ("members", {"good", "probation", "suspended"}),
        ("members_in_good_standing", {"good"}),
        ("voters_in_instruction_vote", {"good"}),
    ],
)
def test_basis_decides_which_statuses_count(basis: str, expected: set[str]) -> None:
    memberships = [
        M("good", "street"),
        M("probation", "street", status="probation"),
        M("suspended", "street", status="suspended"),
        M("left", "street", status="left"),
    ]
    census = take_census(_dag(), memberships, on=JUN, basis=basis)
    assert census.voters("street") == expected
    assert census.represented("street") == len(expected)
    assert census.basis == basis


def test_suspended_in_the_primary_base_counts_nowhere_upward() -> None:
    memberships = [
        M("ana", "street", status="suspended"),
        M("ana", "factory", primary=False),
        M("ben", "street"),
    ]
    census = take_census(_dag(), memberships, on=JUN)
    assert census.voters("factory") == {"ana"}
    assert census.voters("street") == {"ben"}
    assert census.represented("factory") == 0
    assert census.represented("congress") == 1
    assert take_census(_dag(), memberships, on=JUN, basis="members").represented("congress") == 2


def test_take_census_refuses_an_unknown_basis_and_a_member_without_primary() -> None:
    with pytest.raises(CensusError, match="members_in_good_standing") as err:
        take_census(_dag(), [], on=JUN, basis="everyone")
    assert err.value.field == "represented_count_basis"
    with pytest.raises(CensusError, match="'ana'") as err:
        take_census(_dag(), [M("ana", "street", primary=False)], on=JUN)
    assert err.value.code == "no_primary"
    with pytest.raises(CensusError, match="no primary base") as err:
        take_census(_dag(), [M("ana", "street", primary=False, status="suspended")], on=JUN)
    with pytest.raises(CensusError, match="two primary bases") as err:
        take_census(_dag(), [M("ana", "street"), M("ana", "factory")], on=JUN)


def test_census_lookups_refuse_unknown_councils_and_councils_above_have_no_voters() -> None:
    census = take_census(_dag(), [M("ana", "street")], on=JUN)
    assert census.voters("congress") == frozenset()
    with pytest.raises(CensusError, match="'atlantis'"):
        census.represented("atlantis")
    with pytest.raises(CensusError, match="'atlantis'"):
        census.voters("atlantis")


def test_census_canonical_form_is_sorted_and_replays() -> None:
    memberships = [M("zoe", "street"), M("ana", "street"), M("ana", "factory", primary=False)]
    census = take_census(_dag(), memberships, on=JUN)
    data = census.to_canonical()
    assert data["voters"]["street"] == ["ana", "zoe"]
    assert list(data["represented"]) == sorted(data["represented"])
    encoded = canonical.dumps(census)
    assert Census.from_canonical(canonical.loads(encoded)) == census
    shuffled = take_census(_dag(), list(reversed(memberships)), on=JUN)
    assert canonical.dumps(shuffled) == encoded
    with pytest.raises(CensusError, match="expected census data"):
        Census.from_canonical({"on": "2026-06-01"})


# -- validation ---------------------------------------------------------------------------


def test_valid_histories_pass() -> None:
    validate_memberships(
        _dag(),
        [
            M("ana", "street", end=JUN),
            M("ana", "factory", start=JUN),  # primary moves the day the old one ends
            M("ana", "coop", primary=False),
            M("ben", "street", status="left"),
            M("cai", "factory", status="probation"),
        ],
    )


@pytest.mark.parametrize(
    ("memberships", "multi_base", "code", "words"),
    [
        ([M("ana", "territorial")], "allow_with_primary", "not_a_base", ["'territorial'"]),
        ([M("ana", "atlantis")], "allow_with_primary", "unknown_council", ["'atlantis'"]),
        ([M("ana", "street", start=JUN, end=JAN)], "allow_with_primary", "end_before_start", []),
        ([M("ana", "street", status="honorary")], "allow_with_primary", "invalid_choice", []),
        (
            [M("ana", "street", primary=False)],
            "allow_with_primary",
            "no_primary",
            ["'ana'", "2026-01-01", "street"],
        ),
        (
            [M("ana", "street", end=JUN), M("ana", "factory", primary=False)],
            "allow_with_primary",
            "no_primary",
            ["2026-06-01", "factory"],
        ),
        (
            [M("ana", "street"), M("ana", "factory", start=JUN)],
            "allow_with_primary",
            "two_primaries",
            ["'street'", "'factory'"],
        ),
        (
            [M("ana", "street"), M("ana", "street", primary=False, start=JUN)],
            "allow_with_primary",
            "duplicate_membership",
            [],
        ),
        (
            [M("ana", "street"), M("ana", "factory", primary=False)],
            "forbid",
            "secondary_forbidden",
            ["'forbid'"],
        ),
        ([], "sometimes", "invalid_choice", ["allow_with_primary"]),
    ],
)
def test_inconsistent_memberships_are_refused(
    memberships: list[MembershipSpec], multi_base: str, code: str, words: list[str]
) -> None:
    with pytest.raises(CensusError) as err:
        validate_memberships(_dag(), memberships, multi_base=multi_base)
    assert err.value.code == code
    assert err.value.field is not None
    for word in words:
        assert word in str(err.value)


def test_left_memberships_are_never_active_and_forbid_allows_moves() -> None:
    validate_memberships(
        _dag(),
        [
            M("ana", "street", status="left"),
            M("ana", "factory"),
            M("ben", "street", end=JUN),
            M("ben", "coop", start=JUN),
        ],
        multi_base="forbid",
    )


# -- invariants -----------------------------------------------------------------------------

BASES = ["factory", "street", "coop"]


@st.composite
def histories(draw: st.DrawFn) -> list[MembershipSpec]:
    """Members each with one primary base and any number of secondary ones, random dates."""
    out: list[MembershipSpec] = []
    for i in range(draw(st.integers(0, 12))):
        bases = draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=3, unique=True))
        start = JAN + timedelta(days=draw(st.integers(0, 300)))
        length = draw(st.one_of(st.none(), st.integers(0, 300)))
        end = None if length is None else start + timedelta(days=length)
        status = draw(st.sampled_from(["probation", "good_standing", "suspended", "left"]))
        for j, base in enumerate(bases):
            out.append(MembershipSpec(f"m{i}", base, j == 0, start, end, status))
    return out


@settings(max_examples=80)
@given(histories(), st.integers(0, 500), st.randoms())
def test_represented_counts_match_primary_members_and_ignore_order(
    memberships: list[MembershipSpec], offset: int, rnd: random.Random
) -> None:
    graph = _dag()
    validate_memberships(graph, memberships)
    on = JAN + timedelta(days=offset)
    census = take_census(graph, memberships, on=on, basis="members")
    primaries = {b: census.primary_members(b) for b in BASES}
    # Each counted member has exactly one primary base.
    everyone = census.members()
    assert sum(len(p) for p in primaries.values()) == len(everyone)
    for key in graph:
        below = graph.bases_below(key)
        assert census.represented(key) == len(set().union(*(primaries[b] for b in below)))
    assert census.represented("congress") <= len(everyone)
    shuffled = list(memberships)
    rnd.shuffle(shuffled)
    assert take_census(graph, shuffled, on=on, basis="members") == census


@settings(max_examples=60)
@given(histories(), st.integers(0, 500))
def test_dropping_secondary_memberships_never_changes_represented_counts(
    memberships: list[MembershipSpec], offset: int
) -> None:
    on = JAN + timedelta(days=offset)
    full = take_census(_dag(), memberships, on=on, basis="members")
    primaries_only = take_census(
        _dag(), [m for m in memberships if m.primary], on=on, basis="members"
    )
    assert full.represented_by_council() == primaries_only.represented_by_council()


def test_base_voters_from_the_base_members_alone_equal_the_whole_census() -> None:
    from konsilo.governance.census import base_voters

    graph = CouncilGraph.build(
        levels=("assembly", "congress"),
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("mill", "assembly", ("congress",)),
            CouncilSpec("dock", "assembly", ("congress",)),
        ],
    )
    day = date(2026, 1, 1)
    memberships = [
        MembershipSpec("ana", "mill", True, day),
        MembershipSpec("ana", "dock", False, day),
        MembershipSpec("ben", "dock", True, day),
        MembershipSpec("cy", "dock", True, day, status="suspended"),
        MembershipSpec("dee", "mill", True, day),
    ]
    on = date(2026, 6, 1)
    dock_members = {m.member for m in memberships if m.council == "dock"}
    own = [m for m in memberships if m.member in dock_members]
    for basis in ("members", "members_in_good_standing"):
        whole = take_census(graph, memberships, on=on, basis=basis).voters("dock")
        assert base_voters("dock", own, on=on, basis=basis) == whole


def test_base_voters_refuse_a_member_of_the_base_with_no_primary_base() -> None:
    from konsilo.governance.census import base_voters

    with pytest.raises(CensusError):
        base_voters(
            "dock", [MembershipSpec("ana", "dock", False, date(2026, 1, 1))], on=date(2026, 6, 1)
        )


# -- one person, one weight per decision root (§3.4) -----------------------------------------


def _weights(base: str, memberships: list[MembershipSpec], root: str) -> dict[str, int]:
    from konsilo.governance.census import base_vote_weights

    below = _dag().bases_below(root)
    return base_vote_weights(base, memberships, on=JUN, basis="members", root_bases=below)


def test_a_member_of_two_bases_below_one_root_weighs_zero_in_the_secondary_base() -> None:
    memberships = [
        M("ana", "factory"),
        M("ana", "street", primary=False),
        M("ben", "street"),
    ]
    for root in ("congress", "territorial"):
        assert _weights("street", memberships, root) == {"ana": 0, "ben": 1}
        assert _weights("factory", memberships, root) == {"ana": 1}


def test_a_member_whose_bases_meet_only_above_the_item_counts_in_both() -> None:
    """street sends only to territorial: on industrial's item, factory is ana's only path
    (and the coop, in a chamber of its own, never meets the congress)."""
    memberships = [
        M("ana", "street"),
        M("ana", "factory", primary=False),
        M("cai", "coop"),
        M("cai", "factory", primary=False),
    ]
    assert _weights("factory", memberships, "industrial") == {"ana": 1, "cai": 1}
    assert _weights("factory", memberships, "congress") == {"ana": 0, "cai": 1}


def test_without_a_root_every_voter_of_a_base_weighs_one() -> None:
    from konsilo.governance.census import base_vote_weights, base_voters

    memberships = [M("ana", "factory"), M("ana", "street", primary=False), M("ben", "street")]
    weights = base_vote_weights("street", memberships, on=JUN)
    assert weights == {"ana": 1, "ben": 1}
    assert set(weights) == base_voters("street", memberships, on=JUN)


@settings(max_examples=80)
@given(histories(), st.integers(0, 500), st.sampled_from(["congress", "territorial", "industrial"]))
def test_below_a_root_each_member_weighs_one_through_their_primary_base_alone(
    memberships: list[MembershipSpec], offset: int, root: str
) -> None:
    from konsilo.governance.census import base_vote_weights, base_voters

    graph = _dag()
    on = JAN + timedelta(days=offset)
    below = graph.bases_below(root)
    census = take_census(graph, memberships, on=on, basis="members")
    weights = {
        b: base_vote_weights(b, memberships, on=on, basis="members", root_bases=below)
        for b in below
    }
    for b in below:
        assert set(weights[b]) == base_voters(b, memberships, on=on, basis="members")
    for member in census.members():
        primary = census.primary_base(member)
        total = sum(w.get(member, 0) for w in weights.values())
        if primary in below:
            assert total == 1
            assert weights[primary][member] == 1
        else:  # no path through a primary base: counted in every base below it votes in
            assert total == sum(member in census.voters(b) for b in below)
    # The weight below the root adds up to the members it represents, plus those who reach
    # it only through secondary bases.
    outside = sum(1 for b in below for m in census.voters(b) if census.primary_base(m) not in below)
    assert sum(sum(w.values()) for w in weights.values()) == census.represented(root) + outside


# -- the census a vote freezes when it opens ---------------------------------------------------


def test_a_base_vote_census_is_of_the_members_on_its_day_with_their_weights() -> None:
    from konsilo.governance.census import base_vote_weights

    memberships = [
        M("ana", "street"),
        M("ben", "street", start=JUN + timedelta(days=1)),  # joined the day after opening
        M("cy", "street", end=JUN),  # left the street the day it opened...
        M("cy", "factory", start=JUN),  # ...for the factory
        M("dee", "street", end=JUN + timedelta(days=1)),  # still a member that day
        M("dee", "factory", start=JUN + timedelta(days=1)),
        M("eve", "street", status="suspended"),
        M("fay", "street", status="probation"),
        M("gus", "street", status="left"),
        M("hal", "factory"),
        M("hal", "street", primary=False),  # primary base below the same root: weight 0
        M("ivy", "coop"),
        M("ivy", "street", primary=False),  # primary base elsewhere: counts in full
    ]
    roots = {"street", "factory"}
    good = base_vote_weights("street", memberships, on=JUN, root_bases=roots)
    assert good == {"ana": 1, "dee": 1, "hal": 0, "ivy": 1}
    everyone = base_vote_weights("street", memberships, on=JUN, basis="members", root_bases=roots)
    assert everyone == {"ana": 1, "dee": 1, "eve": 1, "fay": 1, "hal": 0, "ivy": 1}
    # Not an instruction vote (no root): every voter weighs 1.
    assert base_vote_weights("street", memberships, on=JUN)["hal"] == 1
    # A day later ben has joined and dee has gone to the factory.
    later = base_vote_weights("street", memberships, on=JUN + timedelta(days=1))
    assert set(later) == {"ana", "ben", "hal", "ivy"}


@pytest.mark.parametrize(
    ("policy", "basis"),
    [
        ("members", "members"),
        ("members_in_good_standing", "members_in_good_standing"),
        ("voters_in_instruction_vote", "members"),
    ],
)
def test_the_basis_of_a_vote_census_follows_the_represented_count_basis(
    policy: str, basis: str
) -> None:
    from konsilo.governance.census import VOTE_CENSUS_BASES, vote_census_basis

    assert vote_census_basis(policy) == basis
    assert basis in VOTE_CENSUS_BASES


def test_the_basis_of_a_vote_census_refuses_an_unknown_policy_value() -> None:
    from konsilo.governance.census import vote_census_basis

    with pytest.raises(CensusError) as caught:
        vote_census_basis("everyone")
    assert caught.value.code == "invalid_choice"


def test_a_council_of_delegates_votes_by_the_seats_held_on_its_day() -> None:
    from konsilo.governance.census import delegate_vote_weights

    seats = [
        ("ana", JAN, None),
        ("ana", JAN, None),  # a second seat: still one weight
        ("ben", JUN + timedelta(days=1), None),  # seated the day after
        ("cy", JAN, JUN),  # the seat ended that day
        ("dee", JAN, JUN + timedelta(days=1)),
    ]
    assert delegate_vote_weights(seats, on=JUN) == {"ana": 1, "dee": 1}
    assert delegate_vote_weights([], on=JUN) == {}
    with pytest.raises(CensusError):
        delegate_vote_weights(seats, on="2026-06-01")  # type: ignore[arg-type]


def test_a_census_difference_names_the_first_voter_added_left_out_or_reweighted() -> None:
    from fractions import Fraction

    from konsilo.governance.census import CensusDifference, census_difference

    one, zero = Fraction(1), Fraction(0)
    derived = {"ana": 1, "ben": 1, "hal": 0}
    assert census_difference(derived, {"ana": one, "ben": one, "hal": zero}) is None
    added = census_difference(derived, {"ana": one, "ben": one, "cy": one, "hal": zero})
    assert added == CensusDifference("cy", None, one)
    left_out = census_difference(derived, {"ana": one, "hal": zero})
    assert left_out == CensusDifference("ben", one, None)
    reweighted = census_difference(derived, {"ana": one, "ben": one, "hal": one})
    assert reweighted == CensusDifference("hal", zero, one)
    # Swapped: same size, different voters; the first in sorted order is named.
    swapped = census_difference(derived, {"ana": one, "bea": one, "hal": zero})
    assert swapped == CensusDifference("bea", None, one)
    assert "may not vote in 'street' on 2026-06-01" in added.explain("street", JUN)
    assert "leaves them out" in left_out.explain("street", JUN)
    assert "with weight 0, the recorded census says 1" in reweighted.explain("street", JUN)


@settings(max_examples=60)
@given(histories(), st.integers(0, 500))
def test_a_base_census_from_its_own_members_equals_the_one_from_everyone(
    memberships: list[MembershipSpec], offset: int
) -> None:
    """What the replay gives the census (the memberships of a base's members) and what it
    would be from every membership agree, for every base and root."""
    from konsilo.governance.census import base_vote_weights

    graph = _dag()
    on = JAN + timedelta(days=offset)
    for base in graph.bases():
        members = {m.member for m in memberships if m.council == base}
        own = [m for m in memberships if m.member in members]
        for root in ("congress", "territorial"):
            below = graph.bases_below(root)
            assert base_vote_weights(
                base, own, on=on, basis="members", root_bases=below
            ) == base_vote_weights(base, memberships, on=on, basis="members", root_bases=below)
