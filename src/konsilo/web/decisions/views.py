"""Pages of decisions: read an item and its discussion, comment, vote, see receipt and result.

Every page works without JavaScript and on a phone; every form posts with Django's CSRF
token. Views parse the form, fetch through a permission-scoped getter, call one action, and
redirect (or, after a secret ballot, show the receipt once: it is never stored).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from konsilo.web.councils import permissions
from konsilo.web.councils.views import page
from konsilo.web.decisions import actions, selectors
from konsilo.web.decisions.models import Proposal
from konsilo.web.errors import InvalidInputError

SHAPE_TEXT = {
    "yes_no_abstain": "Yes / no / abstain",
    "consent": "Consent round",
    "multi_option": "One choice among options",
    "approval": "Approve any options",
    "ranked": "Rank the options",
    "score": "Score each option (0–10)",
    "dot_vote": "Place dots on options",
    "budget": "Participatory budget",
}


def _item_url(proposal: Proposal) -> str:
    return reverse("decisions:proposal", args=[proposal.record_id])


# -- lists and new items --------------------------------------------------------------------


@page
def council_proposals(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    council = selectors.get_council(slug=slug, key=key)
    return render(
        request,
        "decisions/council.html",
        {
            "organisation": council.organisation,
            "council": council,
            "proposals": selectors.list_proposals(user=request.user, council=council),
            "may_propose": permissions.is_council_member(request.user, council),
        },
    )


def _parse_options(raw: str, shape: str) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    for raw_line in (raw or "").splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if shape == "budget":
            label, _, cost = line.rpartition("|")
            if not label:
                raise InvalidInputError(
                    f"options: write each project as 'name | cost', got {line!r}", field="options"
                )
            options.append({"label": label.strip(), "cost": cost.strip()})
        else:
            options.append({"label": line})
    return options


@page
def new_proposal(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    council = selectors.get_council(slug=slug, key=key)
    main_id = request.GET.get("alternative_to") or request.POST.get("alternative_to") or ""
    main = selectors.get_proposal(user=request.user, public_id=main_id) if main_id else None
    context: dict[str, Any] = {
        "organisation": council.organisation,
        "council": council,
        "main": main,
        "decision_types": actions.DECISION_TYPES,
        "shapes": SHAPE_TEXT.items(),
        "form": request.POST,
    }
    if request.method == "POST":
        shape = request.POST.get("ballot_shape", "yes_no_abstain")
        dots = request.POST.get("dots", "").strip()
        supersedes_id = request.POST.get("supersedes", "").strip()
        try:
            proposal = actions.create_proposal(
                actor=request.user,
                council=council,
                title=request.POST.get("title", ""),
                text=request.POST.get("text", ""),
                decision_type=request.POST.get("decision_type", "ordinary_motion"),
                ballot_shape=shape,
                options=_parse_options(request.POST.get("options", ""), shape),
                budget=request.POST.get("budget") or None,
                dots=int(dots) if dots.isdigit() else None,
                alternative_to=main,
                supersedes=selectors.get_proposal(user=request.user, public_id=supersedes_id)
                if supersedes_id
                else None,
            )
        except InvalidInputError as exc:
            context["error"] = exc.message
            return render(request, "decisions/new.html", context, status=400)
        messages.success(request, "Your proposal is drafted. Ask other members to second it.")
        return redirect(_item_url(proposal))
    permissions_ok = permissions.is_council_member(request.user, council)
    if not permissions_ok:
        context["error"] = f"Only members of {council.name} may propose."
    return render(request, "decisions/new.html", context, status=200 if permissions_ok else 403)


# -- the item -------------------------------------------------------------------------------


def _rounds(proposal: Proposal, shown: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not shown or not shown["disclosed"]:
        return []
    labels = selectors.option_labels(proposal)
    return [
        {
            "number": r["number"],
            "explanation": r["explanation"],
            "threshold": r["threshold"],
            "rows": [(labels.get(k, k), v) for k, v in r["tallies"].items()],
            "elected": [labels.get(k, k) for k in r["elected"]],
        }
        for r in shown["rounds"]
    ]


def _ballot_inputs(proposal: Proposal, mine: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per option, with what the member's open ballot says about it."""
    labels = selectors.option_labels(proposal)
    ballot = mine.get("ballot") or {}
    keys = selectors.vote_options(proposal)
    ranks: dict[str, int] = {}
    for place, group in enumerate(ballot.get("ranking", []), start=1):
        for key in group:
            ranks[key] = place
    return [
        {
            "key": key,
            "label": labels.get(key, key),
            "chosen": ballot.get("choice") == key or ballot.get("stance") == key,
            "approved": key in ballot.get("approve", []),
            "rank": ranks.get(key, ""),
            "score": ballot.get("scores", {}).get(key, ""),
            "dots": ballot.get("dots", {}).get(key, ""),
            "cost": next((o.get("cost") for o in proposal.options if o["key"] == key), None),
        }
        for key in keys
    ]


