"""Decisions in the JSON API: proposals, agenda, discussion, ballots, results, minority reports.

Each endpoint parses, fetches through a permission-scoped getter, calls one action and answers.
Refusals come back as ``{"error": {"code", "message", "field"}}`` with a 4xx status (the
handlers of ``konsilo.web.api.api``).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from konsilo.web.decisions import actions, selectors
from konsilo.web.errors import ConflictError

router = Router(tags=["decisions"])


class OptionIn(Schema):
    label: str
    cost: str | int | None = None


class ProposalIn(Schema):
    title: str
    text: str
    decision_type: str = "ordinary_motion"
    ballot_shape: str = Field(
        "yes_no_abstain",
        description="yes_no_abstain, consent, multi_option, approval, ranked, score, dot_vote "
        "or budget",
    )
    options: list[OptionIn] = []
    budget: str | int | None = None
    dots: int | None = None
    alternative_to: str | None = Field(None, description="the main item this competes with")
    supersedes: str | None = Field(None, description="the decision an amend_or_rescind changes")


class TextIn(Schema):
    text: str


class TransitionIn(Schema):
    to: Literal["discussion", "voting", "withdrawn", "closed"]
    reason: str = ""


class BallotIn(Schema):
    ballot: dict[str, Any] = Field(..., description="the canonical ballot of the item's method")
    receipt: str = Field("", description="to change a secret ballot: its receipt code")


class CommentIn(Schema):
    text: str
    parent: str | None = None


class HideIn(Schema):
    reason: str


class ReportIn(Schema):
    text: str
    receipt: str = ""


class SignIn(Schema):
    receipt: str = ""


def _summary(proposal: Any) -> dict[str, Any]:
    return {
        "id": proposal.record_id,
        "title": proposal.title,
        "phase": proposal.phase,
        "decision_type": proposal.decision_type,
        "ballot_shape": proposal.ballot_shape,
        "secret": proposal.secret,
        "closes_at": proposal.closes_at,
        "outcome": proposal.outcome or None,
    }


def _item(request: HttpRequest, pid: str) -> Any:
    return selectors.get_proposal(user=request.user, public_id=pid)


@router.get("/orgs/{slug}/councils/{key}/proposals", response=list[dict[str, Any]])
def list_proposals(request: HttpRequest, slug: str, key: str) -> list[dict[str, Any]]:
    council = selectors.get_council(slug=slug, key=key)
    return [_summary(p) for p in selectors.list_proposals(user=request.user, council=council)]


@router.post("/orgs/{slug}/councils/{key}/proposals", response={201: dict[str, Any]})
def create_proposal(request: HttpRequest, slug: str, key: str, payload: ProposalIn) -> Status[Any]:
    council = selectors.get_council(slug=slug, key=key)
    proposal = actions.create_proposal(
        actor=request.user,
        council=council,
        title=payload.title,
        text=payload.text,
        decision_type=payload.decision_type,
        ballot_shape=payload.ballot_shape,
        options=[o.dict() for o in payload.options],
        budget=None if payload.budget is None else str(payload.budget),
        dots=payload.dots,
        alternative_to=_item(request, payload.alternative_to) if payload.alternative_to else None,
        supersedes=_item(request, payload.supersedes) if payload.supersedes else None,
    )
    return Status(201, selectors.proposal_out(request.user, proposal))


@router.get("/proposals/{pid}", response=dict[str, Any])
def get_proposal(request: HttpRequest, pid: str) -> dict[str, Any]:
    return selectors.proposal_out(request.user, _item(request, pid))


@router.post("/proposals/{pid}/versions", response={201: dict[str, Any]})
def revise(request: HttpRequest, pid: str, payload: TextIn) -> Status[Any]:
    proposal = _item(request, pid)
    actions.revise_text(actor=request.user, proposal=proposal, text=payload.text)
    return Status(201, selectors.proposal_out(request.user, proposal))


@router.post("/proposals/{pid}/seconds", response={201: dict[str, Any]})
def second(request: HttpRequest, pid: str) -> Status[Any]:
    proposal = _item(request, pid)
    actions.second_proposal(actor=request.user, proposal=proposal)
    return Status(201, selectors.proposal_out(request.user, proposal))


@router.post("/proposals/{pid}/transitions", response=dict[str, Any])
def transition(request: HttpRequest, pid: str, payload: TransitionIn) -> dict[str, Any]:
    proposal = _item(request, pid)
    if payload.to == "discussion":
        actions.open_discussion(actor=request.user, proposal=proposal)
    elif payload.to == "voting":
        actions.open_vote(actor=request.user, proposal=proposal)
    elif payload.to == "withdrawn":
        actions.withdraw_proposal(actor=request.user, proposal=proposal, reason=payload.reason)
    else:
        raise ConflictError(
            "a vote is closed by the platform at its deadline, not by request", field="to"
        )
    return selectors.proposal_out(
        request.user, selectors.get_proposal(user=request.user, public_id=pid)
    )


@router.post("/proposals/{pid}/extension", response=dict[str, Any])
def extend(request: HttpRequest, pid: str) -> dict[str, Any]:
    proposal = actions.extend_vote(actor=request.user, proposal=_item(request, pid))
    return selectors.proposal_out(request.user, proposal)


@router.post("/proposals/{pid}/ballot", response={201: dict[str, Any]})
def cast(request: HttpRequest, pid: str, payload: BallotIn) -> Status[Any]:
    """Cast a first ballot. A secret ballot's receipt is in this answer only: keep it."""
    proposal = _item(request, pid)
    receipt = actions.cast_ballot(actor=request.user, proposal=proposal, ballot=payload.ballot)
    return Status(
        201, {"item": proposal.record_id, "receipt": receipt, "secret": receipt is not None}
    )


