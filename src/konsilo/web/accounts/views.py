"""Log in, log out, and a member's own page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from konsilo.web.councils import selectors
from konsilo.web.councils.models import Organisation


@login_required
def me(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/me.html",
        {
            "overview": selectors.member_overview(request.user),
            "stewarded": Organisation.objects.filter(stewards__user=request.user).order_by("name"),
        },
    )