def _voting_from(proposal: Proposal, instruction: Any, sent: Any) -> Any:
    """When the vote may open: for an item sent down or an instruction vote, its opening
    scheduled by the sending (not the council's notice); else the end of the notice."""
    if instruction is not None:
        return instruction.opens_at
    if sent is not None:
        return proposal.voting_opened_at
    return actions.voting_opens_from(proposal)


def _context(request: HttpRequest, proposal: Proposal) -> dict[str, Any]:
    user = request.user
    council = proposal.council
    member = permissions.member_for(user, proposal.organisation)
    insider = permissions.is_council_member(user, council)
    is_author = member is not None and member.pk == proposal.author_id
    steward = permissions.is_steward(user, proposal.organisation)
    shown = selectors.disclosure(proposal)
    mine = selectors.my_ballot(user, proposal)
    versions = list(proposal.versions.order_by("number"))
    voting_open = proposal.phase == "voting" and not selectors.is_past_deadline(proposal)
    from konsilo.web.federation import selectors as federation  # noqa: PLC0415

    sent = federation.federated_item(proposal)
    instruction = getattr(proposal, "instruction", None)
    return {
        "federation": sent,
        "instruction_of": instruction.sending.proposal if instruction is not None else None,
        "instruction_listed": instruction.listed if instruction is not None else None,
        "instruction_to": (instruction.higher or instruction.sending.proposal).council
        if instruction is not None
        else None,
        "may_send": (is_author or steward)
        and proposal.phase == "discussion"
        and proposal.alternative_to_id is None
        and sent is None
        and council.delegations_in.exists(),
        "my_delegations": federation.delegations_of(member, proposal, sent) if sent else [],
        "my_postponable": federation.postponable_by(member, proposal, sent) if sent else [],
        "may_amend": federation.may_amend(user, member, proposal, sent) if sent else False,
        "may_list": federation.may_list(user, member, proposal, sent) if sent else False,
        "organisation": proposal.organisation,
        "council": council,
        "p": proposal,
        "text": versions[-1],
        "versions": versions,
        "shape_text": SHAPE_TEXT.get(proposal.ballot_shape, proposal.ballot_shape),
        "seconds": proposal.seconds.count(),
        "seconds_needed": actions.seconds_needed(proposal),
        "seconded": member is not None and proposal.seconds.filter(member=member).exists(),
        "voting_from": _voting_from(proposal, instruction, sent),
        # A sent item's vote (and a middle council's) is in phase voting from the sending,
        # but opens to its voters at its scheduled opening.
        "voting_started": proposal.voting_opened_at is not None
        and proposal.voting_opened_at <= timezone.now(),
        "alternatives": list(proposal.alternatives.order_by("pk")),
        "insider": insider,
        "is_author": is_author,
        "may_steer": is_author or steward,
        "may_moderate": actions.can_moderate(user, council),
        "may_second": insider and not is_author and proposal.phase == "draft",
        "may_alternate": insider
        and proposal.alternative_to_id is None
        and proposal.phase in ("draft", "discussion")
        and proposal.ballot_shape in ("yes_no_abstain", "ranked"),
        "voting_open": voting_open,
        "mine": mine,
        "inputs": _ballot_inputs(proposal, mine) if proposal.method else [],
        "method": proposal.method,
        "result": shown,
        "rounds": _rounds(proposal, shown),
        "winners": [
            selectors.option_labels(proposal).get(w, w) for w in (shown or {}).get("winners", [])
        ],
        "comments": selectors.comment_tree(proposal),
        "reports": list(
            proposal.minority_reports.select_related("author").prefetch_related(
                "signatures__member"
            )
        ),
        "may_report": proposal.phase == "closed" and mine["voted"],
        "rank_choices": range(1, len(selectors.vote_options(proposal)) + 1)
        if proposal.method
        else [],
    }


@page
def proposal_page(request: HttpRequest, pid: str) -> HttpResponse:
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    return render(request, "decisions/proposal.html", _context(request, proposal))


@require_POST
@page
def step(request: HttpRequest, pid: str) -> HttpResponse:
    """Second, move to a phase, extend, withdraw or revise: one button, one action."""
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    do = request.POST.get("do", "")
    user = request.user
    if do == "second":
        actions.second_proposal(actor=user, proposal=proposal)
        messages.success(request, "You seconded the proposal.")
    elif do == "discussion":
        actions.open_discussion(actor=user, proposal=proposal)
        messages.success(request, "The proposal is on the agenda; its discussion is open.")
    elif do == "voting":
        actions.open_vote(actor=user, proposal=proposal)
        messages.success(request, "Voting is open.")
    elif do == "extend":
        actions.extend_vote(actor=user, proposal=proposal)
        messages.success(request, "The vote is extended.")
    elif do == "withdraw":
        actions.withdraw_proposal(
            actor=user, proposal=proposal, reason=request.POST.get("reason", "")
        )
        messages.success(request, "The proposal is withdrawn.")
    elif do == "revise":
        actions.revise_text(actor=user, proposal=proposal, text=request.POST.get("text", ""))
        messages.success(request, "A new version of the text is kept.")
    else:
        raise InvalidInputError(f"do: unknown step {do!r}", field="do")
    return redirect(_item_url(proposal))


