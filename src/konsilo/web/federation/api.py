"""The federation in the JSON API: send an item to the bases, the delegations' mandates and
votes on it, a delegate's vote, and a delegate's report-back; list amendments in advance,
on which the bases instruct beside the text (§3.10); amend a sent item after its
bases instructed and ask to postpone the vote on a text outside the mandate (§3.10).

Each endpoint parses, fetches through a permission-scoped getter, calls one action and
answers; refusals are ``{"error": {"code", "message", "field"}}`` with a 4xx status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from konsilo.web.councils import permissions
from konsilo.web.councils.models import Organisation
from konsilo.web.decisions import selectors as decision_selectors
from konsilo.web.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from konsilo.web.federation import actions, selectors

router = Router(tags=["federation"])


class ListedIn(Schema):
    label: str = Field(..., description="a short label, e.g. A")
    text: str = Field(..., description="the full amended text of the item")


class SendIn(Schema):
    opens_at: str = Field(..., description="when the higher vote opens (ISO instant with zone)")
    composition: str | None = Field(
        None, description="re_deliberation, pass_through or direct_base_representation"
    )
    amendments: list[ListedIn] = Field(
        default_factory=list,
        description="amendments listed in advance: every council below instructs on each",
    )


class DelegationBallotIn(Schema):
    delegation: str = Field(..., description="the council whose delegation votes")
    ballot: dict[str, Any]


class AmendmentIn(Schema):
    text: str = Field(..., description="the amended text the higher council votes on")


class PostponementIn(Schema):
    delegation: str = Field(..., description="the council whose delegation asks to postpone")


def _instant(raw: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"opens_at: expected an ISO instant such as 2027-01-20T09:00:00Z, got {raw!r}",
            field="opens_at",
        ) from None
    if when.tzinfo is None:
        raise InvalidInputError("opens_at: expected an instant with a time zone", field="opens_at")
    return when


def _federated(request: HttpRequest, pid: str) -> Any:
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    state = selectors.federated_item(proposal)
    if state is None:
        raise NotFoundError("this item was not sent to the bases", field="proposal")
    return proposal, state


@router.post("/proposals/{pid}/sending", response={201: dict[str, Any]})
def send(request: HttpRequest, pid: str, payload: SendIn) -> Status[Any]:
    """Send a higher council's item (in discussion) to the councils below it."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    actions.send_to_bases(
        actor=request.user,
        proposal=proposal,
        opens_at=_instant(payload.opens_at),
        composition=payload.composition,
        amendments=[(a.label, a.text) for a in payload.amendments],
    )
    _, state = _federated(request, pid)
    return Status(201, selectors.as_json(state))


@router.post("/proposals/{pid}/listed-amendments", response={201: dict[str, Any]})
def listed_amendment(request: HttpRequest, pid: str, payload: ListedIn) -> Status[Any]:
    """List an amendment in advance on a sent item, until the first vote below opens: every
    council below instructs on its text beside the text sent (§3.10)."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    listed = actions.list_amendment(
        actor=request.user, proposal=proposal, label=payload.label, text=payload.text
    )
    _, state = _federated(request, pid)
    return Status(
        201,
        {
            "item": proposal.record_id,
            "label": listed.label,
            "text_sha256": listed.sha256,
            **selectors.as_json(state),
        },
    )


@router.get("/proposals/{pid}/federation", response=dict[str, Any])
def federation(request: HttpRequest, pid: str) -> dict[str, Any]:
    """Every delegation's instruction vote, mandate, vote and carried minority reports, and the
    member-level support below the council."""
    proposal, state = _federated(request, pid)
    return {"item": proposal.record_id, **selectors.as_json(state)}


@router.post("/proposals/{pid}/delegation-ballot", response={201: dict[str, Any]})
def delegation_ballot(request: HttpRequest, pid: str, payload: DelegationBallotIn) -> Status[Any]:
    """A delegate casts their delegation's vote (``delegate_casts_checked``)."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    breach = actions.delegate_cast(
        actor=request.user,
        proposal=proposal,
        delegation_from=payload.delegation,
        ballot=payload.ballot,
    )
    return Status(
        201,
        {
            "item": proposal.record_id,
            "counted": breach is None,
            "breach": breach.event if breach is not None else None,
        },
    )


@router.post("/proposals/{pid}/amendment", response={201: dict[str, Any]})
def amendment(request: HttpRequest, pid: str, payload: AmendmentIn) -> Status[Any]:
    """The item's author (or a steward) amends a sent item's text, after every delegation
    voting in it has its mandate and before its vote opens. The answer shows the text now
    voted on and each delegation's standing outside its mandate (``out_of_mandate``)."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    version = actions.amend_sent_item(actor=request.user, proposal=proposal, text=payload.text)
    _, state = _federated(request, pid)
    return Status(
        201,
        {
            "item": proposal.record_id,
            "version": version.number,
            "text_sha256": version.sha256,
            **selectors.as_json(state),
        },
    )


@router.post("/proposals/{pid}/postponement-request", response={201: dict[str, Any]})
def postponement_request(request: HttpRequest, pid: str, payload: PostponementIn) -> Status[Any]:
    """A delegate asks to postpone the vote on a text outside their delegation's mandate, so
    that its base can instruct on it; ``postponed`` says whether the requests now postpone
    the vote (the text is then re-sent to the bases, ``round`` the re-sending)."""
    proposal = decision_selectors.get_proposal(user=request.user, public_id=pid)
    asked = actions.request_postponement(
        actor=request.user, proposal=proposal, delegation_from=payload.delegation
    )
    _, state = _federated(request, pid)
    return Status(
        201,
        {
            "item": proposal.record_id,
            "delegation": asked.instruction.key,
            "voted_sha256": asked.voted_sha256,
            "requested_by": asked.requested_by,
            "postponed": state.sending.round > asked.instruction.round,
            "round": state.sending.round,
        },
    )


@router.get("/orgs/{slug}/report-back", response=list[dict[str, Any]])
def report_back(request: HttpRequest, slug: str) -> list[dict[str, Any]]:
    """The signed-in delegate's report-back: for every sent item of their delegations, the
    mandate, how the delegation voted and the minority reports it carries."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise NotFoundError(f"organisation {slug!r} not found", field="slug")
    member = permissions.member_for(request.user, organisation)
    if member is None:
        raise PermissionDeniedError(
            "only members of the organisation have a report-back", field="slug"
        )
    out = []
    for entry in selectors.report_back(member):
        row = entry.row
        out.append(
            {
                "item": entry.item.record_id,
                "title": entry.item.title,
                "council": entry.item.council.key,
                "phase": entry.item.phase,
                "outcome": entry.item.outcome or None,
                "delegation": row.key,
                "mandate": row.mandate,
                "listed_mandates": selectors.listed_json(row),
                "votes": [
                    {"ballot": v.ballot, "weight": v.weight, "cast_by": v.cast_by}
                    for v in row.votes
                ],
                "breaches": [b.event for b in row.breaches],
                "minority_reports": [
                    {"report": r.record_id, "text": r.text, "signatories": r.signatories}
                    for r in row.reports
                ],
            }
        )
    return out
