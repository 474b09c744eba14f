"""The public record over HTTP: static C2SP tlog-tiles, the verifier key, and the lookup page.

The log is public: no login. Paths (under /log/<org>/) and caching follow c2sp.org/tlog-tiles:
full tiles never change (cached for a year, immutable); the checkpoint and partial tiles
change as the log grows (no-cache). Anything beyond the last signed checkpoint is a 404.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from konsilo.record import TileError, parse_tile_path
from konsilo.web.councils.selectors import list_organisations_for_user
from konsilo.web.errors import KonsiloError, NotFoundError
from konsilo.web.ledger import selectors

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "no-cache"


def _plain(body: bytes | str, *, status: int = 200, cache: str = SHORT) -> HttpResponse:
    response = HttpResponse(body, content_type="text/plain; charset=utf-8", status=status)
    response["Cache-Control"] = cache
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _refusal(exc: KonsiloError) -> HttpResponse:
    return _plain(exc.message + "\n", status=exc.status)


@require_safe
def checkpoint(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        organisation = selectors.get_log_organisation(slug=slug)
        return _plain(selectors.require_checkpoint(organisation).note)
    except KonsiloError as exc:
        return _refusal(exc)


@require_safe
def verifier_key(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        organisation = selectors.get_log_organisation(slug=slug)
        return _plain(selectors.verifier(organisation).vkey + "\n")
    except KonsiloError as exc:
        return _refusal(exc)


@require_safe
def tile(request: HttpRequest, slug: str, path: str) -> HttpResponse:
    try:
        organisation = selectors.get_log_organisation(slug=slug)
        wanted = parse_tile_path(path)
        data = selectors.tile_data(organisation, wanted)
        if data is None:
            raise NotFoundError(f"{path}: not in the signed tree", field="tile")
    except TileError as exc:
        return _plain(f"{exc}\n", status=404)
    except KonsiloError as exc:
        return _refusal(exc)
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Cache-Control"] = IMMUTABLE if wanted.is_full else SHORT
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def receipt(request: HttpRequest, slug: str, index: int) -> HttpResponse:
    try:
        organisation = selectors.get_log_organisation(slug=slug)
        text = selectors.receipt(organisation, index)
    except KonsiloError as exc:
        return _refusal(exc)
    response = _plain(text)
    response["Content-Disposition"] = f'attachment; filename="{slug}-{index}.tlog-proof"'
    return response


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("org", "").strip()
    if slug:
        return redirect("ledger:lookup", slug=slug)
    return render(
        request,
        "ledger/index.html",
        {"organisations": list_organisations_for_user(request.user)},
    )


@require_http_methods(["GET", "POST"])
def lookup(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        organisation = selectors.get_log_organisation(slug=slug)
    except KonsiloError as exc:
        return render(
            request, "error.html", {"status": exc.status, "message": exc.message}, status=404
        )
    query = request.POST.get("q", "") if request.method == "POST" else request.GET.get("q", "")
    result = selectors.look_up(organisation, query) if query.strip() else None
    latest = selectors.latest_checkpoint(organisation)
    vkey = selectors.verifier(organisation).vkey if latest else None
    return render(
        request,
        "ledger/lookup.html",
        {"organisation": organisation, "result": result, "latest": latest, "vkey": vkey},
        status=200 if result is None or result.ok else 422,
    )
