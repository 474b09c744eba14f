"""The JSON API under /api/v1/: parse, check permission, call one action, answer.

Every refusal has the shape ``{"error": {"code", "message", "field"}}`` with a 4xx status.
Authentication: the browser session (with CSRF) or ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, NinjaAPI, Query, Router, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.files import UploadedFile
from ninja.security import APIKeyCookie, HttpBearer

from konsilo import governance as gov
from konsilo.web.accounts.models import ApiToken
from konsilo.web.api import schemas as s
from konsilo.web.councils import actions, member_import, permissions, selectors
from konsilo.web.councils.models import (
    Council,
    Delegation,
    Member,
    Membership,
    Office,
    PolicyVersion,
)
from konsilo.web.decisions.api import router as decisions_router
from konsilo.web.errors import KonsiloError, NotFoundError, PermissionDeniedError
from konsilo.web.federation.api import router as federation_router
from konsilo.web.ledger.api import router as ledger_router


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = ApiToken.objects.select_related("user").filter(digest=ApiToken.hash(token)).first()
        if row is None or not row.user.is_active:
            return None
        # When a token was last used is kept to the minute: a script's every request would
        # otherwise write to the database, reads included.
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= ApiToken.USE_RECORDED_EVERY:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class SessionAuth(APIKeyCookie):
    """Django's session login; ninja checks the CSRF token for unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


api = NinjaAPI(
    title="konsilo API",
    version="1",
    description="Councils, delegations, members and policies of a konsilo organisation.",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, field: str | None) -> Any:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "field": field}}, status=status
    )


@api.exception_handler(KonsiloError)
def _konsilo_error(request: HttpRequest, exc: KonsiloError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.field)  # type: ignore[no-any-return]


@api.exception_handler(gov.GovernanceError)
def _governance_error(request: HttpRequest, exc: gov.GovernanceError) -> HttpResponse:
    return _konsilo_error(request, KonsiloError.from_governance(exc))


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    first = exc.errors[0] if exc.errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in {"body", "payload", "query", "path"}]
    field = ".".join(loc) or None
    message = first.get("msg", "invalid input")
    return _error(  # type: ignore[no-any-return]
        request, 422, "invalid", f"{field}: {message}" if field else message, field
    )


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(  # type: ignore[no-any-return]
        request, 401, "unauthenticated", "log in or send an API token", None
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http", str(exc), None)  # type: ignore[no-any-return]


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "not found", None)  # type: ignore[no-any-return]


router = Router()


def _org(request: HttpRequest, slug: str, *, change: bool = False) -> Any:
    return selectors.get_organisation(user=request.user, slug=slug, change=change)


# -- organisations --------------------------------------------------------------------------


def _org_out(request: HttpRequest, organisation: Any) -> dict[str, Any]:
    return {
        "slug": organisation.slug,
        "name": organisation.name,
        "levels": organisation.levels,
        "parent_rule": organisation.parent_rule,
        "timezone": organisation.timezone,
        "preset": selectors.organisation_preset(organisation),
        "councils": organisation.councils.count(),
        "members": organisation.members.count(),
        "you_are_steward": permissions.is_steward(request.user, organisation),
    }


@router.get("/orgs", response=list[s.OrganisationOut], tags=["organisations"])
def list_orgs(request: HttpRequest) -> list[dict[str, Any]]:
    return [_org_out(request, o) for o in selectors.list_organisations_for_user(request.user)]


@router.post(
    "/orgs",
    response={201: s.OrganisationOut, 403: s.ErrorOut, 409: s.ErrorOut},
    tags=["organisations"],
)
def create_org(request: HttpRequest, payload: s.OrganisationIn) -> Status[Any]:
    if not request.user.is_staff:
        raise PermissionDeniedError("only the platform's operators may found organisations")
    organisation = actions.create_organisation(
        actor=request.user,
        slug=payload.slug,
        name=payload.name,
        levels=payload.levels,
        parent_rule=payload.parent_rule,
        preset=payload.preset,
        timezone_name=payload.timezone,
    )
    return Status(201, _org_out(request, organisation))


@router.get(
    "/orgs/{slug}", response={200: s.OrganisationOut, 404: s.ErrorOut}, tags=["organisations"]
)
def get_org(request: HttpRequest, slug: str) -> dict[str, Any]:
    return _org_out(request, _org(request, slug))


