"""The council graph: levels, councils and the delegation links between them.

Councils sit on ordered levels, lowest (base) first, for example
``("assembly", "council", "congress")``. Each council names its parent councils, the councils
its delegation sits in. Under ``parent_rule="tree"`` a council has at most one parent; under
``"dag"`` it may have several (cross-cutting federations, domain-rules §2.1). A parent must be
at a strictly higher level, but a level may be skipped (``skip_level_if_absent``, the 1918
county congresses sending delegates directly to the All-Russian Congress). Cycles are refused:
council graphs, unlike liquid delegation chains, cannot loop (domain-rules §3.5).

A graph is immutable; ``with_council`` and ``with_parents`` return validated copies.

>>> graph = CouncilGraph.build(
...     levels=("assembly", "council", "congress"),
...     councils=[
...         CouncilSpec("congress", "congress"),
...         CouncilSpec("north", "council", ("congress",)),
...         CouncilSpec("mill", "assembly", ("north",)),
...         CouncilSpec("dock", "assembly", ("congress",)),  # skips the council level
...     ],
... )
>>> graph.topological_order()
('dock', 'mill', 'north', 'congress')
>>> sorted(graph.bases_below("congress"))
['dock', 'mill']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from konsilo.governance.errors import GraphError

__all__ = ["PARENT_RULES", "CouncilGraph", "CouncilSpec"]

PARENT_RULES = ("tree", "dag")


@dataclass(frozen=True, slots=True)
class CouncilSpec:
    """One council as configured: its key, its level and the keys of its parent councils."""

    key: str
    level: str
    parents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept any iterable of keys (a list from JSON) but store a tuple, so specs hash.
        given: object = self.parents  # typed as a tuple, but JSON may bring a bare string
        if isinstance(given, str):
            raise GraphError(
                f"expected a list of parent keys, got the single string {given!r}",
                field=f"councils.{self.key}.parents",
                code="invalid_parents",
            )
        object.__setattr__(self, "parents", tuple(self.parents))

    def to_canonical(self) -> dict[str, Any]:
        return {"key": self.key, "level": self.level, "parents": list(self.parents)}


class CouncilGraph:
    """An immutable, validated graph of councils on ordered levels.

    Build it with :meth:`CouncilGraph.build`. Every method that takes a council key raises
    :class:`GraphError` naming the key when it is unknown.
    """

    __slots__ = ("_children", "_closures", "_levels", "_parent_rule", "_rank", "_specs")

    def __init__(
        self,
        *,
        levels: tuple[str, ...],
        specs: Mapping[str, CouncilSpec],
        parent_rule: str,
        _validated: bool = False,
    ) -> None:
        if not _validated:
            raise TypeError("use CouncilGraph.build(...) to make a validated graph")
        self._levels = levels
        self._rank = MappingProxyType({name: i for i, name in enumerate(levels)})
        self._specs = MappingProxyType(dict(specs))
        self._parent_rule = parent_rule
        children: dict[str, list[str]] = {key: [] for key in specs}
        for spec in specs.values():
            for parent in spec.parents:
                children[parent].append(spec.key)
        self._children = MappingProxyType({k: tuple(sorted(v)) for k, v in children.items()})
        # The graph never changes, so closures are computed once per council and direction.
        self._closures: dict[tuple[str, str], frozenset[str]] = {}

    # -- construction -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        *,
        levels: Sequence[str],
        councils: Iterable[CouncilSpec],
        parent_rule: str = "tree",
    ) -> CouncilGraph:
        """Validate levels and councils and return the graph.

        Refused, each with a :class:`GraphError` whose ``field`` points at the culprit:
        an unknown ``parent_rule``; no levels, a blank or a duplicate level name; a duplicate
        council key; an unknown level; a council listed as its own parent, an unknown or a
        repeated parent; a cycle (checked before level order, and named by its path); a parent
        that is not at a strictly higher level; more than one parent under ``"tree"``.
        """
        if parent_rule not in PARENT_RULES:
            raise GraphError(
                f"expected one of {', '.join(PARENT_RULES)}, got {parent_rule!r}",
                field="parent_rule",
                code="invalid_choice",
            )
        level_tuple = _check_levels(levels)
        specs: dict[str, CouncilSpec] = {}
        for spec in councils:
            if not isinstance(spec, CouncilSpec):
                raise GraphError(
                    f"expected a CouncilSpec, got {type(spec).__name__}", field="councils"
                )
            if not spec.key or not spec.key.strip():
                raise GraphError(
                    "expected a non-empty council key, got an empty one",
                    field="councils",
                    code="empty_key",
                )
            if spec.key in specs:
                raise GraphError(
                    f"council key {spec.key!r} appears more than once; keys must be unique",
                    field=f"councils.{spec.key}",
                    code="duplicate_council",
                )
            specs[spec.key] = spec
        _check_specs(level_tuple, specs, parent_rule)
        return cls(levels=level_tuple, specs=specs, parent_rule=parent_rule, _validated=True)

    def with_council(self, spec: CouncilSpec) -> CouncilGraph:
        """A validated copy with ``spec`` added, or replacing the council with the same key."""
        specs = dict(self._specs)
        specs[spec.key] = spec
        return CouncilGraph.build(
            levels=self._levels, councils=specs.values(), parent_rule=self._parent_rule
        )

    def with_parents(self, key: str, parents: Iterable[str]) -> CouncilGraph:
        """A validated copy in which council ``key`` has exactly the given parents."""
        spec = self.spec(key)
        return self.with_council(CouncilSpec(spec.key, spec.level, tuple(parents)))

    def without_council(self, key: str) -> CouncilGraph:
        """A validated copy without council ``key``; refused while it still has children."""
        self._require(key)
        if self._children[key]:
            raise GraphError(
                f"cannot remove council {key!r}: councils {', '.join(self._children[key])} "
                "still send their delegations to it",
                field=f"councils.{key}",
                code="has_children",
            )
        specs = [spec for k, spec in self._specs.items() if k != key]
        return CouncilGraph.build(
            levels=self._levels, councils=specs, parent_rule=self._parent_rule
        )

    # -- lookups ------------------------------------------------------------------------

    @property
    def levels(self) -> tuple[str, ...]:
        """The level names, lowest (base) first."""
        return self._levels

    @property
    def parent_rule(self) -> str:
        """``"tree"`` or ``"dag"``."""
        return self._parent_rule

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CouncilGraph):
            return NotImplemented
        return (
            self._levels == other._levels
            and self._parent_rule == other._parent_rule
            and dict(self._specs) == dict(other._specs)
        )

    def __hash__(self) -> int:
        return hash((self._levels, self._parent_rule, frozenset(self._specs.values())))

    def __repr__(self) -> str:
        return (
            f"CouncilGraph(levels={self._levels!r}, councils={len(self._specs)}, "
            f"parent_rule={self._parent_rule!r})"
        )

    def _require(self, key: str) -> CouncilSpec:
        try:
            return self._specs[key]
        except (KeyError, TypeError):
            raise GraphError(
                f"unknown council {key!r}; expected one of the graph's council keys",
                field="council",
                code="unknown_council",
            ) from None

    def keys(self) -> tuple[str, ...]:
        """Every council key, sorted."""
        return tuple(sorted(self._specs))

    def spec(self, key: str) -> CouncilSpec:
        """The configuration of council ``key``."""
        return self._require(key)

    def level_of(self, key: str) -> str:
        """The level name of council ``key``."""
        return self._require(key).level

    def level_rank(self, key: str) -> int:
        """The position of council ``key``'s level: 0 for the lowest level."""
        return self._rank[self._require(key).level]

    def rank_of_level(self, level: str) -> int:
        """The position of a level name: 0 for the lowest level."""
        try:
            return self._rank[level]
        except KeyError:
            raise GraphError(
                f"unknown level {level!r}; expected one of {', '.join(self._levels)}",
                field="level",
                code="unknown_level",
            ) from None

    def parents(self, key: str) -> tuple[str, ...]:
        """The councils ``key``'s delegation sits in, in configured order."""
        return self._require(key).parents

    def children(self, key: str) -> tuple[str, ...]:
        """The councils that send a delegation to ``key``, sorted."""
        self._require(key)
        return self._children[key]

    def ancestors(self, key: str) -> frozenset[str]:
        """Every council above ``key`` (parents, their parents, ...), not ``key`` itself."""
        return self._closure(key, "up")

    def descendants(self, key: str) -> frozenset[str]:
        """Every council below ``key`` (children, their children, ...), not ``key`` itself."""
        return self._closure(key, "down")

    def _closure(self, key: str, direction: str) -> frozenset[str]:
        self._require(key)
        cached = self._closures.get((key, direction))
        if cached is not None:
            return cached
        step = self.parents if direction == "up" else self.children
        seen: set[str] = set()
        stack = list(step(key))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(step(current))
        result = frozenset(seen)
        self._closures[(key, direction)] = result
        return result

    def is_base(self, key: str) -> bool:
        """Whether ``key`` is a base council: no council sends a delegation to it."""
        self._require(key)
        return not self._children[key]

    def bases(self) -> frozenset[str]:
        """Every base council."""
        return frozenset(k for k in self._specs if not self._children[k])

    def bases_below(self, key: str) -> frozenset[str]:
        """The base councils at or below ``key`` (``{key}`` itself when it is a base)."""
        if self.is_base(key):
            return frozenset({key})
        return frozenset(k for k in self.descendants(key) if not self._children[k])

    def roots(self) -> tuple[str, ...]:
        """The councils with no parent, sorted (usually the one congress)."""
        return tuple(sorted(k for k, s in self._specs.items() if not s.parents))

    def topological_order(self) -> tuple[str, ...]:
        """Every council, each after all councils below it: by level (lowest first), then key.

        Since every parent is on a strictly higher level, ordering by level rank already puts
        children before parents; the key breaks ties so the order is deterministic.
        """
        return tuple(sorted(self._specs, key=lambda k: (self._rank[self._specs[k].level], k)))

    def common_ancestors(self, a: str, b: str) -> frozenset[str]:
        """The councils at or above both ``a`` and ``b``.

        Each council counts as at-or-above itself here, so ``common_ancestors(a, a)``
        contains ``a`` and, when ``a`` is above ``b``, ``a`` is a common ancestor. An empty
        set means the two councils never meet (separate chambers, domain-rules §3.4).
        """
        up_a = self.ancestors(a) | {a}
        up_b = self.ancestors(b) | {b}
        return frozenset(up_a & up_b)

    def lowest_common_ancestors(self, a: str, b: str) -> frozenset[str]:
        """The common ancestors of ``a`` and ``b`` with no other common ancestor below them."""
        common = self.common_ancestors(a, b)
        return frozenset(c for c in common if not (self.descendants(c) & common))

    def to_canonical(self) -> dict[str, Any]:
        """The graph as plain data for the record: levels, rule and councils by key."""
        return {
            "levels": list(self._levels),
            "parent_rule": self._parent_rule,
            "councils": [self._specs[k].to_canonical() for k in self.topological_order()],
        }


