"""Every change to organisations, councils, delegations, members and policies.

Each action is one durable transaction: check permission, load state, call the pure core,
save, and append what changed to the record in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from konsilo import governance as gov
from konsilo.web.councils import permissions, selectors
from konsilo.web.councils.models import (
    CensusSnapshot,
    Council,
    Delegation,
    Member,
    Membership,
    Office,
    Organisation,
    PolicyVersion,
    Steward,
)
from konsilo.web.errors import (
    ConflictError,
    InvalidInputError,
    KonsiloError,
    NotFoundError,
    PermissionDeniedError,
)
from konsilo.web.ledger.actions import append

Actor = AbstractBaseUser | AnonymousUser | None

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def actor_id(actor: Actor, organisation: Organisation | None = None) -> str:
    """How the record names who acted: the member, a user, or the operator (CLI)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "operator"
    if organisation is not None:
        member = permissions.member_for(actor, organisation)
        if member is not None:
            return member.record_id
    return f"u-{actor.pk}"


def _require_steward(actor: Actor, organisation: Organisation) -> None:
    # actor None is the operator at the command line, who owns the installation.
    if actor is not None and not permissions.can_change_structure(actor, organisation):
        raise PermissionDeniedError(
            "only the organisation's stewards may change its structure", field="organisation"
        )


def _check_slug(value: str, field: str) -> str:
    value = (value or "").strip()
    if not SLUG_RE.match(value):
        raise InvalidInputError(
            f"{field} must be 1–64 lowercase letters, digits or dashes, got {value!r}",
            field=field,
        )
    return value


def _check_name(value: str, field: str = "name") -> str:
    value = (value or "").strip()
    if not value or len(value) > 200:
        raise InvalidInputError(f"{field} must be 1–200 characters", field=field)
    return value


def _governance(exc: gov.GovernanceError) -> KonsiloError:
    return KonsiloError.from_governance(exc)


# -- organisations --------------------------------------------------------------------------


