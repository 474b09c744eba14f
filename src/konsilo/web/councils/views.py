"""Pages: parse the request, fetch through a permission-scoped getter, call one action, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from konsilo import governance as gov
from konsilo.web.councils import member_import, permissions, selectors
from konsilo.web.councils.models import Organisation
from konsilo.web.errors import KonsiloError

SOURCE_TEXT = {
    "item": "this item",
    "decision_type": "decision type",
    "council": "this council",
    "organisation": "organisation",
    "preset": "preset",
    "default": "platform default",
}


def page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn refusals into a page that says what is wrong, with the right status."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except KonsiloError as exc:
            return render(
                request,
                "error.html",
                {"status": exc.status, "message": exc.message},
                status=exc.status,
            )

    return login_required(wrapper)


@page
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "councils/home.html",
        {"organisations": selectors.list_organisations_for_user(request.user)},
    )


@page
def tree(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.get_organisation(user=request.user, slug=slug)
    return render(
        request,
        "councils/tree.html",
        {
            "organisation": organisation,
            "tree": selectors.council_tree(organisation),
            "is_steward": permissions.is_steward(request.user, organisation),
        },
    )


def _display(value: Any) -> str:
    """A policy value as people read it (the API gives the exact canonical form)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_display(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_display(v)}" for k, v in value.items()) or "none"
    return str(value)


def _policy_sections(
    resolved: gov.ResolvedPolicy, organisation: Organisation
) -> list[dict[str, Any]]:
    """The effective policy grouped by section, each value with where it comes from."""
    # The graph's shape is stored on the organisation itself, not in its policy versions.
    structural = {
        "structure.levels": organisation.levels,
        "structure.parent_rule": organisation.parent_rule,
    }
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, rv in sorted(resolved.items()):
        section, _, short = name.partition(".")
        source_text = SOURCE_TEXT.get(rv.source, rv.source)
        if rv.label and rv.source in {"preset", "organisation", "council", "decision_type"}:
            source_text = f"{source_text}: {rv.label}"
        source = rv.source
        if name in structural:
            value, source, source_text = structural[name], "organisation", "organisation"
        else:
            value = gov.dump_value(name, rv.value)
        sections.setdefault(section, []).append(
            {
                "name": name,
                "short": short.replace("_", " "),
                "value": _display(value),
                "source": source,
                "source_text": source_text,
                "description": gov.PARAMETERS[name].description if name in gov.PARAMETERS else "",
            }
        )
    return [
        {
            "name": section,
            "rows": rows,
            "changed": sum(1 for r in rows if r["source"] != "default"),
        }
        for section, rows in sections.items()
    ]


@page
def council(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    organisation = selectors.get_organisation(user=request.user, slug=slug)
    council = selectors.get_council(organisation=organisation, key=key)
    tree = selectors.council_tree(organisation)
    node = tree.nodes[key]
    incoming = [
        d
        for child in node.children
        for d in child.delegations_up
        if d.delegation.to_council_id == council.pk
    ]
    return render(
        request,
        "councils/council.html",
        {
            "organisation": organisation,
            "council": council,
            "node": node,
            "incoming": incoming,
            "memberships": selectors.list_council_members(council) if node.is_base else [],
            "offices": selectors.list_council_offices(council),
            "policy": _policy_sections(
                selectors.resolve_policy(organisation, council=council), organisation
            ),
            "show_contact": permissions.can_see_contact_details(request.user, organisation),
        },
    )


@page
def import_members(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.get_organisation(user=request.user, slug=slug, change=True)
    context: dict[str, Any] = {"organisation": organisation}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["file_error"] = "Choose a CSV file to upload."
            status = 400
        else:
            skip = request.POST.get("skip_invalid") == "1"
            try:
                report = member_import.import_members(
                    actor=request.user,
                    organisation=organisation,
                    stream=upload.file,  # type: ignore[arg-type]
                    size=upload.size,
                    skip_invalid=skip,
                )
            except member_import.MemberImportError as exc:
                context["file_error"] = exc.message
                status = 400
            else:
                context.update(report=report, skipped=skip)
                if report.errors and not skip:
                    status = 400
    return render(request, "councils/import.html", context, status=status)