def _ints(request: HttpRequest, prefix: str, keys: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        raw = request.POST.get(f"{prefix}_{key}", "").strip()
        if not raw:
            continue
        try:
            out[key] = int(raw)
        except ValueError:
            raise InvalidInputError(
                f"ballot: {prefix} for an option must be a whole number, got {raw!r}",
                field="ballot",
            ) from None
    return out


def ballot_from_form(request: HttpRequest, proposal: Proposal) -> dict[str, Any]:
    """The canonical ballot from the vote form (the action checks its shape)."""
    keys = selectors.vote_options(proposal)
    method = proposal.method
    if method in ("motion", "plurality"):
        choice = request.POST.get("choice") or None
        if method == "motion" and choice is None:
            raise InvalidInputError("ballot: choose yes, no or abstain", field="ballot")
        return {"choice": choice}
    if method == "consent":
        return {"stance": request.POST.get("stance", ""), "reason": request.POST.get("reason", "")}
    if method in ("approval", "budget"):
        return {"approve": request.POST.getlist("approve")}
    if method == "score":
        return {"scores": _ints(request, "score", keys)}
    if method == "dot_vote":
        return {"dots": _ints(request, "dots", keys)}
    ranks = _ints(request, "rank", keys)
    groups: dict[int, list[str]] = {}
    for key, place in ranks.items():
        groups.setdefault(place, []).append(key)
    return {"ranking": [groups[place] for place in sorted(groups)]}


@require_POST
@page
def vote(request: HttpRequest, pid: str) -> HttpResponse:
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    ballot = ballot_from_form(request, proposal)
    if selectors.my_ballot(request.user, proposal)["voted"]:
        actions.change_ballot(
            actor=request.user,
            proposal=proposal,
            ballot=ballot,
            receipt=request.POST.get("receipt", ""),
        )
        messages.success(
            request, "Your ballot is changed. You can change it until the vote closes."
        )
        return redirect(_item_url(proposal))
    receipt = actions.cast_ballot(actor=request.user, proposal=proposal, ballot=ballot)
    if receipt is None:
        messages.success(request, "Your ballot is cast. You can change it until the vote closes.")
        return redirect(_item_url(proposal))
    # Shown once, never stored: the member keeps it to change the ballot and to find it in
    # the record after the close.
    return render(
        request,
        "decisions/receipt.html",
        {
            "p": proposal,
            "council": proposal.council,
            "organisation": proposal.organisation,
            "receipt": receipt,
            "receipt_sha256": actions.receipt_hash(receipt),
        },
    )


@require_POST
@page
def comment(request: HttpRequest, pid: str) -> HttpResponse:
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    parent_id = request.POST.get("parent", "")
    parent = selectors.get_comment(proposal=proposal, comment_id=parent_id) if parent_id else None
    posted = actions.post_comment(
        actor=request.user, proposal=proposal, text=request.POST.get("text", ""), parent=parent
    )
    return redirect(f"{_item_url(proposal)}#{posted.record_id}")


@require_POST
@page
def hide(request: HttpRequest, pid: str, cid: str) -> HttpResponse:
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    hidden = actions.hide_comment(
        actor=request.user,
        comment=selectors.get_comment(proposal=proposal, comment_id=cid),
        reason=request.POST.get("reason", ""),
    )
    messages.success(request, "The comment is hidden; its reason is shown in its place.")
    return redirect(f"{_item_url(proposal)}#{hidden.record_id}")


@require_POST
@page
def minority(request: HttpRequest, pid: str) -> HttpResponse:
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    report = actions.file_minority_report(
        actor=request.user,
        proposal=proposal,
        text=request.POST.get("text", ""),
        receipt=request.POST.get("receipt", ""),
    )
    messages.success(request, "Your minority report is attached to the decision.")
    return redirect(f"{_item_url(proposal)}#{report.record_id}")


@require_POST
@page
def cosign(request: HttpRequest, pid: str, rid: str) -> HttpResponse:
    proposal = selectors.get_proposal(user=request.user, public_id=pid)
    report = selectors.get_report(proposal=proposal, report_id=rid)
    actions.cosign_minority_report(
        actor=request.user, report=report, receipt=request.POST.get("receipt", "")
    )
    messages.success(request, "You co-signed the minority report.")
    return redirect(f"{_item_url(proposal)}#{report.record_id}")