@transaction.atomic(durable=True)
def create_organisation(
    *,
    actor: Actor,
    slug: str,
    name: str,
    levels: Sequence[str],
    parent_rule: str = "tree",
    preset: str | None = None,
    timezone_name: str = "UTC",
) -> Organisation:
    slug = _check_slug(slug, "slug")
    name = _check_name(name)
    levels = [str(level).strip() for level in levels]
    try:
        gov.CouncilGraph.build(levels=levels, councils=[], parent_rule=parent_rule)
        version = gov.next_version(None, preset=preset or None, set_values={})
    except gov.GovernanceError as exc:
        raise _governance(exc) from None
    try:
        zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"timezone must be an IANA name such as Europe/Madrid, got {timezone_name!r}",
            field="timezone",
        ) from None
    if Organisation.objects.filter(slug=slug).exists():
        raise ConflictError(f"an organisation with slug {slug!r} already exists", field="slug")
    organisation = Organisation.objects.create(
        slug=slug, name=name, levels=levels, parent_rule=parent_rule, timezone=timezone_name
    )
    if actor is not None and getattr(actor, "is_authenticated", False):
        Steward.objects.create(organisation=organisation, user=actor)
    PolicyVersion.objects.create(
        organisation=organisation,
        scope=PolicyVersion.Scope.ORGANISATION,
        number=version.number,
        preset=preset or "",
        values={},
        reason="organisation founded",
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    ident = actor_id(actor, organisation)
    append(
        "organisation.created",
        {
            "slug": slug,
            "name": name,
            "levels": levels,
            "parent_rule": parent_rule,
            "timezone": timezone_name,
        },
        organisation=organisation,
        actor=ident,
    )
    append(
        "policy.versioned",
        {
            "scope": "organisation",
            "target": "",
            "number": version.number,
            "preset": preset,
            "values": {},
            "reason": "organisation founded",
        },
        organisation=organisation,
        actor=ident,
    )
    return organisation


@transaction.atomic(durable=True)
def add_steward(*, actor: Actor, organisation: Organisation, user: AbstractBaseUser) -> Steward:
    _require_steward(actor, organisation)
    steward, created = Steward.objects.get_or_create(organisation=organisation, user=user)
    if created:
        append(
            "steward.added",
            {"user": f"u-{user.pk}"},
            organisation=organisation,
            actor=actor_id(actor, organisation),
        )
    return steward


@transaction.atomic(durable=True)
def set_levels(*, actor: Actor, organisation: Organisation, levels: Sequence[str]) -> Organisation:
    """Rename, add or reorder levels; refused if any council would break the level order."""
    _require_steward(actor, organisation)
    levels = [str(level).strip() for level in levels]
    graph = selectors.load_graph(organisation)
    try:
        gov.CouncilGraph.build(
            levels=levels,
            councils=[graph.spec(key) for key in graph.topological_order()],
            parent_rule=organisation.parent_rule,
        )
    except gov.GovernanceError as exc:
        raise _governance(exc) from None
    if levels != organisation.levels:
        organisation.levels = levels
        organisation.save(update_fields=["levels"])
        append(
            "organisation.levels_set",
            {"levels": levels},
            organisation=organisation,
            actor=actor_id(actor, organisation),
        )
    return organisation


# -- councils and delegations ---------------------------------------------------------------


@transaction.atomic(durable=True)
def add_council(
    *,
    actor: Actor,
    organisation: Organisation,
    key: str,
    name: str,
    level: str,
    parents: Sequence[str] = (),
) -> Council:
    _require_steward(actor, organisation)
    key = _check_slug(key, "key")
    name = _check_name(name)
    if Council.objects.filter(organisation=organisation, key=key).exists():
        raise ConflictError(f"a council with key {key!r} already exists", field="key")
    graph = selectors.load_graph(organisation)
    try:
        graph.with_council(gov.CouncilSpec(key=key, level=level, parents=tuple(parents)))
    except gov.GovernanceError as exc:
        raise _governance(exc) from None
    council = Council.objects.create(organisation=organisation, key=key, name=name, level=level)
    ident = actor_id(actor, organisation)
    append(
        "council.created",
        {"key": key, "name": name, "level": level},
        organisation=organisation,
        council=key,
        actor=ident,
    )
    for parent_key in parents:
        _create_delegation(organisation, council, parent_key, ident)
    return council


def _create_delegation(
    organisation: Organisation, lower: Council, higher_key: str, ident: str
) -> Delegation:
    higher = selectors.get_council(organisation=organisation, key=higher_key)
    delegation = Delegation.objects.create(
        organisation=organisation, from_council=lower, to_council=higher
    )
    append(
        "delegation.created",
        {"from": lower.key, "to": higher.key},
        organisation=organisation,
        council=higher.key,
        actor=ident,
    )
    return delegation


@transaction.atomic(durable=True)
def add_delegation(
    *, actor: Actor, organisation: Organisation, from_key: str, to_key: str
) -> Delegation:
    """Send a delegation from one council to another (a second parent needs a DAG)."""
    _require_steward(actor, organisation)
    lower = selectors.get_council(organisation=organisation, key=from_key)
    graph = selectors.load_graph(organisation)
    if to_key in graph.parents(from_key):
        raise ConflictError(f"{from_key} already sends a delegation to {to_key}", field="to")
    try:
        graph.with_parents(from_key, (*graph.parents(from_key), to_key))
    except gov.GovernanceError as exc:
        raise _governance(exc) from None
    return _create_delegation(organisation, lower, to_key, actor_id(actor, organisation))


@transaction.atomic(durable=True)
def rename_council(*, actor: Actor, council: Council, name: str) -> Council:
    _require_steward(actor, council.organisation)
    name = _check_name(name)
    if name != council.name:
        council.name = name
        council.save(update_fields=["name"])
        append(
            "council.renamed",
            {"key": council.key, "name": name},
            organisation=council.organisation,
            council=council.key,
            actor=actor_id(actor, council.organisation),
        )
    return council


# -- members --------------------------------------------------------------------------------


def check_email(value: str, field: str = "email") -> str:
    value = (value or "").strip().lower()
    if not EMAIL_RE.match(value) or len(value) > 254:
        raise InvalidInputError(f"{field} must be an email address, got {value!r}", field=field)
    return value


def _base_council(
    organisation: Organisation, graph: gov.CouncilGraph, key: str, field: str
) -> Council:
    try:
        council = selectors.get_council(organisation=organisation, key=key)
    except NotFoundError:
        raise NotFoundError(f"{field}: council {key!r} not found", field=field) from None
    if not graph.is_base(key):
        raise InvalidInputError(
            f"{field}: {key!r} is a delegate council; members join base councils", field=field
        )
    return council


@transaction.atomic(durable=True)
def add_member(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    email: str,
    base: str,
    secondary: Collection[str] = (),
    categories: Collection[str] = (),
    start: dt.date | None = None,
) -> Member:
    _require_steward(actor, organisation)
    name = _check_name(name)
    email = check_email(email)
    if not base:
        raise InvalidInputError("base: every member needs a primary base council", field="base")
    graph = selectors.load_graph(organisation)
    base_council = _base_council(organisation, graph, base, "base")
    secondary = [s for s in dict.fromkeys(secondary) if s]
    if base in secondary:
        raise InvalidInputError(
            f"secondary: {base!r} is already the member's primary base", field="secondary"
        )
    if secondary:
        multi = selectors.resolve_policy(organisation).value("membership.multi_base_membership")
        if multi == "forbid":
            raise InvalidInputError(
                "secondary: this organisation's policy membership.multi_base_membership is"
                " 'forbid'",
                field="secondary",
            )
    others = [_base_council(organisation, graph, key, "secondary") for key in secondary]
    if Member.objects.filter(organisation=organisation, email=email).exists():
        raise ConflictError(f"a member with email {email} already exists", field="email")
    start = start or timezone.localdate()
    member = Member.objects.create(
        organisation=organisation, name=name, email=email, categories=sorted(set(categories))
    )
    Membership.objects.create(member=member, council=base_council, primary=True, start=start)
    for council in others:
        Membership.objects.create(member=member, council=council, primary=False, start=start)
    append(
        "member.joined",
        member_entry(member, base, secondary, start),
        organisation=organisation,
        council=base,
        actor=actor_id(actor, organisation),
    )
    return member


def member_entry(
    member: Member, base: str, secondary: Sequence[str], start: dt.date
) -> dict[str, Any]:
    """The record's view of a member joining: no email, no categories (both are private)."""
    return {
        "member": member.record_id,
        "name": member.name,
        "base": base,
        "secondary": list(secondary),
        "start": start,
        "status": member.status,
    }


@transaction.atomic(durable=True)
def add_membership(
    *,
    actor: Actor,
    member: Member,
    council_key: str,
    start: dt.date | None = None,
) -> Membership:
    """Add a secondary base council to a member."""
    organisation = member.organisation
    _require_steward(actor, organisation)
    graph = selectors.load_graph(organisation)
    council = _base_council(organisation, graph, council_key, "council")
    if selectors.resolve_policy(organisation).value("membership.multi_base_membership") == "forbid":
        raise InvalidInputError(
            "council: this organisation's policy membership.multi_base_membership is 'forbid'",
            field="council",
        )
    start = start or timezone.localdate()
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                member=member, council=council, primary=False, start=start
            )
    except IntegrityError:
        raise ConflictError(
            f"{member.name} is already a member of {council.key}", field="council"
        ) from None
    append(
        "membership.added",
        {"member": member.record_id, "council": council.key, "primary": False, "start": start},
        organisation=organisation,
        council=council.key,
        actor=actor_id(actor, organisation),
    )
    return membership


