"""Memberships and the frozen census: who may vote where, and how many each council represents.

A membership is a time interval ``[start, end)`` of one member in one base council: active on
day ``d`` when ``start <= d`` and (``end`` is ``None`` or ``d < end``), and its status is not
``left``. Every member with an active membership has exactly one active **primary** base
(domain-rules §3.4): their weight in any upward tally goes only through it. Secondary
memberships let the member deliberate and vote locally, but never add to represented counts,
so card votes cannot double count.

A census is frozen at its date (``census_date``, §2.1): later joins and earlier departures do
not move it, which is what a tally stores and replays.

On an item that travels up to a decision root, the member has one weight per root
(`base_vote_weights`): in a secondary base below the same root their instruction vote is
recorded with weight 0, and their weight goes up through their primary base only; a
secondary base whose primary base is not below that root counts them in full.

>>> from datetime import date
>>> from konsilo.governance.graph import CouncilSpec
>>> graph = CouncilGraph.build(levels=("assembly", "congress"), councils=[
...     CouncilSpec("congress", "congress"),
...     CouncilSpec("mill", "assembly", ("congress",)),
...     CouncilSpec("dock", "assembly", ("congress",)),
... ])
>>> census = take_census(graph, [
...     MembershipSpec("ana", "mill", True, date(2026, 1, 1)),
...     MembershipSpec("ana", "dock", False, date(2026, 1, 1)),
...     MembershipSpec("ben", "dock", True, date(2026, 1, 1)),
... ], on=date(2026, 6, 1))
>>> sorted(census.voters("dock")), census.represented("dock"), census.represented("congress")
(['ana', 'ben'], 1, 2)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo.governance.errors import CensusError, GraphError
from konsilo.governance.graph import CouncilGraph

__all__ = [
    "CENSUS_BASES",
    "MEMBER_STATUSES",
    "MULTI_BASE_RULES",
    "VOTE_CENSUS_BASES",
    "Census",
    "CensusDifference",
    "MembershipSpec",
    "base_vote_weights",
    "base_voters",
    "census_difference",
    "delegate_vote_weights",
    "take_census",
    "validate_memberships",
    "vote_census_basis",
]

MEMBER_STATUSES = ("probation", "good_standing", "suspended", "left")
MULTI_BASE_RULES = ("forbid", "allow_with_primary", "allow_full")
CENSUS_BASES = ("members", "members_in_good_standing", "voters_in_instruction_vote")

# The bases a base's vote is frozen on (`vote_census_basis`): a census of members.
VOTE_CENSUS_BASES = ("members", "members_in_good_standing")

# Which statuses each census basis counts. ``voters_in_instruction_vote`` weighs a base by its
# turnout, which only the tally knows; its census counts the members in good standing (who may
# vote), and the tally replaces the weight by the number who voted.
_COUNTED = {
    "members": frozenset({"probation", "good_standing", "suspended"}),
    "members_in_good_standing": frozenset({"good_standing"}),
    "voters_in_instruction_vote": frozenset({"good_standing"}),
}


@dataclass(frozen=True, slots=True)
class MembershipSpec:
    """One membership of one member in one base council, over ``[start, end)``."""

    member: str
    council: str
    primary: bool
    start: date
    end: date | None = None
    status: str = "good_standing"

    def active_on(self, day: date) -> bool:
        """Whether this membership counts on ``day``: inside ``[start, end)`` and not left."""
        return self.status != "left" and self.start <= day and (self.end is None or day < self.end)

    def to_canonical(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "council": self.council,
            "primary": self.primary,
            "start": self.start,
            "end": self.end,
            "status": self.status,
        }


def _label(m: MembershipSpec) -> str:
    end = m.end.isoformat() if m.end else "open"
    kind = "primary" if m.primary else "secondary"
    return f"{kind} membership of {m.member!r} in {m.council!r} from {m.start.isoformat()} to {end}"


def _check_one(graph: CouncilGraph | None, m: MembershipSpec, i: int) -> None:
    where = f"memberships[{i}]"
    if not isinstance(m, MembershipSpec):
        raise CensusError(f"expected a MembershipSpec, got {type(m).__name__}", field=where)
    if not isinstance(m.member, str) or not m.member:
        raise CensusError(f"expected a member key, got {m.member!r}", field=f"{where}.member")
    if m.status not in MEMBER_STATUSES:
        raise CensusError(
            f"expected status one of {', '.join(MEMBER_STATUSES)}, got {m.status!r}",
            field=f"{where}.status",
            code="invalid_choice",
        )
    if not isinstance(m.start, date) or (m.end is not None and not isinstance(m.end, date)):
        raise CensusError(
            f"expected dates for start and end, got {m.start!r} and {m.end!r}",
            field=f"{where}.start",
        )
    if m.end is not None and m.end < m.start:
        raise CensusError(
            f"{_label(m)}: expected end on or after start, got end {m.end.isoformat()} "
            f"before start {m.start.isoformat()}",
            field=f"{where}.end",
            code="end_before_start",
        )
    if graph is None:
        return
    try:
        is_base = graph.is_base(m.council)
    except GraphError:
        raise CensusError(
            f"{_label(m)}: unknown council {m.council!r}",
            field=f"{where}.council",
            code="unknown_council",
        ) from None
    if not is_base:
        raise CensusError(
            f"{_label(m)}: expected a base council, got {m.council!r} on level "
            f"{graph.level_of(m.council)!r}, which has councils below it; members belong "
            "only to base councils",
            field=f"{where}.council",
            code="not_a_base",
        )


def _overlap(a: MembershipSpec, b: MembershipSpec) -> bool:
    """Whether the half-open intervals of two memberships share a day."""
    a_end, b_end = a.end or date.max, b.end or date.max
    return a.start < b_end and b.start < a_end and a.start < a_end and b.start < b_end


def validate_memberships(
    graph: CouncilGraph,
    memberships: Iterable[MembershipSpec],
    *,
    multi_base: str = "allow_with_primary",
) -> None:
    """Refuse inconsistent memberships with a :class:`CensusError` naming the member.

    Checked: the council exists and is a base; the status is known; ``end`` is not before
    ``start``; no member holds two overlapping memberships of the same council; no member
    holds two overlapping primary memberships; on every day a member has an active
    membership, one of them is primary (under every ``multi_base`` rule, so represented
    counts always have one place to put each member); under ``multi_base="forbid"`` no
    secondary membership at all. Memberships with status ``left`` are never active.
    """
    if multi_base not in MULTI_BASE_RULES:
        raise CensusError(
            f"expected one of {', '.join(MULTI_BASE_RULES)}, got {multi_base!r}",
            field="multi_base_membership",
            code="invalid_choice",
        )
    by_member: dict[str, list[MembershipSpec]] = defaultdict(list)
    for i, m in enumerate(memberships):
        _check_one(graph, m, i)
        if multi_base == "forbid" and not m.primary:
            raise CensusError(
                f"{_label(m)}: multi_base_membership is 'forbid', so every membership must "
                "be the member's one primary base; expected primary=True",
                field=f"memberships[{i}].primary",
                code="secondary_forbidden",
            )
        by_member[m.member].append(m)
    for member in sorted(by_member):
        _check_member(member, by_member[member])


def _check_member(member: str, held: list[MembershipSpec]) -> None:
    live = sorted(
        (m for m in held if m.status != "left" and (m.end is None or m.start < m.end)),
        key=lambda m: (m.start, m.council, not m.primary),
    )
    for i, a in enumerate(live):
        for b in live[i + 1 :]:
            if a.council == b.council and _overlap(a, b):
                raise CensusError(
                    f"{_label(a)} overlaps the {_label(b)}; expected one membership per "
                    "council at a time",
                    field=f"members.{member}",
                    code="duplicate_membership",
                )
            if a.primary and b.primary and _overlap(a, b):
                raise CensusError(
                    f"{_label(a)} overlaps the {_label(b)}; expected one primary base at a time",
                    field=f"members.{member}",
                    code="two_primaries",
                )
    # Every day covered by some active membership must be covered by a primary one: check
    # each elementary interval between consecutive start/end days.
    points = sorted({m.start for m in live} | {m.end for m in live if m.end is not None})
    for day in points:
        active = [m for m in live if m.active_on(day)]
        if active and not any(m.primary for m in active):
            raise CensusError(
                f"member {member!r} has active memberships on {day.isoformat()} "
                f"({', '.join(sorted(m.council for m in active))}) but no primary base; "
                "expected exactly one primary membership whenever a member belongs anywhere",
                field=f"members.{member}",
                code="no_primary",
            )


def _frozen_sets(data: Mapping[str, Iterable[str]]) -> Mapping[str, frozenset[str]]:
    return MappingProxyType({k: frozenset(data[k]) for k in sorted(data)})


@dataclass(frozen=True, slots=True)
class Census:
    """Who may vote in each base council, and how many members each council represents.

    ``voters_by_council`` and ``primary_by_council`` hold base councils only; councils above
    have no direct members. ``represented_counts`` holds every council of the graph.
    """

    on: date
    basis: str
    voters_by_council: Mapping[str, frozenset[str]] = field(default_factory=dict)
    primary_by_council: Mapping[str, frozenset[str]] = field(default_factory=dict)
    represented_counts: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "voters_by_council", _frozen_sets(self.voters_by_council))
        object.__setattr__(self, "primary_by_council", _frozen_sets(self.primary_by_council))
        object.__setattr__(
            self,
            "represented_counts",
            MappingProxyType(dict(sorted(self.represented_counts.items()))),
        )

    def _require(self, council: str) -> None:
        if council not in self.represented_counts:
            raise CensusError(
                f"unknown council {council!r}; expected one of the census's councils",
                field="council",
                code="unknown_council",
            )

    def voters(self, council: str) -> frozenset[str]:
        """Members who may vote in ``council`` on the census date (primary or secondary)."""
        self._require(council)
        return self.voters_by_council.get(council, frozenset())

    def primary_members(self, council: str) -> frozenset[str]:
        """Members whose primary base on the census date is ``council``."""
        self._require(council)
        return self.primary_by_council.get(council, frozenset())

    def represented(self, council: str) -> int:
        """Distinct members whose primary base is ``council`` or a base below it.

        Each member is counted once, even when a DAG gives two paths up to ``council``;
        secondary memberships never add to it.
        """
        self._require(council)
        return self.represented_counts[council]

    def represented_by_council(self) -> Mapping[str, int]:
        """``represented`` for every council of the graph."""
        return self.represented_counts

    def members(self) -> frozenset[str]:
        """Every member counted anywhere in this census."""
        return frozenset().union(*self.voters_by_council.values())

    def primary_base(self, member: str) -> str | None:
        """The member's primary base on the census date, or ``None`` if not counted."""
        for council, people in self.primary_by_council.items():
            if member in people:
                return council
        return None

    def to_canonical(self) -> dict[str, Any]:
        """The census as sorted plain data, for the record."""
        return {
            "on": self.on.isoformat(),
            "basis": self.basis,
            "voters": {k: sorted(v) for k, v in self.voters_by_council.items()},
            "primary": {k: sorted(v) for k, v in self.primary_by_council.items()},
            "represented": dict(self.represented_counts),
        }

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> Census:
        """Rebuild a census from :meth:`to_canonical` data (for replay)."""
        try:
            return cls(
                on=date.fromisoformat(data["on"]),
                basis=str(data["basis"]),
                voters_by_council={k: frozenset(v) for k, v in data["voters"].items()},
                primary_by_council={k: frozenset(v) for k, v in data["primary"].items()},
                represented_counts={k: int(v) for k, v in data["represented"].items()},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise CensusError(
                f"expected census data with on, basis, voters, primary and represented, got {err}",
                field="census",
            ) from None


def _check_terms(on: date, basis: str) -> frozenset[str]:
    """The statuses ``basis`` counts, once ``on`` and ``basis`` are checked."""
    if basis not in _COUNTED:
        raise CensusError(
            f"expected one of {', '.join(CENSUS_BASES)}, got {basis!r}",
            field="represented_count_basis",
            code="invalid_choice",
        )
    if not isinstance(on, date):
        raise CensusError(f"expected a date, got {on!r}", field="on")
    return _COUNTED[basis]


def _counted(
    graph: CouncilGraph | None,
    memberships: Iterable[MembershipSpec],
    *,
    on: date,
    counted: frozenset[str],
) -> list[MembershipSpec]:
    """The memberships active and counted on ``on``, once every one is checked and every
    member with an active membership has exactly one active primary base."""
    primary_of: dict[str, str] = {}
    active_members: set[str] = set()
    out = []
    for i, m in enumerate(memberships):
        _check_one(graph, m, i)
        if not m.active_on(on):
            continue
        # The structure (one primary base per member) holds whatever the statuses are; the
        # basis only decides who is counted.
        active_members.add(m.member)
        if m.primary:
            if m.member in primary_of and primary_of[m.member] != m.council:
                raise CensusError(
                    f"member {m.member!r} has two primary bases on {on.isoformat()}: "
                    f"{primary_of[m.member]!r} and {m.council!r}; expected exactly one",
                    field=f"members.{m.member}",
                    code="two_primaries",
                )
            primary_of[m.member] = m.council
        if m.status in counted:
            out.append(m)
    missing = sorted(active_members - primary_of.keys())
    if missing:
        raise CensusError(
            f"members {', '.join(map(repr, missing))} belong to a base on {on.isoformat()} but "
            "have no primary base that day; expected exactly one primary membership each",
            field=f"members.{missing[0]}",
            code="no_primary",
        )
    return out


def base_voters(
    council: str,
    memberships: Iterable[MembershipSpec],
    *,
    on: date,
    basis: str = "members_in_good_standing",
) -> frozenset[str]:
    """Who may vote in the base council ``council`` on day ``on``, from the memberships of
    its own members alone: ``take_census(graph, all, on=on, basis=basis).voters(council)``
    without the rest of the organisation.

    ``memberships`` must hold every membership of each of the council's members (their other
    bases too), so that each one's single primary base is checked as ``take_census`` checks
    it; the caller vouches that the councils are bases. Memberships elsewhere only count
    for that check.

    >>> sorted(base_voters("dock", [
    ...     MembershipSpec("ana", "mill", True, date(2026, 1, 1)),
    ...     MembershipSpec("ana", "dock", False, date(2026, 1, 1)),
    ...     MembershipSpec("ben", "dock", True, date(2026, 1, 1), status="left"),
    ... ], on=date(2026, 6, 1)))
    ['ana']
    """
    counted = _check_terms(on, basis)
    return frozenset(
        m.member
        for m in _counted(None, memberships, on=on, counted=counted)
        if m.council == council
    )


def base_vote_weights(
    council: str,
    memberships: Iterable[MembershipSpec],
    *,
    on: date,
    basis: str = "members_in_good_standing",
    root_bases: Collection[str] = (),
) -> dict[str, int]:
    """Each voter of the base ``council`` on day ``on`` (`base_voters`) with their weight.

    One person, one weight per decision root (domain rules §3.4): on an item decided at a
    council above, ``root_bases`` are the bases below that council. A voter whose primary
    base is another of them weighs 0 here, since their weight reaches the root through their
    primary base; every other voter weighs 1, including a member whose primary base is not
    below the root (their two bases meet only above the item, or never). Without
    ``root_bases`` (a matter of this base alone) every voter weighs 1.

    >>> day = date(2026, 1, 1)
    >>> mills = [
    ...     MembershipSpec("ana", "mill", True, day), MembershipSpec("ana", "dock", False, day),
    ...     MembershipSpec("bo", "farm", True, day), MembershipSpec("bo", "dock", False, day),
    ...     MembershipSpec("cy", "dock", True, day),
    ... ]
    >>> base_vote_weights("dock", mills, on=day, root_bases={"mill", "dock"})
    {'ana': 0, 'bo': 1, 'cy': 1}
    """
    counted = _check_terms(on, basis)
    active = _counted(None, memberships, on=on, counted=counted)
    primary_of = {m.member: m.council for m in active if m.primary}
    below = frozenset(root_bases)
    weights = {}
    for m in sorted((m for m in active if m.council == council), key=lambda m: m.member):
        primary = primary_of.get(m.member, council)
        weights[m.member] = 0 if primary != council and primary in below else 1
    return weights


def take_census(
    graph: CouncilGraph,
    memberships: Iterable[MembershipSpec],
    *,
    on: date,
    basis: str = "members_in_good_standing",
) -> Census:
    """Freeze who counts on day ``on``.

    ``basis`` ``"members"`` counts probation, good standing and suspended members;
    ``"members_in_good_standing"`` (default) only members in good standing;
    ``"voters_in_instruction_vote"`` counts members in good standing here and leaves the
    turnout weighting to the tally. Status ``left`` never counts. Each membership is checked
    as by :func:`validate_memberships`, and every member with an active membership must have
    exactly one active primary base on ``on``. A member counted in a secondary base whose
    primary membership is not counted (suspended there, under the good-standing basis) votes
    in the secondary base but adds to no represented count.
    """
    counted = _check_terms(on, basis)
    voters: dict[str, set[str]] = {k: set() for k in graph if graph.is_base(k)}
    primary: dict[str, set[str]] = {k: set() for k in voters}
    for m in _counted(graph, memberships, on=on, counted=counted):
        voters[m.council].add(m.member)
        if m.primary:
            primary[m.council].add(m.member)
    represented = {key: sum(len(primary[b]) for b in graph.bases_below(key)) for key in graph}
    return Census(
        on=on,
        basis=basis,
        voters_by_council={k: frozenset(v) for k, v in voters.items()},
        primary_by_council={k: frozenset(v) for k, v in primary.items()},
        represented_counts=represented,
    )


def vote_census_basis(represented_count_basis: str) -> str:
    """The basis of the census a base's vote freezes, from the organisation's policy
    ``structure.represented_count_basis``.

    ``members_in_good_standing`` lets only members in good standing vote; ``members`` lets
    every member vote (probation, good standing, suspended), and so does
    ``voters_in_instruction_vote``, which weighs a base by its turnout: that weight is the
    tally's, and the census of who may vote is every member. Refused for any other value.

    >>> vote_census_basis("voters_in_instruction_vote")
    'members'
    """
    _check_terms(date.min, represented_count_basis)
    if represented_count_basis in VOTE_CENSUS_BASES:
        return represented_count_basis
    return "members"


def delegate_vote_weights(
    seats: Iterable[tuple[str, date, date | None]], *, on: date
) -> dict[str, int]:
    """Who votes in a council of delegates on day ``on``: each member holding one of its
    delegate seats that day, given as ``(member, start, end)`` over ``[start, end)``; weight
    1 each, however many seats (§3.18), sorted by member.

    >>> delegate_vote_weights([("ana", date(2026, 1, 1), None),
    ...     ("ben", date(2026, 7, 1), None)], on=date(2026, 6, 1))
    {'ana': 1}
    """
    if not isinstance(on, date):
        raise CensusError(f"expected a date, got {on!r}", field="on")
    held = {m for m, start, end in seats if start <= on and (end is None or on < end)}
    return dict.fromkeys(sorted(held), 1)


@dataclass(frozen=True, slots=True)
class CensusDifference:
    """The first voter (in sorted order) on whom a recorded census and the census derived
    from the memberships disagree: their weight in each, ``None`` where they are not in it."""

    voter: str
    derived: Fraction | None
    recorded: Fraction | None

    def explain(self, council: str, on: date) -> str:
        """One sentence naming the voter, for a refusal."""
        day = on.isoformat()
        if self.recorded is None:
            return (
                f"{self.voter} may vote in {council!r} on {day} with weight {self.derived}, "
                "but the recorded census leaves them out"
            )
        if self.derived is None:
            return (
                f"{self.voter} is in the recorded census with weight {self.recorded}, but "
                f"may not vote in {council!r} on {day}"
            )
        return (
            f"{self.voter} votes in {council!r} on {day} with weight {self.derived}, the "
            f"recorded census says {self.recorded}"
        )


def census_difference(
    derived: Mapping[str, int | Fraction], recorded: Mapping[str, Fraction]
) -> CensusDifference | None:
    """Where a recorded census (voter -> weight) differs from the derived one, or ``None``.

    >>> census_difference({"ana": 1, "ben": 0}, {"ana": Fraction(1), "cy": Fraction(1)})
    CensusDifference(voter='ben', derived=Fraction(0, 1), recorded=None)
    """
    if len(derived) == len(recorded):
        get = recorded.get
        # Shared weight objects (a census repeats "1") compare by identity first.
        if all((w := get(k)) is v or (w is not None and w == v) for k, v in derived.items()):
            return None
    for voter in sorted(derived.keys() | recorded.keys()):
        mine, theirs = derived.get(voter), recorded.get(voter)
        if mine is None or theirs is None or mine != theirs:
            return CensusDifference(voter, None if mine is None else Fraction(mine), theirs)
    return None  # pragma: no cover (equal lengths, equal keys and weights: no difference)
