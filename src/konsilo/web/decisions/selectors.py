"""Reads of proposals, scoped by permission, and the views the pages and the API share.

What is public: every item past its draft, its discussion (hidden comments show as hidden,
with the reason), its result and its minority reports; all of it is in the public record
anyway. Drafts are seen by the council's members and the organisation's stewards only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from konsilo import canonical
from konsilo.web.councils import permissions
from konsilo.web.councils.models import Council
from konsilo.web.decisions import actions
from konsilo.web.decisions.models import (
    Ballot,
    Comment,
    MinorityReport,
    Participation,
    Proposal,
    SecretBallot,
    VoterRoll,
)
from konsilo.web.errors import NotFoundError

Phase = Proposal.Phase


def is_insider(user: Any, council: Council) -> bool:
    """A member of the council or a steward of its organisation."""
    return permissions.is_steward(user, council.organisation) or permissions.is_council_member(
        user, council
    )


def get_council(*, slug: str, key: str) -> Council:
    """A council by organisation slug and key; its decided items are public."""
    council = (
        Council.objects.select_related("organisation")
        .filter(organisation__slug=slug, key=key)
        .first()
    )
    if council is None:
        raise NotFoundError(f"council {key!r} not found in {slug!r}", field="council")
    return council


def get_proposal(*, user: Any, public_id: str) -> Proposal:
    """A proposal the user may read; a draft is "not found" to those outside its council."""
    try:
        proposal = (
            Proposal.objects.select_related("council__organisation", "author", "alternative_to")
            .filter(public_id=str(public_id).removeprefix("p-"))
            .first()
        )
    except (ValueError, ValidationError):  # a malformed id is simply not found
        proposal = None
    if proposal is None or (
        proposal.phase == Phase.DRAFT and not is_insider(user, proposal.council)
    ):
        raise NotFoundError(f"proposal {public_id!r} not found", field="proposal")
    return proposal


def get_comment(*, proposal: Proposal, comment_id: str) -> Comment:
    comment = None
    try:
        comment = Comment.objects.filter(
            proposal=proposal, public_id=str(comment_id).removeprefix("c-")
        ).first()
    except (ValueError, ValidationError):
        comment = None
    if comment is None:
        raise NotFoundError(f"comment {comment_id!r} not found on this item", field="comment")
    return comment


def get_report(*, proposal: Proposal, report_id: str) -> MinorityReport:
    report = None
    try:
        report = MinorityReport.objects.filter(
            proposal=proposal, public_id=str(report_id).removeprefix("r-")
        ).first()
    except (ValueError, ValidationError):
        report = None
    if report is None:
        raise NotFoundError(f"minority report {report_id!r} not found", field="report")
    return report


def list_proposals(*, user: Any, council: Council) -> list[Proposal]:
    """The council's main items (alternatives are shown with their item), newest first."""
    rows = Proposal.objects.filter(council=council, alternative_to__isnull=True).select_related(
        "author"
    )
    if not is_insider(user, council):
        rows = rows.exclude(phase=Phase.DRAFT)
    return list(rows.order_by("-created_at"))


# -- the item as people and programs read it ------------------------------------------------


def option_labels(proposal: Proposal) -> dict[str, str]:
    labels = {"yes": "Yes", "no": "No", "abstain": "Abstain", actions.STATUS_QUO: "Status quo"}
    labels.update({o["key"]: o["label"] for o in proposal.options})
    labels[proposal.record_id] = proposal.title
    for alternative in proposal.alternatives.all():
        labels[alternative.record_id] = alternative.title
    for stance in ("consent", "consent_with_concern", "stand_aside", "object", "block"):
        labels[stance] = stance.replace("_", " ").capitalize()
    return labels


def vote_options(proposal: Proposal) -> list[str]:
    if proposal.rule and "options" in proposal.rule:
        return list(proposal.rule["options"])
    if proposal.method == "budget" and proposal.rule:
        return list(proposal.rule["projects"])
    return actions._options_for_vote(proposal, [])


def disclosure(proposal: Proposal) -> dict[str, Any] | None:
    """The result as it may be shown: everything, or only the outcome below the floor (§3.16).

    The floor applies to secret ballots: with fewer ballots than
    ``secrecy.small_n_disclosure_floor`` the tallies could reveal how each member voted, so
    only the outcome and the winners are shown. The record still holds the exact count.
    """
    if not proposal.result:
        return None
    result = canonical.loads(proposal.result)
    floor = actions.policy_value(proposal, "secrecy.small_n_disclosure_floor")
    counted = proposal.ballots_counted or 0
    # Ballots recorded with weight 0 (members whose weight goes up through another base).
    weightless = (
        (SecretBallot if proposal.secret else Ballot)
        .objects.filter(proposal=proposal, weight="0")
        .count()
    )
    if proposal.secret and counted < floor:
        return {
            "disclosed": False,
            "outcome": result["outcome"],
            "winners": result["winners"],
            "tied": result["tied"],
            "summary": (
                f"Outcome: {result['outcome']}. Fewer than {floor} ballots were cast in this "
                "secret vote, so only the outcome is shown."
            ),
            "rounds": [],
            "ballots": counted,
            "weightless": weightless,
            "floor": floor,
        }
    return {
        "disclosed": True,
        "outcome": result["outcome"],
        "winners": result["winners"],
        "tied": result["tied"],
        "summary": result["summary"],
        "rounds": result["rounds"],
        "details": result["details"],
        "ballots": counted,
        "weightless": weightless,
        "floor": floor,
    }