@transaction.atomic(durable=True)
def end_membership(*, actor: Actor, membership: Membership, on: dt.date | None = None) -> None:
    """End a secondary membership (a primary base is changed, never just ended)."""
    organisation = membership.member.organisation
    _require_steward(actor, organisation)
    if membership.end is not None:
        raise ConflictError("this membership has already ended", field="membership")
    if membership.primary:
        raise InvalidInputError(
            "membership: a member's primary base cannot just end; change it or record that"
            " the member left",
            field="membership",
        )
    on = on or timezone.localdate()
    if on < membership.start:
        raise InvalidInputError("on: a membership cannot end before it started", field="on")
    membership.end = on
    membership.save(update_fields=["end"])
    append(
        "membership.ended",
        {"member": membership.member.record_id, "council": membership.council.key, "end": on},
        organisation=organisation,
        council=membership.council.key,
        actor=actor_id(actor, organisation),
    )


@transaction.atomic(durable=True)
def change_primary_base(
    *, actor: Actor, member: Member, council_key: str, on: dt.date | None = None
) -> Membership:
    organisation = member.organisation
    _require_steward(actor, organisation)
    graph = selectors.load_graph(organisation)
    council = _base_council(organisation, graph, council_key, "council")
    on = on or timezone.localdate()
    current = member.memberships.filter(primary=True, end__isnull=True).first()
    if current is not None and current.council_id == council.pk:
        raise ConflictError(f"{council.key} is already the primary base", field="council")
    if current is not None:
        current.end = on
        current.save(update_fields=["end"])
    # A secondary membership of the new base becomes the primary one.
    member.memberships.filter(council=council, end__isnull=True).update(end=on)
    membership = Membership.objects.create(member=member, council=council, primary=True, start=on)
    append(
        "membership.primary_changed",
        {
            "member": member.record_id,
            "from": current.council.key if current else None,
            "to": council.key,
            "on": on,
        },
        organisation=organisation,
        council=council.key,
        actor=actor_id(actor, organisation),
    )
    return membership


