"""Read the federation's state for pages and the API: mandates, votes, member-level support
and the minority reports each delegation carries (report-back)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from konsilo import governance as gov
from konsilo.web.councils import selectors as council_selectors
from konsilo.web.councils.models import Member
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions.models import MinorityReport, Proposal
from konsilo.web.federation.actions import _base_vote, _plain
from konsilo.web.federation.models import Breach, DelegationVote, Instruction, Sending

log = logging.getLogger(__name__)


@dataclass
class CarriedReport:
    """A minority report filed at a base, travelling up with its delegation's mandate."""

    record_id: str
    council: str
    item: str
    text: str
    sha256: str
    signatories: list[str]


@dataclass
class DelegationRow:
    """One delegation on a sent item: its instruction vote, mandate, votes and reports."""

    key: str
    lower: str
    lower_name: str
    weight: str
    instruction: Proposal
    mandate: dict[str, Any] | None
    votes: list[DelegationVote]
    breaches: list[Breach]
    reports: list[CarriedReport] = field(default_factory=list)


@dataclass
class FederatedItem:
    """What a sent item's page and API show beside the item's own result."""

    sending: Sending
    delegations: list[DelegationRow]
    members: gov.MemberSupport | None
    # Member-level support below every council above the bases (the top's is ``members``).
    councils: dict[str, gov.MemberSupport] = field(default_factory=dict)


def _carried(instructions: list[Instruction], top: str) -> dict[str, list[CarriedReport]]:
    """The reports each delegation carries up (``carry_reports``), with their texts."""
    rows = {
        r.record_id: r
        for r in MinorityReport.objects.filter(
            proposal__instruction__in=instructions
        ).select_related("proposal__council", "author")
    }
    if not rows:
        return {}
    pure = []
    travels: dict[str, bool] = {}
    for row in rows.values():
        names = [row.author.record_id, *(s.member.record_id for s in row.signatures.all())]
        pure.append(
            gov.MinorityReport(
                row.record_id,
                row.proposal.record_id,
                row.proposal.council.key,
                row.sha256,
                tuple(names),
            )
        )
        travels[row.proposal.council.key] = bool(
            decisions.policy_value(row.proposal, "minority.minority_report_travels_up")
        )
    parent_of = {
        i.base_proposal.council.key: (i.higher or i.sending.proposal).council.key
        for i in instructions
    }
    travelling = [r for r in pure if travels.get(r.council, True)]
    carried = gov.carry_reports(travelling, parent_of=parent_of, top=top)
    return {
        key: [
            CarriedReport(
                r.decision,
                r.council,
                r.item,
                rows[r.decision].text,
                r.text_hash,
                list(r.signatories),
            )
            for r in reports
        ]
        for key, reports in carried.items()
    }


def _member_support(
    sending: Sending, instructions: list[Instruction]
) -> dict[str, gov.MemberSupport] | None:
    """Member-level support below every council above the bases, through
    ``federation.compose`` (§3.5: every result above the first level shows it).

    Computed once every base's instruction vote has closed (or could not be held): the
    members' own ballots are the bases' instruction ballots, whatever the composition.
    """
    higher = sending.proposal
    graph = council_selectors.load_graph(higher.organisation)
    top = higher.council.key
    bases = [i for i in instructions if graph.is_base(i.base_proposal.council.key)]
    if any(
        i.base_proposal.phase not in (Proposal.Phase.CLOSED, Proposal.Phase.WITHDRAWN)
        for i in bases
    ):
        return None
    try:
        votes = {
            i.base_proposal.council.key: _base_vote(i)
            for i in bases
            if i.base_proposal.phase == Proposal.Phase.CLOSED
        }
        represented = {
            i.base_proposal.council.key: int((i.base_proposal.census or {}).get("total_weight", 0))
            for i in bases
        }
        result = gov.compose(
            graph,
            top=top,
            item=higher.record_id,
            content_hash=higher.versions.order_by("-number")[0].sha256,
            votes=votes,
            weights={i.key: Fraction(i.weight) for i in instructions},
            represented={k: int(v) for k, v in represented.items()},
            policies={i.key: gov.MandatePolicy.from_canonical(i.policy) for i in instructions},
            composition=sending.composition,
            method=str(higher.method),
            options=list((higher.rule or {}).get("options", [])),
        )
    except (gov.GovernanceError, ValueError):
        log.exception("member-level support of %s could not be composed", higher.record_id)
        return None
    return {key: tally.members for key, tally in result.councils.items()}


