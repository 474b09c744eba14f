"""Reads of the council graph, scoped by permission; rules come from konsilo.governance."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from konsilo import governance as gov
from konsilo.web.councils import permissions
from konsilo.web.councils.models import (
    Council,
    Delegation,
    Member,
    Membership,
    Office,
    Organisation,
    PolicyVersion,
)
from konsilo.web.errors import NotFoundError, PermissionDeniedError

# -- permission-scoped getters --------------------------------------------------------------


def get_organisation(*, user: Any, slug: str, change: bool = False) -> Organisation:
    """The organisation if the user may see it (and change it, with ``change=True``).

    Outsiders get "not found", so that the existence of an organisation is not revealed.
    """
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None or not permissions.can_view_organisation(user, organisation):
        raise NotFoundError(f"organisation {slug!r} not found", field="organisation")
    if change and not permissions.can_change_structure(user, organisation):
        raise PermissionDeniedError(
            "only the organisation's stewards may change its structure", field="organisation"
        )
    return organisation


def get_council(*, organisation: Organisation, key: str) -> Council:
    council = Council.objects.filter(organisation=organisation, key=key).first()
    if council is None:
        raise NotFoundError(f"council {key!r} not found in {organisation.slug}", field="council")
    return council


def get_member(*, organisation: Organisation, member_id: str) -> Member:
    member = Member.objects.filter(organisation=organisation, public_id=_uuid(member_id)).first()
    if member is None:
        raise NotFoundError(f"member {member_id!r} not found", field="member")
    return member


def _uuid(value: str) -> str:
    text = value.removeprefix("m-")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise NotFoundError(f"member {value!r} not found", field="member") from None


def list_organisations_for_user(user: Any) -> list[Organisation]:
    if not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return list(Organisation.objects.order_by("name"))
    return list(
        Organisation.objects.filter(Q(stewards__user=user) | Q(members__user=user))
        .distinct()
        .order_by("name")
    )


# -- the graph and the census ---------------------------------------------------------------


def load_graph(organisation: Organisation) -> gov.CouncilGraph:
    """Build the pure council graph from the stored councils and delegations."""
    parents: dict[int, list[str]] = defaultdict(list)
    for from_id, to_key in Delegation.objects.filter(organisation=organisation).values_list(
        "from_council_id", "to_council__key"
    ):
        parents[from_id].append(to_key)
    specs = [
        gov.CouncilSpec(key=key, level=level, parents=tuple(sorted(parents[pk])))
        for pk, key, level in Council.objects.filter(organisation=organisation).values_list(
            "pk", "key", "level"
        )
    ]
    return gov.CouncilGraph.build(
        levels=organisation.levels, councils=specs, parent_rule=organisation.parent_rule
    )


def membership_specs(organisation: Organisation) -> list[gov.MembershipSpec]:
    rows = Membership.objects.filter(member__organisation=organisation).values_list(
        "member__public_id", "council__key", "primary", "start", "end", "member__status"
    )
    return [
        gov.MembershipSpec(
            member=f"m-{uid.hex}",
            council=key,
            primary=primary,
            start=start,
            end=end,
            status=status,
        )
        for uid, key, primary, start, end, status in rows
    ]


def take_census(organisation: Organisation, *, on: dt.date | None = None) -> gov.Census:
    graph = load_graph(organisation)
    basis = resolve_policy(organisation).value("structure.represented_count_basis")
    return gov.take_census(
        graph,
        membership_specs(organisation),
        on=on or timezone.localdate(),
        basis=basis if basis in {"members", "members_in_good_standing"} else "members",
    )


# -- policies -------------------------------------------------------------------------------


def latest_version(
    organisation: Organisation, *, scope: str, target: str = ""
) -> PolicyVersion | None:
    return (
        PolicyVersion.objects.filter(organisation=organisation, scope=scope, target=target)
        .order_by("-number")
        .first()
    )


def list_policy_versions(
    organisation: Organisation, *, scope: str, target: str = ""
) -> list[PolicyVersion]:
    return list(
        PolicyVersion.objects.filter(
            organisation=organisation, scope=scope, target=target
        ).order_by("number")
    )


def parse_stored_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: gov.parse_value(name, raw) for name, raw in values.items()}


def organisation_preset(organisation: Organisation) -> str | None:
    version = latest_version(organisation, scope=PolicyVersion.Scope.ORGANISATION)
    return (version.preset or None) if version else None


def policy_layers(
    organisation: Organisation,
    *,
    council: Council | None = None,
    decision_type: str | None = None,
) -> list[gov.PolicyLayer]:
    """The stored layers for a council and decision type, highest precedence first."""

    def latest(scope: str, target: str) -> PolicyVersion | None:
        return latest_version(organisation, scope=scope, target=target)

    return _layers(organisation, latest, council=council, decision_type=decision_type)


def _layers(
    organisation: Organisation,
    latest: Callable[[str, str], PolicyVersion | None],
    *,
    council: Council | None,
    decision_type: str | None,
) -> list[gov.PolicyLayer]:
    layers: list[gov.PolicyLayer] = []
    if decision_type:
        version = latest(PolicyVersion.Scope.DECISION_TYPE, decision_type)
        if version:
            layers.append(
                gov.PolicyLayer(
                    source="decision_type",
                    label=f"{decision_type} v{version.number}",
                    values=parse_stored_values(version.values),
                )
            )
    if council is not None:
        version = latest(PolicyVersion.Scope.COUNCIL, council.key)
        if version:
            layers.append(
                gov.PolicyLayer(
                    source="council",
                    label=f"{council.name} v{version.number}",
                    values=parse_stored_values(version.values),
                )
            )
    version = latest(PolicyVersion.Scope.ORGANISATION, "")
    if version:
        layers.append(
            gov.PolicyLayer(
                source="organisation",
                label=f"{organisation.name} v{version.number}",
                values=parse_stored_values(version.values),
            )
        )
    return layers


def _level_rank(organisation: Organisation, council: Council | None) -> int | None:
    if council is None:
        return None
    levels = list(organisation.levels)
    return levels.index(council.level) if council.level in levels else None


def resolve_policy(
    organisation: Organisation,
    *,
    council: Council | None = None,
    decision_type: str | None = None,
) -> gov.ResolvedPolicy:
    return gov.resolve(
        policy_layers(organisation, council=council, decision_type=decision_type),
        preset=organisation_preset(organisation),
        level_rank=_level_rank(organisation, council),
        decision_type=decision_type,
    )


class PolicyBook:
    """The policies of many councils of one organisation, from its policy versions read at
    once: what `resolve_policy` gives for each, without its queries per council, and each
    distinct policy resolved once (councils of one level with no policy of their own share
    theirs). A book reads the versions as they stand when it is made: for one piece of work
    (sending an item to every base), not to keep."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self._latest: dict[tuple[str, str], PolicyVersion] = {}
        for version in PolicyVersion.objects.filter(organisation=organisation).order_by(
            "scope", "target", "number"
        ):
            self._latest[(version.scope, version.target)] = version  # the last is the latest
        organisation_version = self.latest(PolicyVersion.Scope.ORGANISATION)
        self._preset = (organisation_version.preset or None) if organisation_version else None
        self._resolved: dict[tuple[int | None, int | None, str | None], gov.ResolvedPolicy] = {}
        self.memo: dict[Any, Any] = {}  # for callers' work on the shared resolved policies

    def latest(self, scope: str, target: str = "") -> PolicyVersion | None:
        return self._latest.get((scope, target))

    def resolve(
        self, council: Council | None = None, decision_type: str | None = None
    ) -> gov.ResolvedPolicy:
        """`resolve_policy` of ``council`` and ``decision_type`` (the same object for
        councils whose policy is the same: read it, do not change it)."""
        own = self.latest(PolicyVersion.Scope.COUNCIL, council.key) if council else None
        rank = _level_rank(self.organisation, council)
        key = (own.pk if own else None, rank, decision_type)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = gov.resolve(
                _layers(
                    self.organisation,
                    self.latest,
                    council=council,
                    decision_type=decision_type,
                ),
                preset=self._preset,
                level_rank=rank,
                decision_type=decision_type,
            )
            self._resolved[key] = resolved
        return resolved