@transaction.atomic(durable=True)
def set_member_status(*, actor: Actor, member: Member, status: str) -> Member:
    organisation = member.organisation
    _require_steward(actor, organisation)
    if status not in Member.Status.values:
        raise InvalidInputError(
            f"status must be one of {', '.join(Member.Status.values)}, got {status!r}",
            field="status",
        )
    if status != member.status:
        member.status = status
        member.save(update_fields=["status"])
        append(
            "member.status_changed",
            {"member": member.record_id, "status": status},
            organisation=organisation,
            actor=actor_id(actor, organisation),
        )
    return member


@transaction.atomic(durable=True)
def link_user(*, actor: Actor, member: Member, user: AbstractBaseUser) -> Member:
    """Let a login act as a member (the operator or a steward does this)."""
    _require_steward(actor, member.organisation)
    member.user = user  # type: ignore[assignment]
    member.save(update_fields=["user"])
    return member


# -- offices --------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def assign_office(
    *,
    actor: Actor,
    member: Member,
    kind: str,
    council_key: str,
    delegation_from: str | None = None,
    start: dt.date | None = None,
    scheduled_end: dt.date | None = None,
) -> Office:
    """Record that a member holds an office (elections and recall arrive with decisions)."""
    organisation = member.organisation
    _require_steward(actor, organisation)
    if kind not in Office.Kind.values:
        raise InvalidInputError(
            f"kind must be one of {', '.join(Office.Kind.values)}, got {kind!r}", field="kind"
        )
    council = selectors.get_council(organisation=organisation, key=council_key)
    delegation = None
    if delegation_from is not None:
        delegation = Delegation.objects.filter(
            organisation=organisation, from_council__key=delegation_from, to_council=council
        ).first()
        if delegation is None:
            raise NotFoundError(
                f"delegation_from: {delegation_from!r} sends no delegation to {council.key}",
                field="delegation_from",
            )
        if not member.memberships.filter(
            end__isnull=True, council__key__in=_bases_under(organisation, delegation_from)
        ).exists():
            raise InvalidInputError(
                f"member: {member.name} is not a member below {delegation_from}, so cannot sit"
                " in its delegation",
                field="member",
            )
    start = start or timezone.localdate()
    if Office.objects.filter(member=member, council=council, end__isnull=True).exists():
        raise ConflictError(
            f"{member.name} already holds a seat in {council.name}; one seat per council",
            field="member",
        )
    office = Office.objects.create(
        organisation=organisation,
        member=member,
        kind=kind,
        council=council,
        delegation=delegation,
        start=start,
        scheduled_end=scheduled_end,
    )
    append(
        "office.assigned",
        {
            "member": member.record_id,
            "kind": kind,
            "council": council.key,
            "delegation_from": delegation_from,
            "start": start,
            "scheduled_end": scheduled_end,
        },
        organisation=organisation,
        council=council.key,
        actor=actor_id(actor, organisation),
    )
    return office