def federated_item(proposal: Proposal) -> FederatedItem | None:
    """The federation state of an item sent to the bases, or None if it was not sent."""
    sending = Sending.objects.filter(proposal=proposal).first()
    if sending is None:
        return None
    instructions = list(
        sending.instructions.filter(round=sending.round)
        .select_related(
            "delegation__from_council",
            "delegation__to_council",
            "base_proposal__council",
            "higher__council",
            "sending__proposal__council",
        )
        .order_by("key")
    )
    # Every level of the cascade: the delegations vote in the sent item or in the
    # instruction votes of the councils in between.
    items = {proposal.pk, *(i.higher_id for i in instructions if i.higher_id is not None)}
    votes: dict[str, list[DelegationVote]] = {}
    for vote in DelegationVote.objects.filter(proposal_id__in=items).order_by("pk"):
        votes.setdefault(vote.key, []).append(vote)
    breaches: dict[str, list[Breach]] = {}
    by_delegation = {(i.delegation_id, i.higher_id or proposal.pk): i.key for i in instructions}
    for breach in Breach.objects.filter(proposal_id__in=items).select_related("delegate"):
        key = by_delegation.get((breach.delegation_id, breach.proposal_id))
        if key is not None:
            breaches.setdefault(key, []).append(breach)
    carried = _carried(instructions, proposal.council.key)
    rows = [
        DelegationRow(
            key=i.key,
            lower=i.base_proposal.council.key,
            lower_name=i.base_proposal.council.name,
            weight=i.weight,
            instruction=i.base_proposal,
            mandate=i.mandate,
            votes=votes.get(i.key, []),
            breaches=breaches.get(i.key, []),
            reports=carried.get(i.key, []),
        )
        for i in instructions
    ]
    support = _member_support(sending, instructions)
    top = proposal.council.key
    return FederatedItem(sending, rows, support.get(top) if support else None, dict(support or {}))


@dataclass
class ReportBack:
    """One item on a delegate's report-back page."""

    item: Proposal
    row: DelegationRow


def report_back(member: Member) -> list[ReportBack]:
    """For every sent item of the delegations ``member`` sits in: the mandate, how the
    delegation voted and the minority reports it carries."""
    from konsilo.web.councils.models import Office  # noqa: PLC0415

    delegations = Office.objects.filter(
        member=member, kind=Office.Kind.DELEGATE, delegation__isnull=False
    ).values_list("delegation_id", flat=True)
    out: list[ReportBack] = []
    sendings = (
        Sending.objects.filter(instructions__delegation_id__in=list(delegations))
        .select_related("proposal__council")
        .distinct()
        .order_by("-sent_at")
    )
    for sending in sendings:
        state = federated_item(sending.proposal)
        assert state is not None
        for row in state.delegations:
            instruction = row.instruction.instruction
            if instruction.delegation_id in set(delegations):
                out.append(ReportBack(sending.proposal, row))
    return out


def as_json(state: FederatedItem) -> dict[str, Any]:
    """The API's view of a sent item (canonical JSON values)."""
    members = state.members
    return {
        "composition": state.sending.composition,
        "sent_at": state.sending.sent_at.isoformat(),
        "schedule": state.sending.schedule,
        "member_support": _plain(members) if members is not None else None,
        "member_support_by_council": {k: _plain(v) for k, v in sorted(state.councils.items())},
        "delegations": [
            {
                "delegation": row.key,
                "council": row.lower,
                "weight": row.weight,
                "instruction_item": str(row.instruction.public_id),
                "instruction_phase": row.instruction.phase,
                "instruction_outcome": row.instruction.outcome or None,
                "closes_at": row.instruction.closes_at.isoformat()
                if row.instruction.closes_at
                else None,
                "mandate": row.mandate,
                "votes": [
                    {"ballot": v.ballot, "weight": v.weight, "cast_by": v.cast_by}
                    for v in row.votes
                ],
                "breaches": [b.event for b in row.breaches],
                "minority_reports": [
                    {
                        "report": r.record_id,
                        "council": r.council,
                        "text": r.text,
                        "sha256": r.sha256,
                        "signatories": r.signatories,
                    }
                    for r in row.reports
                ],
            }
            for row in state.delegations
        ],
    }


def delegations_of(member: Member | None, proposal: Proposal) -> list[str]:
    """The lower councils whose delegation on this sent item ``member`` may cast for
    (``delegate_casts_checked`` and no vote yet)."""
    if member is None:
        return []
    from konsilo.web.councils.models import Office  # noqa: PLC0415

    seats = set(
        Office.objects.filter(
            member=member, kind=Office.Kind.DELEGATE, end__isnull=True, council=proposal.council
        ).values_list("delegation_id", flat=True)
    )
    out = []
    for instruction in Instruction.objects.filter(
        higher=proposal, delegation_id__in=seats
    ).select_related("delegation__from_council"):
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        voted = (
            DelegationVote.objects.filter(
                proposal=proposal, delegation_id=instruction.delegation_id
            ).exists()
            or Breach.objects.filter(
                proposal=proposal, delegation_id=instruction.delegation_id
            ).exists()
        )
        if policy.enforcement != "system_casts" and instruction.mandate and not voted:
            out.append(instruction.delegation.from_council.key)
    return out