@router.put("/orgs/{slug}/levels", response=s.OrganisationOut, tags=["organisations"])
def put_levels(request: HttpRequest, slug: str, payload: s.LevelsIn) -> dict[str, Any]:
    organisation = actions.set_levels(
        actor=request.user, organisation=_org(request, slug, change=True), levels=payload.levels
    )
    return _org_out(request, organisation)


# -- councils -------------------------------------------------------------------------------


def _council_out(graph: gov.CouncilGraph, census: gov.Census, council: Council) -> dict[str, Any]:
    key = council.key
    return {
        "key": key,
        "name": council.name,
        "level": council.level,
        "is_base": graph.is_base(key),
        "parents": sorted(graph.parents(key)),
        "children": sorted(graph.children(key)),
        "represented": census.represented(key),
        "members": len(census.voters(key)) if graph.is_base(key) else 0,
    }


@router.get("/orgs/{slug}/councils", response=list[s.CouncilOut], tags=["councils"])
def list_councils(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    organisation = _org(request, slug)
    graph = selectors.load_graph(organisation)
    census = selectors.take_census(organisation)
    return [_council_out(graph, census, c) for c in organisation.councils.order_by("key")]


@router.post("/orgs/{slug}/councils", response={201: s.CouncilOut}, tags=["councils"])
def create_council(request: HttpRequest, slug: str, payload: s.CouncilIn) -> Status[Any]:
    organisation = _org(request, slug, change=True)
    council = actions.add_council(
        actor=request.user,
        organisation=organisation,
        key=payload.key,
        name=payload.name,
        level=payload.level,
        parents=payload.parents,
    )
    graph = selectors.load_graph(organisation)
    return Status(201, _council_out(graph, selectors.take_census(organisation), council))


@router.get("/orgs/{slug}/councils/{key}", response=s.CouncilOut, tags=["councils"])
def get_council(request: HttpRequest, slug: str, key: str) -> dict[str, Any]:
    organisation = _org(request, slug)
    council = selectors.get_council(organisation=organisation, key=key)
    graph = selectors.load_graph(organisation)
    return _council_out(graph, selectors.take_census(organisation), council)


@router.patch("/orgs/{slug}/councils/{key}", response=s.CouncilOut, tags=["councils"])
def patch_council(
    request: HttpRequest, slug: str, key: str, payload: s.CouncilPatch
) -> dict[str, Any]:
    organisation = _org(request, slug, change=True)
    council = selectors.get_council(organisation=organisation, key=key)
    actions.rename_council(actor=request.user, council=council, name=payload.name)
    graph = selectors.load_graph(organisation)
    return _council_out(graph, selectors.take_census(organisation), council)


# -- delegations ----------------------------------------------------------------------------


@router.get("/orgs/{slug}/delegations", response=list[s.DelegationOut], tags=["councils"])
def list_delegations(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    tree = selectors.council_tree(_org(request, slug))
    return [
        {
            "id": view.delegation.pk,
            "from_council": view.delegation.from_council.key,
            "to_council": view.delegation.to_council.key,
            "seats": view.seats,
            "represented": view.represented,
            "delegates": [o.member.record_id for o in view.delegates],
        }
        for node in tree.nodes.values()
        for view in node.delegations_up
    ]


@router.post("/orgs/{slug}/delegations", response={201: s.DelegationOut}, tags=["councils"])
def create_delegation(request: HttpRequest, slug: str, payload: s.DelegationIn) -> Status[Any]:
    organisation = _org(request, slug, change=True)
    delegation: Delegation = actions.add_delegation(
        actor=request.user,
        organisation=organisation,
        from_key=payload.from_council,
        to_key=payload.to_council,
    )
    tree = selectors.council_tree(organisation)
    view = next(
        v
        for v in tree.nodes[payload.from_council].delegations_up
        if v.delegation.pk == delegation.pk
    )
    return Status(
        201,
        {
            "id": delegation.pk,
            "from_council": payload.from_council,
            "to_council": payload.to_council,
            "seats": view.seats,
            "represented": view.represented,
            "delegates": [],
        },
    )


# -- members --------------------------------------------------------------------------------


def _member_out(request: HttpRequest, member: Member) -> dict[str, Any]:
    show_contact = permissions.can_see_contact_details(request.user, member.organisation)
    if member.user_id is not None and member.user_id == request.user.pk:
        show_contact = True
    return {
        "id": member.record_id,
        "name": member.name,
        "email": member.email if show_contact else None,
        "status": member.status,
        "memberships": [
            {
                "id": m.pk,
                "council": m.council.key,
                "primary": m.primary,
                "start": m.start,
                "end": m.end,
            }
            for m in member.memberships.select_related("council").order_by("-primary", "start")
        ],
    }


@router.get("/orgs/{slug}/members", response=list[s.MemberOut], tags=["members"])
def list_members(
    request: HttpRequest, slug: str, council: str | None = None
) -> list[dict[str, Any]]:
    organisation = _org(request, slug)
    members = organisation.members.all()
    if council:
        selectors.get_council(organisation=organisation, key=council)
        members = members.filter(memberships__council__key=council, memberships__end__isnull=True)
    return [_member_out(request, m) for m in members.distinct().prefetch_related("memberships")]


@router.post("/orgs/{slug}/members", response={201: s.MemberOut}, tags=["members"])
def create_member(request: HttpRequest, slug: str, payload: s.MemberIn) -> Status[Any]:
    organisation = _org(request, slug, change=True)
    member = actions.add_member(
        actor=request.user,
        organisation=organisation,
        name=payload.name,
        email=payload.email,
        base=payload.base,
        secondary=payload.secondary,
        categories=payload.categories,
    )
    return Status(201, _member_out(request, member))


@router.post("/orgs/{slug}/members/import", response=s.ImportReport, tags=["members"])
def import_members(
    request: HttpRequest,
    slug: str,
    file: File[UploadedFile],
    skip_invalid: bool = False,
) -> dict[str, Any]:
    organisation = _org(request, slug, change=True)
    report = member_import.import_members(
        actor=request.user,
        organisation=organisation,
        stream=file.file,
        size=file.size,
        skip_invalid=skip_invalid,
    )
    return report.as_dict()


@router.get("/orgs/{slug}/members/{member_id}", response=s.MemberOut, tags=["members"])
def get_member(request: HttpRequest, slug: str, member_id: str) -> dict[str, Any]:
    organisation = _org(request, slug)
    return _member_out(
        request, selectors.get_member(organisation=organisation, member_id=member_id)
    )


@router.post(
    "/orgs/{slug}/members/{member_id}/memberships", response={201: s.MemberOut}, tags=["members"]
)
def add_membership(
    request: HttpRequest, slug: str, member_id: str, payload: s.MembershipIn
) -> Status[Any]:
    organisation = _org(request, slug, change=True)
    member = selectors.get_member(organisation=organisation, member_id=member_id)
    actions.add_membership(
        actor=request.user, member=member, council_key=payload.council, start=payload.start
    )
    return Status(201, _member_out(request, member))


@router.post("/orgs/{slug}/members/{member_id}/primary", response=s.MemberOut, tags=["members"])
def change_primary(
    request: HttpRequest, slug: str, member_id: str, payload: s.PrimaryIn
) -> dict[str, Any]:
    organisation = _org(request, slug, change=True)
    member = selectors.get_member(organisation=organisation, member_id=member_id)
    actions.change_primary_base(
        actor=request.user, member=member, council_key=payload.council, on=payload.on
    )
    return _member_out(request, member)


@router.post("/orgs/{slug}/members/{member_id}/status", response=s.MemberOut, tags=["members"])
def set_status(
    request: HttpRequest, slug: str, member_id: str, payload: s.StatusIn
) -> dict[str, Any]:
    organisation = _org(request, slug, change=True)
    member = selectors.get_member(organisation=organisation, member_id=member_id)
    actions.set_member_status(actor=request.user, member=member, status=payload.status)
    return _member_out(request, member)


@router.post("/orgs/{slug}/memberships/{membership_id}/end", response=s.MemberOut, tags=["members"])
def end_membership(
    request: HttpRequest, slug: str, membership_id: int, payload: s.EndIn
) -> dict[str, Any]:
    organisation = _org(request, slug, change=True)
    membership = (
        Membership.objects.select_related("member", "council")
        .filter(pk=membership_id, member__organisation=organisation)
        .first()
    )
    if membership is None:
        raise NotFoundError(f"membership {membership_id} not found", field="membership")
    actions.end_membership(actor=request.user, membership=membership, on=payload.on)
    return _member_out(request, membership.member)


# -- offices --------------------------------------------------------------------------------


def _office_out(office: Office) -> dict[str, Any]:
    return {
        "id": office.pk,
        "member": office.member.record_id,
        "member_name": office.member.name,
        "kind": office.kind,
        "council": office.council.key,
        "delegation_from": office.delegation.from_council.key if office.delegation else None,
        "start": office.start,
        "scheduled_end": office.scheduled_end,
    }


@router.get("/orgs/{slug}/offices", response=list[s.OfficeOut], tags=["offices"])
def list_offices(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    organisation = _org(request, slug)
    offices = Office.objects.filter(organisation=organisation, end__isnull=True).select_related(
        "member", "council", "delegation__from_council"
    )
    return [_office_out(o) for o in offices]


@router.post("/orgs/{slug}/offices", response={201: s.OfficeOut}, tags=["offices"])
def create_office(request: HttpRequest, slug: str, payload: s.OfficeIn) -> Status[Any]:
    organisation = _org(request, slug, change=True)
    member = selectors.get_member(organisation=organisation, member_id=payload.member)
    office = actions.assign_office(
        actor=request.user,
        member=member,
        kind=payload.kind,
        council_key=payload.council,
        delegation_from=payload.delegation_from,
        start=payload.start,
        scheduled_end=payload.scheduled_end,
    )
    return Status(201, _office_out(office))


# -- policies -------------------------------------------------------------------------------


@router.get("/orgs/{slug}/policy", response=list[s.PolicyValueOut], tags=["policies"])
def get_policy(
    request: HttpRequest,
    slug: str,
    council: str | None = None,
    decision_type: str | None = None,
) -> list[dict[str, Any]]:
    """The effective policy, each value with where it comes from."""
    organisation = _org(request, slug)
    council_obj = selectors.get_council(organisation=organisation, key=council) if council else None
    resolved = selectors.resolve_policy(
        organisation, council=council_obj, decision_type=decision_type
    )
    return [
        {
            "name": name,
            "value": gov.dump_value(name, rv.value),
            "source": rv.source,
            "label": rv.label,
        }
        for name, rv in sorted(resolved.items())
    ]


def _version_out(version: PolicyVersion) -> dict[str, Any]:
    return {
        "scope": version.scope,
        "target": version.target,
        "number": version.number,
        "preset": version.preset or None,
        "values": version.values,
        "reason": version.reason,
        "created_at": version.created_at,
    }


@router.get("/orgs/{slug}/policy/versions", response=list[s.PolicyVersionOut], tags=["policies"])
def list_policy_versions(
    request: HttpRequest, slug: str, scope: str = "organisation", target: str = ""
) -> list[dict[str, Any]]:
    organisation = _org(request, slug)
    return [
        _version_out(v)
        for v in selectors.list_policy_versions(organisation, scope=scope, target=target)
    ]


@router.post("/orgs/{slug}/policy", response={201: s.PolicyVersionOut}, tags=["policies"])
def set_policy(request: HttpRequest, slug: str, payload: s.PolicyIn) -> Status[Any]:
    organisation = _org(request, slug, change=True)
    version = actions.set_policy(
        actor=request.user,
        organisation=organisation,
        scope=payload.scope,
        target=payload.target,
        set_values=payload.set,
        unset=payload.unset,
        preset=payload.preset,
        reason=payload.reason,
    )
    return Status(201, _version_out(version))


@router.get("/presets", response=list[s.PresetOut], tags=["policies"])
def list_presets(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "title": p.title,
            "description": p.description,
            "values": {n: gov.dump_value(n, v) for n, v in p.values.items()},
        }
        for p in gov.PRESETS.values()
    ]


@router.get("/policy/parameters", response=list[s.ParameterOut], tags=["policies"])
def list_parameters(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "section": p.section,
            "kind": str(p.kind),
            "default": gov.dump_value(p.name, p.default),
            "choices": list(p.choices) if p.choices else None,
            "description": p.description,
        }
        for p in gov.PARAMETERS.values()
    ]


# -- census ---------------------------------------------------------------------------------


@router.get("/orgs/{slug}/census", response=s.CensusOut, tags=["councils"])
def get_census(request: HttpRequest, slug: str, on: Query[s.CensusIn]) -> dict[str, Any]:
    census = selectors.take_census(_org(request, slug), on=on.on)
    return {"on": census.on, "basis": census.basis, "represented": census.represented_by_council()}


@router.post("/orgs/{slug}/census", response={201: s.CensusOut}, tags=["councils"])
def freeze_census(request: HttpRequest, slug: str, payload: s.CensusIn) -> Status[Any]:
    snapshot = actions.freeze_census(
        actor=request.user, organisation=_org(request, slug, change=True), on=payload.on
    )
    return Status(
        201, {"on": snapshot.on, "basis": snapshot.basis, "represented": snapshot.represented}
    )


api.add_router("", router)
api.add_router("/log", ledger_router)
api.add_router("", decisions_router)
api.add_router("", federation_router)