def _bases_under(organisation: Organisation, key: str) -> list[str]:
    graph = selectors.load_graph(organisation)
    return sorted(graph.bases_below(key))


# -- policies -------------------------------------------------------------------------------


def _parse_values(values: Mapping[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for name, raw in values.items():
        try:
            parsed[name] = gov.parse_value(name, raw)
        except gov.GovernanceError as exc:
            if not exc.field:
                exc.field = name
            raise _governance(exc) from None
    return parsed


@transaction.atomic(durable=True)
def set_policy(
    *,
    actor: Actor,
    organisation: Organisation,
    scope: str,
    target: str = "",
    set_values: Mapping[str, Any] | None = None,
    unset: Collection[str] = (),
    preset: str | None = None,
    reason: str = "",
) -> PolicyVersion:
    """Create the next policy version at one scope; earlier versions stay as they were."""
    _require_steward(actor, organisation)
    if scope not in PolicyVersion.Scope.values:
        raise InvalidInputError(
            f"scope must be one of {', '.join(PolicyVersion.Scope.values)}, got {scope!r}",
            field="scope",
        )
    council = None
    if scope == PolicyVersion.Scope.ORGANISATION:
        target = ""
    elif scope == PolicyVersion.Scope.COUNCIL:
        council = selectors.get_council(organisation=organisation, key=target)
    elif not target:
        raise InvalidInputError("target: name the decision type", field="target")
    if preset is not None and scope != PolicyVersion.Scope.ORGANISATION:
        raise InvalidInputError(
            "preset: only the organisation's policy starts from a preset", field="preset"
        )
    parsed = _parse_values(set_values or {})
    previous = selectors.latest_version(organisation, scope=scope, target=target)
    previous_pure = (
        gov.PolicyVersion(
            number=previous.number,
            values=selectors.parse_stored_values(previous.values),
            preset=previous.preset or None,
        )
        if previous
        else None
    )
    keep_preset = previous.preset if previous and preset is None else (preset or "")
    try:
        version = gov.next_version(
            previous_pure, preset=keep_preset or None, set_values=parsed, unset=unset
        )
        # The new layer must also work together with everything it overrides or inherits.
        layers = selectors.policy_layers(
            organisation,
            council=council,
            decision_type=target if scope == PolicyVersion.Scope.DECISION_TYPE else None,
        )
        own = gov.PolicyLayer(source=scope, label="new version", values=version.values)
        layers = [own, *[layer for layer in layers if layer.source != scope]]
        decision_type = target if scope == PolicyVersion.Scope.DECISION_TYPE else None
        effective = gov.resolve(
            layers,
            preset=keep_preset or selectors.organisation_preset(organisation)
            if scope == PolicyVersion.Scope.ORGANISATION
            else selectors.organisation_preset(organisation),
            decision_type=decision_type,
        )
        problems = effective.problems()
        if problems:
            raise gov.PolicyError.from_problems(problems)
    except gov.GovernanceError as exc:
        raise _governance(exc) from None
    stored = {name: gov.dump_value(name, value) for name, value in version.values.items()}
    row = PolicyVersion.objects.create(
        organisation=organisation,
        scope=scope,
        council=council,
        target=target,
        number=version.number,
        preset=keep_preset or "",
        values=stored,
        reason=reason,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    append(
        "policy.versioned",
        {
            "scope": scope,
            "target": target,
            "number": version.number,
            "preset": keep_preset or None,
            "values": stored,
            "reason": reason,
        },
        organisation=organisation,
        council=council.key if council else "",
        actor=actor_id(actor, organisation),
    )
    return row


# -- census ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def freeze_census(
    *, actor: Actor, organisation: Organisation, on: dt.date | None = None
) -> CensusSnapshot:
    """Freeze who is represented where at a date, for apportionment and tallies."""
    _require_steward(actor, organisation)
    on = on or timezone.localdate()
    census = selectors.take_census(organisation, on=on)
    represented = dict(census.represented_by_council())
    snapshot = CensusSnapshot.objects.create(
        organisation=organisation, on=on, basis=census.basis, represented=represented
    )
    append(
        "census.frozen",
        {"on": on, "basis": census.basis, "represented": represented},
        organisation=organisation,
        actor=actor_id(actor, organisation),
    )
    return snapshot
