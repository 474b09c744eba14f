"""Tests for konsilo.governance.graph: building, refusing and walking council graphs."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from konsilo.governance.errors import GraphError
from konsilo.governance.graph import CouncilGraph, CouncilSpec

LEVELS = ("assembly", "council", "congress")


def _rsfsr() -> CouncilGraph:
    """A small 1918-like federation; the dock county skips the provincial level."""
    return CouncilGraph.build(
        levels=("soviet", "county", "province", "congress"),
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("moscow_prov", "province", ("congress",)),
            CouncilSpec("tver_county", "county", ("moscow_prov",)),
            CouncilSpec("klin_county", "county", ("congress",)),
            CouncilSpec("mill", "soviet", ("tver_county",)),
            CouncilSpec("farm", "soviet", ("tver_county",)),
            CouncilSpec("dock", "soviet", ("klin_county",)),
            CouncilSpec("petrograd", "soviet", ("congress",)),
        ],
    )


def _dag() -> CouncilGraph:
    """A cross-cutting federation: a workplace base in a territorial and an industrial body."""
    return CouncilGraph.build(
        levels=LEVELS,
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


def test_walks_a_tree_with_a_skipped_level() -> None:
    g = _rsfsr()
    assert g.levels == ("soviet", "county", "province", "congress")
    assert g.level_of("klin_county") == "county"
    assert g.level_rank("mill") == 0
    assert g.level_rank("congress") == 3
    assert g.parents("klin_county") == ("congress",)
    assert g.children("congress") == ("klin_county", "moscow_prov", "petrograd")
    assert g.ancestors("mill") == {"tver_county", "moscow_prov", "congress"}
    assert g.descendants("moscow_prov") == {"tver_county", "mill", "farm"}
    assert g.is_base("petrograd")
    assert not g.is_base("tver_county")
    assert g.bases_below("congress") == {"mill", "farm", "dock", "petrograd"}
    assert g.bases_below("dock") == {"dock"}
    assert g.roots() == ("congress",)
    assert g.keys() == tuple(sorted(g.keys()))
    assert len(g) == 8
    assert "mill" in g


def test_topological_order_puts_every_council_after_those_below_it() -> None:
    g = _rsfsr()
    order = g.topological_order()
    assert sorted(order) == sorted(g.keys())
    position = {k: i for i, k in enumerate(order)}
    for key in order:
        for parent in g.parents(key):
            assert position[key] < position[parent]
    assert order[:4] == ("dock", "farm", "mill", "petrograd")


def test_common_ancestors_distinguish_shared_and_separate_chambers() -> None:
    g = _dag()
    assert g.common_ancestors("factory", "street") == {"territorial", "congress"}
    assert g.lowest_common_ancestors("factory", "street") == {"territorial"}
    assert g.common_ancestors("factory", "coop") == frozenset()
    assert g.common_ancestors("factory", "factory") >= {"factory"}
    assert g.common_ancestors("territorial", "street") == {"territorial", "congress"}


def test_dag_allows_several_parents_and_bases_below_counts_a_base_once() -> None:
    g = _dag()
    assert g.parents("factory") == ("territorial", "industrial")
    assert g.bases_below("congress") == {"factory", "street"}
    assert g.ancestors("factory") == {"territorial", "industrial", "congress"}


@pytest.mark.parametrize(
    ("levels", "code", "field"),
    [
        ((), "empty_levels", "levels"),
        (("a", "b", "a"), "duplicate_level", "levels[2]"),
        (("a", ""), "empty_level", "levels[1]"),
    ],
)
def test_refuses_bad_levels(levels: tuple[str, ...], code: str, field: str) -> None:
    with pytest.raises(GraphError) as err:
        CouncilGraph.build(levels=levels, councils=[])
    assert err.value.code == code
    assert err.value.field == field


def test_refuses_an_unknown_parent_rule() -> None:
    with pytest.raises(GraphError, match="tree, dag") as err:
        CouncilGraph.build(levels=LEVELS, councils=[], parent_rule="forest")
    assert err.value.field == "parent_rule"


@pytest.mark.parametrize(
    ("councils", "code", "words"),
    [
        (
            [CouncilSpec("a", "assembly"), CouncilSpec("a", "council")],
            "duplicate_council",
            ["'a'"],
        ),
        ([CouncilSpec("a", "moon")], "unknown_level", ["'moon'", "assembly, council, congress"]),
        ([CouncilSpec("a", "assembly", ("ghost",))], "unknown_parent", ["'a'", "'ghost'"]),
        ([CouncilSpec("a", "assembly", ("a",))], "self_parent", ["'a'"]),
        (
            [
                CouncilSpec("a", "assembly", ("c",)),
                CouncilSpec("c", "council", ("c2",)),
                CouncilSpec("c2", "council", ("c",)),
            ],
            "cycle",
            ["c → c2 → c"],
        ),
        (
            [CouncilSpec("a", "council", ("b",)), CouncilSpec("b", "council")],
            "level_order",
            ["'a'", "'b'", "level 'council'"],
        ),
        (
            [CouncilSpec("a", "congress", ("b",)), CouncilSpec("b", "assembly")],
            "level_order",
            ["council 'a' (level 'congress')", "parent 'b' (level 'assembly')"],
        ),
        (
            [
                CouncilSpec("a", "assembly", ("b", "c")),
                CouncilSpec("b", "council"),
                CouncilSpec("c", "council"),
            ],
            "tree_violation",
            ["'a'", "b, c", "dag"],
        ),
    ],
)
def test_refuses_malformed_councils(
    councils: list[CouncilSpec], code: str, words: list[str]
) -> None:
    with pytest.raises(GraphError) as err:
        CouncilGraph.build(levels=LEVELS, councils=councils)
    assert err.value.code == code
    for word in words:
        assert word in str(err.value)
    assert err.value.field is not None


def test_cycles_are_reported_before_level_order() -> None:
    """A cycle always breaks level order too; the cycle is the more useful message."""
    with pytest.raises(GraphError, match=r"cycle: a → b → a") as err:
        CouncilGraph.build(
            levels=LEVELS,
            parent_rule="dag",
            councils=[CouncilSpec("a", "assembly", ("b",)), CouncilSpec("b", "council", ("a",))],
        )
    assert err.value.code == "cycle"


def test_unknown_keys_are_refused_by_every_lookup() -> None:
    g = _rsfsr()
    lookups = [
        g.spec, g.level_of, g.level_rank, g.parents, g.children, g.ancestors,
        g.descendants, g.is_base, g.bases_below,
    ]  # fmt: skip
    for lookup in lookups:
        with pytest.raises(GraphError, match="'nowhere'") as err:
            lookup("nowhere")
        assert err.value.code == "unknown_council"
    with pytest.raises(GraphError, match="'nowhere'"):
        g.common_ancestors("mill", "nowhere")
    with pytest.raises(GraphError, match="'nowhere'"):
        g.with_parents("nowhere", ())


def test_with_council_and_with_parents_return_validated_copies() -> None:
    g = _rsfsr()
    bigger = g.with_council(CouncilSpec("bakery", "soviet", ("klin_county",)))
    assert "bakery" in bigger
    assert "bakery" not in g
    moved = g.with_parents("dock", ["tver_county"])
    assert moved.parents("dock") == ("tver_county",)
    assert g.parents("dock") == ("klin_county",)
    with pytest.raises(GraphError, match="cycle"):
        g.with_parents("congress", ["mill"])
    with pytest.raises(GraphError, match="at most one"):
        g.with_parents("dock", ["tver_county", "klin_county"])
    with pytest.raises(GraphError, match="still send"):
        g.without_council("tver_county")
    assert "dock" not in g.without_council("dock")


def test_graph_needs_build() -> None:
    with pytest.raises(TypeError):
        CouncilGraph(levels=LEVELS, specs={}, parent_rule="tree")


def test_canonical_form_is_ordered_by_level() -> None:
    g = _dag()
    data = g.to_canonical()
    assert data["parent_rule"] == "dag"
    assert [c["key"] for c in data["councils"]] == list(g.topological_order())
    assert (
        CouncilGraph.build(
            levels=data["levels"],
            parent_rule=data["parent_rule"],
            councils=[
                CouncilSpec(c["key"], c["level"], tuple(c["parents"])) for c in data["councils"]
            ],
        )
        == g
    )


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[list[CouncilSpec], int]:
    """Random layered DAGs: every edge goes to a strictly higher level."""
    n_levels = draw(st.integers(1, 4))
    n = draw(st.integers(1, 12))
    ranks = [draw(st.integers(0, n_levels - 1)) for _ in range(n)]
    specs = []
    for i, r in enumerate(ranks):
        higher = [j for j, rj in enumerate(ranks) if rj > r]
        parents = draw(st.lists(st.sampled_from(higher), unique=True)) if higher else []
        specs.append(CouncilSpec(f"c{i}", f"L{r}", tuple(f"c{j}" for j in parents)))
    return specs, n_levels


@settings(max_examples=60)
@given(random_graphs(), st.randoms())
def test_input_order_never_changes_the_graph(
    data: tuple[list[CouncilSpec], int], rnd: random.Random
) -> None:
    specs, n_levels = data
    levels = [f"L{i}" for i in range(n_levels)]
    g = CouncilGraph.build(levels=levels, councils=specs, parent_rule="dag")
    shuffled = list(specs)
    rnd.shuffle(shuffled)
    h = CouncilGraph.build(levels=levels, councils=shuffled, parent_rule="dag")
    assert g == h
    assert g.topological_order() == h.topological_order()
    for key in g:
        assert g.descendants(key) == h.descendants(key)
        assert all(key in g.ancestors(d) for d in g.descendants(key))
        assert g.bases_below(key) <= g.bases()


@settings(max_examples=60)
@given(random_graphs(), st.data())
def test_adding_a_back_edge_is_always_refused(
    data: tuple[list[CouncilSpec], int], pick: st.DataObject
) -> None:
    specs, n_levels = data
    levels = [f"L{i}" for i in range(n_levels)]
    g = CouncilGraph.build(levels=levels, councils=specs, parent_rule="dag")
    with_ancestors = [k for k in g if g.ancestors(k)]
    assume(with_ancestors)
    low = pick.draw(st.sampled_from(with_ancestors))
    high = pick.draw(st.sampled_from(sorted(g.ancestors(low))))
    with pytest.raises(GraphError) as err:
        g.with_parents(high, (*g.parents(high), low))
    assert err.value.code == "cycle"


def test_a_single_string_of_parents_is_refused_not_split_into_letters() -> None:
    with pytest.raises(GraphError, match="single string 'congress'") as err:
        CouncilSpec("mill", "assembly", "congress")  # type: ignore[arg-type]
    assert err.value.field == "councils.mill.parents"
