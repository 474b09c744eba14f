"""Pages of the federation: send an item to the bases (listing amendments in advance), a
delegate's vote, the report-back, and on an amendment after the bases instructed: amend the
text, ask to postpone (§3.10).

The sent item's mandates, votes and member-level support are shown on the item's own page
(decisions/_federation.html, filled from ``selectors.federated_item``).
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from konsilo.web.councils import permissions
from konsilo.web.councils.models import Organisation
from konsilo.web.councils.views import page
from konsilo.web.decisions import selectors as decision_selectors
from konsilo.web.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from konsilo.web.federation import actions, selectors
from konsilo.web.federation.models import Sending


def _item_url(pid: str) -> str:
    return reverse("decisions:proposal", args=[pid]) + "#federation"


@require_POST
@page
def send(request: HttpRequest, pid: str) -> HttpResponse:
    """Send the item to the bases, its vote opening at the date and time given."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    raw = request.POST.get("opens_at", "")
    try:
        local = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(
            f"opens_at: expected a date and time, got {raw!r}", field="opens_at"
        ) from None
    if local.tzinfo is None:
        from zoneinfo import ZoneInfo  # noqa: PLC0415

        local = local.replace(tzinfo=ZoneInfo(proposal.organisation.timezone))
    label = request.POST.get("amendment_label", "").strip()
    amended = request.POST.get("amendment_text", "").strip()
    if bool(label) != bool(amended):
        missing = "amendment_text" if label else "amendment_label"
        raise InvalidInputError(
            f"{missing}: a listed amendment needs both a label and its full text",
            field=missing,
        )
    actions.send_to_bases(
        actor=request.user,
        proposal=proposal,
        opens_at=local,
        composition=request.POST.get("composition") or None,
        amendments=[(label, amended)] if label else [],
    )
    messages.success(request, "The item is sent: every council below votes its instruction.")
    return redirect(_item_url(proposal.record_id))


@require_POST
@page
def list_amendment(request: HttpRequest, pid: str) -> HttpResponse:
    """List an amendment in advance on a sent item, until the first vote below opens."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    listed = actions.list_amendment(
        actor=request.user,
        proposal=proposal,
        label=request.POST.get("label", ""),
        text=request.POST.get("text", ""),
    )
    messages.success(
        request, f"Amendment {listed.label} is listed: every council below instructs on it too."
    )
    return redirect(_item_url(proposal.record_id))


@require_POST
@page
def delegation_vote(request: HttpRequest, pid: str) -> HttpResponse:
    """A delegate casts their delegation's vote (``delegate_casts_checked``)."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    breach = actions.delegate_cast(
        actor=request.user,
        proposal=proposal,
        delegation_from=request.POST.get("delegation", ""),
        ballot={"choice": request.POST.get("choice", "")},
    )
    if breach is None:
        messages.success(request, "Your delegation's vote is cast.")
    else:
        messages.warning(request, breach.event["explanation"])
    return redirect(_item_url(proposal.record_id))


@require_POST
@page
def amend(request: HttpRequest, pid: str) -> HttpResponse:
    """The item's author or a steward amends a sent item's text before its vote opens."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    rounds = Sending.objects.filter(proposal=proposal).values_list("round", flat=True)
    before = rounds.first() or 0
    version = actions.amend_sent_item(
        actor=request.user, proposal=proposal, text=request.POST.get("text", "")
    )
    state = selectors.federated_item(proposal)
    assert state is not None  # amend_sent_item refuses items not sent
    if state.sending.round > before:
        messages.success(
            request,
            f"Version {version.number} is outside the mandates and enough delegations asked: "
            "the vote is postponed and the text sent to the bases again.",
        )
    elif state.amended is not None:
        outside = sum(1 for r in state.delegations if r.out_of_mandate is not None)
        messages.success(
            request,
            f"Version {version.number} is outside the mandates of {outside} "
            f"delegation{'s' if outside != 1 else ''}: see below what each does.",
        )
    else:
        messages.success(request, f"Version {version.number} is within every mandate.")
    return redirect(_item_url(proposal.record_id))


@require_POST
@page
def postpone(request: HttpRequest, pid: str) -> HttpResponse:
    """A delegate asks to postpone the vote on a text outside their delegation's mandate."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    asked = actions.request_postponement(
        actor=request.user, proposal=proposal, delegation_from=request.POST.get("delegation", "")
    )
    sending = asked.sending
    sending.refresh_from_db(fields=["round"])
    if sending.round > asked.instruction.round:
        messages.success(
            request, "Enough delegations asked: the vote is postponed and the text re-sent."
        )
    else:
        messages.success(request, f"{asked.instruction.key} asks to postpone the vote.")
    return redirect(_item_url(proposal.record_id))


@page
def report_back(request: HttpRequest, slug: str) -> HttpResponse:
    """The delegate's report-back: every sent item, its mandate, the vote, the reports."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise NotFoundError(f"organisation {slug!r} not found", field="slug")
    member = permissions.member_for(request.user, organisation)
    if member is None:
        raise PermissionDeniedError(
            "only members of the organisation have a report-back", field="slug"
        )
    return render(
        request,
        "federation/report_back.html",
        {
            "organisation": organisation,
            "member": member,
            "entries": selectors.report_back(member),
        },
    )