def _check_levels(levels: Sequence[str]) -> tuple[str, ...]:
    if isinstance(levels, str):
        raise GraphError(
            f"expected a list of level names, got the single string {levels!r}",
            field="levels",
        )
    level_tuple = tuple(levels)
    if not level_tuple:
        raise GraphError(
            "expected at least one level name, got none", field="levels", code="empty_levels"
        )
    seen: set[str] = set()
    for i, name in enumerate(level_tuple):
        if not isinstance(name, str) or not name.strip():
            raise GraphError(
                f"expected a non-empty level name, got {name!r}",
                field=f"levels[{i}]",
                code="empty_level",
            )
        if name in seen:
            raise GraphError(
                f"level name {name!r} appears more than once; level names must be unique",
                field=f"levels[{i}]",
                code="duplicate_level",
            )
        seen.add(name)
    return level_tuple


def _check_specs(levels: tuple[str, ...], specs: Mapping[str, CouncilSpec], rule: str) -> None:
    rank = {name: i for i, name in enumerate(levels)}
    for key in sorted(specs):
        spec = specs[key]
        field = f"councils.{key}"
        if spec.level not in rank:
            raise GraphError(
                f"council {key!r} is on unknown level {spec.level!r}; "
                f"expected one of {', '.join(levels)}",
                field=f"{field}.level",
                code="unknown_level",
            )
        seen: set[str] = set()
        for parent in spec.parents:
            if parent == key:
                raise GraphError(
                    f"council {key!r} lists itself as its parent",
                    field=f"{field}.parents",
                    code="self_parent",
                )
            if parent not in specs:
                raise GraphError(
                    f"council {key!r} has unknown parent {parent!r}",
                    field=f"{field}.parents",
                    code="unknown_parent",
                )
            if parent in seen:
                raise GraphError(
                    f"council {key!r} lists parent {parent!r} twice",
                    field=f"{field}.parents",
                    code="duplicate_parent",
                )
            seen.add(parent)
    cycle = _find_cycle(specs)
    if cycle:
        raise GraphError(
            f"cycle: {' → '.join(cycle)}; a council cannot be above itself",
            field=f"councils.{cycle[0]}.parents",
            code="cycle",
        )
    for key in sorted(specs):
        spec = specs[key]
        for parent in spec.parents:
            p_level = specs[parent].level
            if rank[p_level] <= rank[spec.level]:
                raise GraphError(
                    f"council {key!r} (level {spec.level!r}) has parent {parent!r} "
                    f"(level {p_level!r}); a parent must be on a strictly higher level",
                    field=f"councils.{key}.parents",
                    code="level_order",
                )
        if rule == "tree" and len(spec.parents) > 1:
            raise GraphError(
                f"council {key!r} has {len(spec.parents)} parents "
                f"({', '.join(spec.parents)}); parent_rule 'tree' allows at most one "
                "(use parent_rule 'dag' for cross-cutting federations)",
                field=f"councils.{key}.parents",
                code="tree_violation",
            )


def _find_cycle(specs: Mapping[str, CouncilSpec]) -> tuple[str, ...]:
    """The first cycle along parent links, as a path that returns to its start, or ()."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(specs, white)
    for start in sorted(specs):
        if colour[start] != white:
            continue
        path: list[str] = [start]
        iters: list[Iterator[str]] = [iter(specs[start].parents)]
        colour[start] = grey
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = black
                iters.pop()
                continue
            if colour[nxt] == grey:
                begin = path.index(nxt)
                return (*path[begin:], nxt)
            if colour[nxt] == white:
                colour[nxt] = grey
                path.append(nxt)
                iters.append(iter(specs[nxt].parents))
        # every council reachable from start is finished
    return ()