@dataclass
class CommentNode:
    comment: Comment
    replies: list[CommentNode] = field(default_factory=list)


def comment_tree(proposal: Proposal) -> list[CommentNode]:
    nodes = {
        c.pk: CommentNode(c)
        for c in Comment.objects.filter(proposal=proposal).select_related("author")
    }
    children: dict[int | None, list[CommentNode]] = defaultdict(list)
    for node in nodes.values():
        children[node.comment.parent_id].append(node)
    for node in nodes.values():
        node.replies = children.get(node.comment.pk, [])
    return children.get(None, [])


def my_ballot(user: Any, proposal: Proposal) -> dict[str, Any]:
    """What the member may know of their own vote: its content if open, else that they voted,
    and their weight in the census (0: their weight goes up through another base, §3.4)."""
    member = permissions.member_for(user, proposal.organisation)
    if member is None or not proposal.method:
        return {"may_vote": False, "voted": False, "ballot": None, "weight": None}
    weight = (
        VoterRoll.objects.filter(proposal=proposal, member=member)
        .values_list("weight", flat=True)
        .first()
    )
    may_vote = weight is not None
    if proposal.secret:
        voted = Participation.objects.filter(proposal=proposal, member=member).exists()
        return {"may_vote": may_vote, "voted": voted, "ballot": None, "weight": weight}
    row = Ballot.objects.filter(proposal=proposal, member=member).first()
    return {
        "may_vote": may_vote,
        "voted": row is not None,
        "ballot": row.content if row else None,
        "weight": weight,
    }


def proposal_out(user: Any, proposal: Proposal) -> dict[str, Any]:
    """The whole item as the API answers it (and the page shows it)."""
    versions = list(proposal.versions.order_by("number"))
    current = versions[-1]
    reports = list(
        MinorityReport.objects.filter(proposal=proposal)
        .select_related("author")
        .prefetch_related("signatures__member")
    )

    def comment_out(node: CommentNode) -> dict[str, Any]:
        c = node.comment
        return {
            "id": c.record_id,
            "author": c.author.name,
            "author_id": c.author.record_id,
            "text": c.text,
            "created_at": c.created_at,
            "hidden": c.hidden_at is not None,
            "hidden_reason": c.hidden_reason or None,
            "hidden_at": c.hidden_at,
            "replies": [comment_out(r) for r in node.replies],
        }

    return {
        "id": proposal.record_id,
        "organisation": proposal.organisation.slug,
        "council": proposal.council.key,
        "title": proposal.title,
        "text": current.text,
        "text_sha256": current.sha256,
        "versions": [
            {"number": v.number, "sha256": v.sha256, "created_at": v.created_at} for v in versions
        ],
        "decision_type": proposal.decision_type,
        "ballot_shape": proposal.ballot_shape,
        "phase": proposal.phase,
        "secret": proposal.secret,
        "author": proposal.author.name,
        "author_id": proposal.author.record_id,
        "options": proposal.options,
        "budget": proposal.budget_total or None,
        "dots": proposal.dots,
        "alternative_to": proposal.alternative_to.record_id if proposal.alternative_to else None,
        "alternatives": [
            {"id": a.record_id, "title": a.title, "phase": a.phase}
            for a in proposal.alternatives.order_by("pk")
        ],
        "supersedes": proposal.supersedes.record_id if proposal.supersedes else None,
        "seconds": proposal.seconds.count(),
        "seconds_needed": actions.seconds_needed(proposal),
        "policy_versions": proposal.policy_versions,
        "created_at": proposal.created_at,
        "discussion_opened_at": proposal.discussion_opened_at,
        "voting_from": actions.voting_opens_from(proposal),
        "voting_opened_at": proposal.voting_opened_at,
        "closes_at": proposal.closes_at,
        "extended": proposal.extended,
        "closed_at": proposal.closed_at,
        "method": proposal.method or None,
        "vote_options": vote_options(proposal) if proposal.method else [],
        "labels": option_labels(proposal),
        "census": proposal.census,
        "you": my_ballot(user, proposal),
        "result": disclosure(proposal),
        "comments": [comment_out(n) for n in comment_tree(proposal)],
        "minority_reports": [
            {
                "id": r.record_id,
                "author": r.author.name,
                "text": r.text,
                "sha256": r.sha256,
                "created_at": r.created_at,
                "signatures": [s.member.name for s in r.signatures.all()],
            }
            for r in reports
        ],
    }


def is_past_deadline(proposal: Proposal) -> bool:
    return bool(proposal.closes_at and timezone.now() >= proposal.closes_at)