# -- the tree page --------------------------------------------------------------------------


@dataclass
class DelegationView:
    delegation: Delegation
    seats: int
    represented: int
    delegates: list[Office]


@dataclass
class CouncilNode:
    council: Council
    level_rank: int
    is_base: bool
    represented: int
    members: int
    delegations_up: list[DelegationView] = field(default_factory=list)
    children: list[CouncilNode] = field(default_factory=list)


@dataclass
class Tree:
    organisation: Organisation
    census: gov.Census
    roots: list[CouncilNode]
    nodes: dict[str, CouncilNode]
    seat_errors: dict[str, str]


def delegation_seat_counts(
    organisation: Organisation, graph: gov.CouncilGraph, census: gov.Census
) -> tuple[dict[tuple[str, str], int], dict[str, str]]:
    """Seats of every delegation, apportioned per higher council by its seat policy."""
    seats: dict[tuple[str, str], int] = {}
    errors: dict[str, str] = {}
    councils = {c.key: c for c in Council.objects.filter(organisation=organisation)}
    book = PolicyBook(organisation)
    for key in graph.topological_order():
        children = sorted(graph.children(key))
        if not children:
            continue
        policy = book.resolve(councils[key]).value("structure.delegation_seats")
        represented = {child: census.represented(child) for child in children}
        try:
            result = gov.delegation_seats(policy, represented, seed=f"{organisation.slug}/{key}")
        except gov.GovernanceError as exc:
            errors[key] = exc.message
            continue
        for child, count in result.seats.items():
            seats[(child, key)] = count
    return seats, errors


