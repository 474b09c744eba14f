"""Tests for konsilo.governance.federation: composing mandates up to the top tally."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import schulze
from konsilo.counting.profile import RankedProfile
from konsilo.governance import resolve
from konsilo.governance.errors import GraphError
from konsilo.governance.federation import (
    BaseTallies,
    FederationArrays,
    compose,
    compose_arrays,
    composition_of,
    delegation_weights,
    derive_mandate_arrays,
    double_quorum,
    member_support,
)
from konsilo.governance.graph import CouncilGraph, CouncilSpec
from konsilo.governance.mandates import BaseVote, MandateError, MandatePolicy, derive_mandate

CLOSED = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LEVELS = ("assembly", "region", "congress")

# §3.5: 9 bases of 100 members in 3 regions of 3 bases; yes votes per base.
MAJORITY_OF_MAJORITIES = {
    "r1": {"r1a": 51, "r1b": 51, "r1c": 0},
    "r2": {"r2a": 51, "r2b": 51, "r2c": 0},
    "r3": {"r3a": 0, "r3b": 0, "r3c": 0},
}


def _graph(regions: dict[str, dict[str, int]]) -> CouncilGraph:
    specs = [CouncilSpec("congress", "congress")]
    for region, bases in regions.items():
        specs.append(CouncilSpec(region, "region", ("congress",)))
        specs.extend(CouncilSpec(b, "assembly", (region,)) for b in bases)
    return CouncilGraph.build(levels=LEVELS, councils=specs)


def _votes(regions: dict[str, dict[str, int]], size: int = 100) -> dict[str, BaseVote]:
    return {
        b: BaseVote.motion(
            b, item="i", content_hash="h", yes=y, no=size - y, eligible=size, closed_at=CLOSED
        )
        for bases in regions.values()
        for b, y in bases.items()
    }


def _example(composition: str, *, card_vote: bool) -> Any:
    regions = MAJORITY_OF_MAJORITIES
    graph = _graph(regions)
    weights: dict[str, Fraction | int] = {}
    policies: dict[str, MandatePolicy] = {}
    mode = "bound_proportional" if card_vote else "bound_majority"
    for region, bases in regions.items():
        weights[f"{region}->congress"] = 300 if card_vote else 1
        policies[f"{region}->congress"] = MandatePolicy(mode=mode)
        for b in bases:
            for up in (region, "congress"):
                weights[f"{b}->{up}"] = 100 if card_vote else 1
                policies[f"{b}->{up}"] = MandatePolicy(mode=mode)
    represented = {b: 100 for bases in regions.values() for b in bases}
    return compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=_votes(regions),
        weights=weights,
        represented=represented,
        policies=policies,
        composition=composition,
    )


@pytest.mark.parametrize(
    "composition", ["pass_through", "re_deliberation", "direct_base_representation"]
)
def test_member_support_is_what_compose_shows_without_counting_again(composition: str) -> None:
    regions = MAJORITY_OF_MAJORITIES
    graph = _graph(regions)
    votes = _votes(regions)
    del votes["r3c"]  # did not vote by the deadline: no instruction
    votes["r2c"] = BaseVote.motion(  # a tie: no instruction under bound_majority either
        "r2c", item="i", content_hash="h", yes=40, no=40, eligible=100, closed_at=CLOSED
    )
    weights = {
        f"{b}->{up}": 1
        for region, bases in regions.items()
        for b in [region, *bases]
        for up in ((region, "congress") if b in bases else ("congress",))
    }
    represented = {b: 100 for bases in regions.values() for b in bases}
    composed = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented=represented,
        composition=composition,
    )
    instructed = {
        key.split("->")[0]: m.instructed
        for key, m in composed.mandates.items()
        if graph.is_base(key.split("->")[0])
    }
    assert instructed["r3c"] is False
    assert instructed["r2c"] is False
    support = member_support(
        graph,
        top="congress",
        content_hash="h",
        votes=votes,
        represented=represented,
        instructed=instructed,
        composition=composition,
    )
    assert support == {key: council.members for key, council in composed.councils.items()}
    assert support["congress"].uninstructed_bases == 2
    assert support["congress"].count("yes") == 204 + 40


def test_member_support_refuses_an_unknown_composition() -> None:
    with pytest.raises(MandateError, match="expected one of"):
        member_support(
            _graph(MAJORITY_OF_MAJORITIES),
            top="congress",
            content_hash="h",
            votes={},
            represented={},
            instructed={},
            composition="by_lottery",
        )


def test_majority_of_majorities_passes_under_re_deliberation_two_regions_to_one() -> None:
    r = _example("re_deliberation", card_vote=False)
    assert r.result.outcome == "adopted"
    assert r.result.rounds[0].tallies == {"yes": 2, "no": 1, "abstain": 0}
    assert r.councils["r1"].result is not None
    assert r.councils["r1"].result.outcome == "adopted"
    assert r.councils["r3"].result is not None
    assert r.councils["r3"].result.outcome == "rejected"


def test_majority_of_majorities_shows_member_level_support_of_204_of_900() -> None:
    r = _example("re_deliberation", card_vote=False)
    members = r.members
    assert (members.count("yes"), members.count("no")) == (204, 696)
    assert (members.voted, members.eligible) == (900, 900)
    assert Fraction(204, 900) == Fraction(17, 75)  # 22.7%
    assert "204 yes" in r.explanation
    assert "696 no" in r.explanation
    # every council above the first level shows it too
    assert r.councils["r1"].members.count("yes") == 102
    assert r.councils["r3"].members.count("no") == 300


def test_majority_of_majorities_is_rejected_under_pass_through_204_yes_to_696_no() -> None:
    r = _example("pass_through", card_vote=True)
    assert r.result.outcome == "rejected"
    assert r.result.rounds[0].tallies == {"yes": 204, "no": 696, "abstain": 0}
    assert r.mandates["r1->congress"].votes == (
        ({"choice": "no"}, Fraction(198)),
        ({"choice": "yes"}, Fraction(102)),
    )


def test_majority_of_majorities_under_direct_base_representation_counts_bases() -> None:
    r = _example("direct_base_representation", card_vote=False)
    assert r.result.rounds[0].tallies == {"yes": 4, "no": 5, "abstain": 0}
    assert r.result.outcome == "rejected"
    assert set(r.mandates) == {
        f"{b}->congress" for bs in MAJORITY_OF_MAJORITIES.values() for b in bs
    }


def test_pass_through_equals_a_federation_wide_count_weighted_by_represented_members() -> None:
    regions = {"r1": {"a": 70, "b": 10}, "r2": {"c": 33}}
    graph = _graph(regions)
    weights = {"a->r1": 100, "b->r1": 100, "c->r2": 100, "r1->congress": 200, "r2->congress": 100}
    policies = {k: MandatePolicy(mode="bound_proportional") for k in weights}
    r = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=_votes(regions),
        weights=weights,
        represented=dict.fromkeys("abc", 100),
        policies=policies,
    )
    assert r.result.rounds[0].tallies["yes"] == 113
    assert r.members.count("yes") == 113


def test_uninstructed_bases_are_shown_and_not_added_to_the_denominator() -> None:
    regions = {"r1": {"a": 60, "b": 50}, "r2": {"c": 10}}
    graph = _graph(regions)
    votes = _votes(regions)
    votes["b"] = BaseVote.motion(
        "b", item="i", content_hash="h", yes=5, no=5, eligible=100, closed_at=CLOSED
    )  # misses its quorum
    del votes["c"]  # has not voted
    weights = {"a->r1": 100, "b->r1": 100, "c->r2": 100, "r1->congress": 200, "r2->congress": 100}
    policies = {k: MandatePolicy(mode="bound_proportional") for k in weights}
    r = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented=dict.fromkeys("abc", 100),
        policies=policies,
        min_instructed_share=Fraction(1, 2),
    )
    assert r.result.rounds[0].tallies == {"yes": 60, "no": 40, "abstain": 200}
    assert r.result.outcome == "adopted"
    assert (r.members.uninstructed_members, r.members.uninstructed_bases) == (200, 2)
    assert "200 members (2 bases) had no instruction on this item" in r.explanation
    assert r.instructed_share == Fraction(1, 3)
    assert r.postponement_required


def test_ranked_item_passes_the_full_weighted_profile_up_and_matches_counting_all_members() -> None:
    candidates = ["A", "B", "C"]
    ballots = {
        "a": [(["A", "B", "C"], 3), (["B", "C", "A"], 1)],
        "b": [(["C", "B", "A"], 2), (["B", "A", "C"], 2)],
        "c": [(["C", "A", "B"], 3)],
    }
    regions = {"r1": {"a": 0, "b": 0}, "r2": {"c": 0}}
    graph = _graph(regions)
    votes = {
        k: BaseVote(
            base=k,
            item="i",
            content_hash="h",
            method="schulze",
            ballots=tuple(({"ranking": [[c] for c in r]}, Fraction(w)) for r, w in bs),
            eligible=sum(w for _, w in bs),
            closed_at=CLOSED,
        )
        for k, bs in ballots.items()
    }
    voters = {k: sum(w for _, w in bs) for k, bs in ballots.items()}
    weights = {
        "a->r1": voters["a"],
        "b->r1": voters["b"],
        "c->r2": voters["c"],
        "r1->congress": voters["a"] + voters["b"],
        "r2->congress": voters["c"],
    }
    policies = {k: MandatePolicy(mode="bound_proportional") for k in weights}
    r = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented=voters,
        policies=policies,
        method="schulze",
        options=candidates,
    )
    everyone = RankedProfile.from_rankings(
        candidates,
        [rank for bs in ballots.values() for rank, w in bs for _ in range(w)],
    )
    direct = schulze.count(everyone)
    assert r.result.winners == direct.winners
    assert r.result.details["d"] == direct.details["d"]


def test_invalid_option_at_the_top_can_never_win() -> None:
    regions = {"r1": {"a": 0}}
    graph = _graph(regions)
    vote = BaseVote(
        base="a",
        item="i",
        content_hash="h",
        method="plurality",
        ballots=(({"choice": "X"}, Fraction(8)), ({"choice": "Y"}, Fraction(2))),
        eligible=10,
        closed_at=CLOSED,
    )
    weights = {"a->r1": 10, "r1->congress": 10}
    policies = {k: MandatePolicy(mode="bound_proportional") for k in weights}
    r = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes={"a": vote},
        weights=weights,
        represented={"a": 10},
        policies=policies,
        method="plurality",
        options=["X", "Y"],
        invalid={"X": "statute §4"},
    )
    assert r.result.winners == ("Y",)
    assert r.mandates["a->r1"].votes[0][0] == {"choice": "X"}  # still cast as instructed


def test_consent_composes_by_stances_one_objection_stops_the_proposal() -> None:
    regions = {"r1": {"a": 0, "b": 0}}
    graph = _graph(regions)

    def consent(k: str, *stances: tuple[str, str]) -> BaseVote:
        return BaseVote(
            base=k,
            item="i",
            content_hash="h",
            method="consent",
            ballots=tuple(({"stance": s, "reason": r}, Fraction(1)) for s, r in stances),
            eligible=len(stances),
            closed_at=CLOSED,
            quorum=None,
        )

    votes = {"a": consent("a", *[("consent", "")] * 50), "b": consent("b", ("object", "unsafe"))}
    weights = {"a->r1": 50, "b->r1": 1, "r1->congress": 51}
    r = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented={"a": 50, "b": 1},
        method="consent",
        composition="pass_through",
    )
    assert r.composition == "re_deliberation"
    assert r.councils["r1"].result is not None
    assert r.councils["r1"].result.outcome == "objected"
    assert r.result.outcome == "objected"
    assert r.mandates["r1->congress"].objections == ("unsafe",)


def test_a_dag_path_counted_twice_is_refused() -> None:
    graph = CouncilGraph.build(
        levels=LEVELS,
        parent_rule="dag",
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("t", "region", ("congress",)),
            CouncilSpec("i", "region", ("congress",)),
            CouncilSpec("factory", "assembly", ("t", "i")),
        ],
    )
    with pytest.raises(GraphError) as err:
        compose(
            graph, top="congress", item="i", content_hash="h", votes={}, weights={}, represented={}
        )
    assert err.value.code == "double_path"


def test_composition_is_per_federation_and_overridable_per_item() -> None:
    assert composition_of(resolve([], preset=None)) == "pass_through"
    assert composition_of(resolve([], preset="cnt")) == "direct_base_representation"
    from konsilo.governance import PolicyLayer

    item = PolicyLayer("item", "i1", {"structure.composition": "re_deliberation"})
    assert composition_of(resolve([item], preset="cnt")) == "re_deliberation"


def test_federation_result_is_canonical() -> None:
    data = canonical.loads(canonical.dumps(_example("pass_through", card_vote=True)))
    assert data["result"]["outcome"] == "rejected"
    assert data["councils"]["congress"]["members"]["voted"] == 900


# -- the array path -------------------------------------------------------------------------


def _tree(n_bases: int, per_region: int) -> FederationArrays:
    regions = (n_bases + per_region - 1) // per_region
    return FederationArrays(
        levels=LEVELS,
        councils=(
            tuple(f"b{i}" for i in range(n_bases)),
            tuple(f"r{j}" for j in range(regions)),
            ("congress",),
        ),
        parents=(np.arange(n_bases) // per_region, np.zeros(regions, dtype=np.int64)),
    )


rows = st.lists(
    st.tuples(
        st.integers(0, 30),
        st.integers(0, 30),
        st.integers(0, 10),
        st.integers(0, 15),
        st.booleans(),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    rows,
    st.integers(1, 4),
    st.sampled_from(["pass_through", "re_deliberation", "direct_base_representation"]),
    st.sampled_from(["bound_majority", "bound_proportional"]),
    st.sampled_from(["abstain", "not_counted"]),
    st.sampled_from(["excluded", "counts_against"]),
)
def test_array_path_gives_the_same_mandates_tallies_and_support_as_the_object_path(
    data: list[tuple[int, int, int, int, bool]],
    per_region: int,
    composition: str,
    mode: str,
    missing: str,
    abstentions: str,
) -> None:
    tree = _tree(len(data), per_region)
    tallies = BaseTallies(
        yes=[d[0] for d in data],
        no=[d[1] for d in data],
        abstain=[d[2] for d in data],
        eligible=[sum(d[:4]) for d in data],
        represented=[sum(d[:4]) for d in data],
        voted=[d[4] for d in data],
    )
    policy = MandatePolicy(mode=mode, no_instruction_behavior=missing, abstentions=abstentions)
    upper = MandatePolicy(
        mode="bound_proportional", no_instruction_behavior=missing, abstentions=abstentions
    )
    base_w = [int(tallies.represented[i]) for i in range(len(data))]
    region_w = [0] * len(tree.councils[1])
    for i, w in enumerate(base_w):
        region_w[int(tree.parents[0][i])] += w
    arrays = compose_arrays(
        tree,
        tallies,
        weights=[base_w, region_w],
        policies=[policy, upper],
        item="i",
        content_hash="h",
        composition=composition,
        abstention_treatment=abstentions,
    )

    specs = [CouncilSpec("congress", "congress")]
    specs += [CouncilSpec(r, "region", ("congress",)) for r in tree.councils[1]]
    specs += [
        CouncilSpec(b, "assembly", (tree.councils[1][int(tree.parents[0][i])],))
        for i, b in enumerate(tree.councils[0])
    ]
    graph = CouncilGraph.build(levels=LEVELS, councils=specs)
    votes = {
        b: BaseVote.motion(
            b,
            item="i",
            content_hash="h",
            yes=d[0],
            no=d[1],
            abstain=d[2],
            eligible=sum(d[:4]),
            closed_at=CLOSED,
        )
        for b, d in zip(tree.councils[0], data, strict=True)
        if d[4]
    }
    weights: dict[str, Fraction | int] = {}
    policies: dict[str, MandatePolicy] = {}
    for i, b in enumerate(tree.councils[0]):
        region = tree.councils[1][int(tree.parents[0][i])]
        weights[f"{b}->{region}"] = weights[f"{b}->congress"] = base_w[i]
        policies[f"{b}->{region}"] = policies[f"{b}->congress"] = policy
    for j, r in enumerate(tree.councils[1]):
        weights[f"{r}->congress"] = region_w[j]
        policies[f"{r}->congress"] = upper
    objects = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented=dict(zip(tree.councils[0], base_w, strict=True)),
        policies=policies,
        composition=composition,
        abstention_treatment=abstentions,
    )

    assert arrays.result.rounds[0].tallies == objects.result.rounds[0].tallies
    assert arrays.result.outcome == objects.result.outcome
    for i, b in enumerate(tree.councils[0]):
        up = (
            "congress"
            if composition == "direct_base_representation"
            else (tree.councils[1][int(tree.parents[0][i])])
        )
        m = objects.mandates[f"{b}->{up}"]
        expected = m.votes if m.counted else ()
        assert arrays.base_mandates.votes(i) == expected
    top = arrays.members["congress"]
    assert top.ballots == objects.members.ballots
    assert (top.uninstructed_members, top.uninstructed_bases) == (
        objects.members.uninstructed_members,
        objects.members.uninstructed_bases,
    )


@given(rows)
def test_member_level_support_sums_to_the_members_who_voted(
    data: list[tuple[int, int, int, int, bool]],
) -> None:
    tree = _tree(len(data), 3)
    tallies = BaseTallies(
        yes=[d[0] for d in data],
        no=[d[1] for d in data],
        abstain=[d[2] for d in data],
        eligible=[sum(d[:4]) for d in data],
        represented=[sum(d[:4]) for d in data],
        voted=[True] * len(data),
    )
    w = list(tallies.represented)
    r = compose_arrays(
        tree,
        tallies,
        weights=[w, [0] * len(tree.councils[1])],
        policies=[MandatePolicy(mode="bound_proportional")] * 2,
        item="i",
        content_hash="h",
    )
    voted = sum(d[0] + d[1] + d[2] for d in data)
    assert r.members["congress"].voted == voted
    assert sum(w for _, w in r.members["congress"].ballots) == voted
    assert sum(r.members[k].voted for k in tree.councils[1]) == voted


def test_array_mandates_match_derive_mandate_row_by_row() -> None:
    rng = np.random.default_rng(7)
    n = 300
    yes, no, ab = (rng.integers(0, 40, n) for _ in range(3))
    eligible = yes + no + ab + rng.integers(0, 60, n)
    tallies = BaseTallies(yes, no, ab, eligible, eligible, rng.random(n) > 0.1)
    weights = rng.integers(1, 5, n)
    for policy in (MandatePolicy(), MandatePolicy(mode="bound_proportional")):
        arrays = derive_mandate_arrays(tallies, weights, policy=policy)
        for i in range(n):
            vote = (
                BaseVote.motion(
                    "b",
                    item="i",
                    content_hash="h",
                    yes=int(yes[i]),
                    no=int(no[i]),
                    abstain=int(ab[i]),
                    eligible=int(eligible[i]),
                    closed_at=CLOSED,
                )
                if tallies.voted[i]
                else None
            )
            m = derive_mandate(
                vote, delegation="b->r", content_hash="h", weight=int(weights[i]), policy=policy
            )
            assert arrays.votes(i) == m.votes
            assert arrays.status_of(i) == ("instructed" if m.instructed else m.reason)


def test_federation_arrays_from_graph_match_the_graph() -> None:
    graph = _graph(MAJORITY_OF_MAJORITIES)
    tree = FederationArrays.from_graph(graph, "congress")
    assert tree.councils[1] == ("r1", "r2", "r3")
    assert tree.top == "congress"
    assert [tree.councils[1][p] for p in tree.parents[0]] == [
        "r1",
        "r1",
        "r1",
        "r2",
        "r2",
        "r2",
        "r3",
        "r3",
        "r3",
    ]


def test_weighted_tie_at_the_higher_council_is_an_exact_tie_and_fails() -> None:
    regions = {"r1": {"a": 0, "b": 0}}
    graph = _graph(regions)
    votes = {
        "a": BaseVote.motion(
            "a", item="i", content_hash="h", yes=2, no=1, eligible=3, closed_at=CLOSED
        ),
        "b": BaseVote.motion(
            "b", item="i", content_hash="h", yes=1, no=2, eligible=3, closed_at=CLOSED
        ),
    }
    weights = {"a->r1": 7, "b->r1": 7, "r1->congress": 14}
    policies = {k: MandatePolicy(mode="bound_proportional") for k in weights}
    r = compose(
        graph,
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented={"a": 3, "b": 3},
        policies=policies,
    )
    assert r.result.rounds[0].tallies["yes"] == r.result.rounds[0].tallies["no"] == 7
    assert r.mandates["a->r1"].share("yes") == Fraction(14, 3)
    assert r.result.outcome == "rejected"
    assert "tied" in r.result.summary


def test_double_quorum_counts_present_uninstructed_delegations() -> None:
    entitled = {"a->c": 100, "b->c": 100, "d->c": 300}
    assert double_quorum({"a->c", "d->c"}, represented=entitled).met
    few_large = double_quorum({"d->c"}, represented=entitled)
    assert not few_large.met
    assert "1 of 3 delegations present" in few_large.explanation
    many_small = double_quorum({"a->c", "b->c"}, represented=entitled)
    assert not many_small.met


@pytest.mark.parametrize(("method", "seats"), [("irv", None), ("stv", 2), ("meek", 2)])
def test_irv_and_stv_at_the_top_of_a_passed_through_profile_count_every_members_ranking(
    method: str, seats: int | None
) -> None:
    """§3.6: pass all rankings with weights, so IRV or STV at the top equals counting all."""
    rules = {"rule": "scottish"} if method == "stv" else {}
    candidates = ["A", "B", "C", "D"]
    ballots = {
        "a": [(["A", "B", "C", "D"], 5), (["B", "C", "A", "D"], 2)],
        "b": [(["C", "B", "A", "D"], 4), (["D", "C", "B", "A"], 3)],
        "c": [(["B", "A", "C", "D"], 3), (["C", "A", "B", "D"], 2)],
    }
    regions = {"r1": {"a": 0, "b": 0}, "r2": {"c": 0}}
    votes = {
        k: BaseVote(
            base=k,
            item="i",
            content_hash="h",
            method=method,
            ballots=tuple(({"ranking": [[c] for c in r]}, Fraction(w)) for r, w in bs),
            eligible=sum(w for _, w in bs),
            closed_at=CLOSED,
        )
        for k, bs in ballots.items()
    }
    voters = {k: sum(w for _, w in bs) for k, bs in ballots.items()}
    weights = {
        "a->r1": voters["a"],
        "b->r1": voters["b"],
        "c->r2": voters["c"],
        "r1->congress": voters["a"] + voters["b"],
        "r2->congress": voters["c"],
    }
    policies = {k: MandatePolicy(mode="bound_proportional") for k in weights}
    r = compose(
        _graph(regions),
        top="congress",
        item="i",
        content_hash="h",
        votes=votes,
        weights=weights,
        represented=voters,
        policies=policies,
        method=method,
        options=candidates,
        seats=seats,
        seed="published seed",
        method_rule=rules,
    )
    everyone = RankedProfile.from_rankings(
        candidates, [rank for bs in ballots.values() for rank, w in bs for _ in range(w)]
    )
    from konsilo.counting.methods import count_by_name

    extra: dict[str, Any] = {"seats": seats, **rules} if seats else {}
    direct = count_by_name(method, everyone, seed="published seed", **extra)
    assert r.result.winners == direct.winners


def test_delegation_weights_come_from_the_frozen_census() -> None:
    from datetime import date

    from konsilo.governance.census import MembershipSpec, take_census

    graph = _graph({"r1": {"a": 0, "b": 0}})
    day = date(2026, 11, 1)
    memberships = [MembershipSpec(f"m{i}", "a" if i < 3 else "b", True, day) for i in range(5)]
    memberships.append(MembershipSpec("m0", "b", False, day))  # secondary: adds no weight
    census = take_census(graph, memberships, on=day)
    card = delegation_weights(
        graph,
        top="congress",
        represented=census.represented_by_council(),
        vote_weight="represented_members",
    )
    assert card == {"a->r1": 3, "b->r1": 2, "r1->congress": 5}
    seats = delegation_weights(
        graph, top="congress", represented=census.represented_by_council(), seats={"r1": 4}
    )
    assert seats == {"a->r1": 1, "b->r1": 1, "r1->congress": 4}
    direct = delegation_weights(
        graph,
        top="congress",
        represented=census.represented_by_council(),
        vote_weight="equal_per_base",
        composition="direct_base_representation",
    )
    assert direct == {"a->congress": 1, "b->congress": 1}