@router.put("/proposals/{pid}/ballot", response=dict[str, Any])
def change(request: HttpRequest, pid: str, payload: BallotIn) -> dict[str, Any]:
    """Change one's ballot until the vote closes (a secret one by its receipt)."""
    proposal = _item(request, pid)
    actions.change_ballot(
        actor=request.user, proposal=proposal, ballot=payload.ballot, receipt=payload.receipt
    )
    return {"item": proposal.record_id, "changed": True}


@router.get("/proposals/{pid}/result", response=dict[str, Any])
def result(request: HttpRequest, pid: str) -> dict[str, Any]:
    proposal = _item(request, pid)
    shown = selectors.disclosure(proposal)
    if shown is None:
        raise ConflictError(
            f"the vote has no result yet; the proposal is in phase {proposal.phase}",
            field="phase",
        )
    return {"item": proposal.record_id, "method": proposal.method, **shown}


@router.post("/proposals/{pid}/comments", response={201: dict[str, Any]})
def comment(request: HttpRequest, pid: str, payload: CommentIn) -> Status[Any]:
    proposal = _item(request, pid)
    parent = (
        selectors.get_comment(proposal=proposal, comment_id=payload.parent)
        if payload.parent
        else None
    )
    posted = actions.post_comment(
        actor=request.user, proposal=proposal, text=payload.text, parent=parent
    )
    return Status(201, {"id": posted.record_id, "item": proposal.record_id})


@router.post("/proposals/{pid}/comments/{cid}/hide", response=dict[str, Any])
def hide(request: HttpRequest, pid: str, cid: str, payload: HideIn) -> dict[str, Any]:
    proposal = _item(request, pid)
    hidden = actions.hide_comment(
        actor=request.user,
        comment=selectors.get_comment(proposal=proposal, comment_id=cid),
        reason=payload.reason,
    )
    return {"id": hidden.record_id, "hidden": True, "reason": hidden.hidden_reason}


@router.post("/proposals/{pid}/minority-reports", response={201: dict[str, Any]})
def file_report(request: HttpRequest, pid: str, payload: ReportIn) -> Status[Any]:
    proposal = _item(request, pid)
    report = actions.file_minority_report(
        actor=request.user, proposal=proposal, text=payload.text, receipt=payload.receipt
    )
    return Status(201, {"id": report.record_id, "item": proposal.record_id})


@router.post("/proposals/{pid}/minority-reports/{rid}/signatures", response={201: dict[str, Any]})
def sign_report(request: HttpRequest, pid: str, rid: str, payload: SignIn) -> Status[Any]:
    proposal = _item(request, pid)
    report = selectors.get_report(proposal=proposal, report_id=rid)
    actions.cosign_minority_report(actor=request.user, report=report, receipt=payload.receipt)
    return Status(201, {"id": report.record_id, "signatures": report.signatures.count()})