def council_tree(organisation: Organisation, *, on: dt.date | None = None) -> Tree:
    graph = load_graph(organisation)
    census = take_census(organisation, on=on)
    seats, seat_errors = delegation_seat_counts(organisation, graph, census)
    councils = {c.key: c for c in Council.objects.filter(organisation=organisation)}
    delegates: dict[int, list[Office]] = defaultdict(list)
    today = on or timezone.localdate()
    for office in Office.objects.filter(
        Q(end__isnull=True) | Q(end__gt=today),
        organisation=organisation,
        delegation__isnull=False,
        start__lte=today,
    ).select_related("member"):
        assert office.delegation_id is not None
        delegates[office.delegation_id].append(office)
    nodes = {
        key: CouncilNode(
            council=councils[key],
            level_rank=graph.level_rank(key),
            is_base=graph.is_base(key),
            represented=census.represented(key),
            members=len(census.voters(key)) if graph.is_base(key) else 0,
        )
        for key in graph.topological_order()
    }
    for delegation in Delegation.objects.filter(organisation=organisation).select_related(
        "from_council", "to_council"
    ):
        child, parent = delegation.from_council.key, delegation.to_council.key
        nodes[child].delegations_up.append(
            DelegationView(
                delegation=delegation,
                seats=seats.get((child, parent), 0),
                represented=census.represented(child),
                delegates=delegates.get(delegation.pk, []),
            )
        )
        nodes[parent].children.append(nodes[child])
    for node in nodes.values():
        node.children.sort(key=lambda n: n.council.name)
    roots = sorted((nodes[k] for k in graph.roots()), key=lambda n: n.council.name)
    return Tree(
        organisation=organisation, census=census, roots=roots, nodes=nodes, seat_errors=seat_errors
    )


# -- members --------------------------------------------------------------------------------


def list_council_members(council: Council, *, on: dt.date | None = None) -> list[Membership]:
    today = on or timezone.localdate()
    return list(
        Membership.objects.filter(
            Q(end__isnull=True) | Q(end__gt=today), council=council, start__lte=today
        )
        .select_related("member")
        .order_by("-primary", "member__name")
    )


def list_council_offices(council: Council, *, on: dt.date | None = None) -> list[Office]:
    today = on or timezone.localdate()
    return list(
        Office.objects.filter(Q(end__isnull=True) | Q(end__gt=today), council=council)
        .select_related("member", "delegation__from_council")
        .order_by("kind", "member__name")
    )


@dataclass
class MemberOverview:
    member: Member
    memberships: list[Membership]
    offices: list[Office]


def member_overview(user: Any) -> list[MemberOverview]:
    """Everything a person is, across organisations: their councils and their offices."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        MemberOverview(
            member=member,
            memberships=list(member.memberships.filter(end__isnull=True).select_related("council")),
            offices=list(
                member.offices.filter(end__isnull=True).select_related(
                    "council", "delegation__from_council"
                )
            ),
        )
        for member in Member.objects.filter(user=user).select_related("organisation")
    ]
