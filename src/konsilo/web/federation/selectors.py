"""Read the federation's state for pages and the API: mandates, votes, member-level support,
the minority reports each delegation carries (report-back), the amendments listed in advance
with each delegation's mandate on each, and an amended text's standing outside the mandates
(who asked to postpone, how the vote was settled, §3.10)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from django.db.models.fields.json import KeyTextTransform

from konsilo import governance as gov
from konsilo.web.bulk import gc_paused
from konsilo.web.councils import selectors as council_selectors
from konsilo.web.councils.models import Member
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions.models import MinorityReport, Proposal
from konsilo.web.federation import actions
from konsilo.web.federation.actions import _base_vote, _Loaded, _plain
from konsilo.web.federation.models import (
    Breach,
    DelegationVote,
    Instruction,
    ListedAmendment,
    PostponementRequest,
    Sending,
)

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
class ListedMandate:
    """A delegation's instruction vote and mandate on one amendment listed in advance."""

    label: str
    sha256: str
    instruction: Proposal
    mandate: dict[str, Any] | None
    governs: bool  # the item now votes on this amendment's text


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
    # On a text outside its mandate: what it does (OutOfMandate.to_canonical(), from the
    # settlement once the vote went ahead) and its request to postpone, if it made one.
    out_of_mandate: dict[str, Any] | None = None
    request: PostponementRequest | None = None
    at_top: bool = False  # the delegation votes in the item sent itself
    # Its instruction votes and mandates on the amendments listed, in the order listed.
    listed: list[ListedMandate] = field(default_factory=list)


@dataclass
class FederatedItem:
    """What a sent item's page and API show beside the item's own result."""

    sending: Sending
    delegations: list[DelegationRow]
    members: gov.MemberSupport | None
    # Member-level support below every council above the bases (the top's is ``members``).
    councils: dict[str, gov.MemberSupport] = field(default_factory=dict)
    # The text the item votes on, and, when an amendment put it outside some mandates, the
    # vote on it settled for every delegation: as recorded once it went ahead, else as it
    # stands with the requests made so far (OutOfMandateVote.to_canonical()).
    voted_sha256: str = ""
    amended: OutOfMandateState | None = None
    # The amendments listed in advance in the current round (§3.10).
    listed: list[ListedAmendment] = field(default_factory=list)


@dataclass
class OutOfMandateState:
    """A sent item's text outside some delegations' mandates (§3.10)."""

    voted_sha256: str
    settled: bool
    settlement: dict[str, Any]

    @property
    def explanation(self) -> str:
        return str(self.settlement["explanation"])


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
        closed = [i for i in bases if i.base_proposal.phase == Proposal.Phase.CLOSED]
        # Once every base's mandate is derived, whether each was instructed is stored, and
        # the vote it was derived from: the members' ballots are all the support takes, not
        # read, counted nor derived again.
        derived = all(i.mandate is not None for i in bases)
        if derived and all(i.base_vote is not None for i in closed):
            votes = {
                i.base_proposal.council.key: gov.BaseVote.from_canonical(i.base_vote)
                for i in closed
            }
        else:
            # The votes as their count takes them: policy and rule, deferred by the page.
            full = Proposal.objects.select_related("council").in_bulk(
                [i.base_proposal_id for i in closed]
            )
            for i in closed:
                i.base_proposal = full[i.base_proposal_id]
            loaded = _Loaded.of(closed)
            votes = {
                i.base_proposal.council.key: _base_vote(i, loaded, with_result=not derived)
                for i in closed
            }
        represented = {
            i.base_proposal.council.key: int(i.represented or 0)  # federated_item annotates it
            for i in bases
        }
        # The text the members voted on: the one sent to them, or the listed amendment
        # (the item's own text may have been amended since, outside the mandates).
        content_hash = (
            bases[0].base_proposal.versions.order_by("-number")[0].sha256
            if bases
            else higher.versions.order_by("-number")[0].sha256
        )
        if derived:
            return gov.member_support(
                graph,
                top=top,
                content_hash=content_hash,
                votes=votes,
                represented=represented,
                instructed={
                    i.base_proposal.council.key: (i.mandate or {}).get("status") == "instructed"
                    for i in bases
                },
                composition=sending.composition,
                method=str(higher.method),
            )
        result = gov.compose(
            graph,
            top=top,
            item=higher.record_id,
            content_hash=content_hash,
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


@gc_paused()
def federated_item(proposal: Proposal) -> FederatedItem | None:
    """The federation state of an item sent to the bases, or None if it was not sent."""
    sending = Sending.objects.select_related("proposal__council").filter(proposal=proposal).first()
    if sending is None:
        return None
    # The sending and the councils' votes above the bases are read once each, not once per
    # instruction row (the sending's schedule covers the whole federation).
    # The councils' votes without what only counting them reads (their policy and rule,
    # their result, read again where support has to count them): a federation's thousands.
    every = list(
        sending.instructions.filter(round=sending.round)
        .select_related(
            "delegation__from_council", "delegation__to_council", "base_proposal__council"
        )
        .defer(
            "window",
            "derived_at",
            "delegation__created_at",
            "delegation__from_council__created_at",
            "delegation__to_council__created_at",
            "base_proposal__policy",
            "base_proposal__policy_versions",
            "base_proposal__rule",
            "base_proposal__result",
            "base_proposal__census",
            "base_proposal__created_at",
            "base_proposal__discussion_opened_at",
            "base_proposal__voting_opened_at",
            "base_proposal__closed_at",
            "base_proposal__council__created_at",
        )
        .annotate(represented=KeyTextTransform("total_weight", "base_proposal__census"))
        .order_by("key")
    )
    instructions = [i for i in every if i.listed_id is None]
    on_listed = [i for i in every if i.listed_id is not None]
    highers = {
        p.pk: p
        for p in Proposal.objects.select_related("council").filter(
            pk__in={i.higher_id for i in every if i.higher_id is not None}
        )
    }
    for i in every:
        i.sending = sending
        if i.higher_id is not None:
            i.higher = highers[i.higher_id]
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
            at_top=i.higher_id in (None, proposal.pk),
        )
        for i in instructions
    ]
    top = proposal.council.key
    voted = proposal.versions.order_by("-number")[0].sha256
    listed = list(ListedAmendment.objects.filter(sending=sending, round=sending.round))
    # The members' support for the text voted on: the text sent, or the listed amendment
    # the item was amended to, on which every base instructed in a vote of its own.
    on_voted = next((a for a in listed if a.sha256 == voted), None)
    support = _member_support(
        sending,
        instructions if on_voted is None else [i for i in on_listed if i.listed_id == on_voted.pk],
    )
    amendment = {a.pk: a for a in listed}
    by_row = {(r.key, r.instruction.council_id): r for r in rows}
    for i in sorted(on_listed, key=lambda i: (amendment[i.listed_id].number, i.key)):
        row = by_row.get((i.key, i.base_proposal.council_id))
        if row is not None:
            a = amendment[i.listed_id]
            row.listed.append(
                ListedMandate(a.label, a.sha256, i.base_proposal, i.mandate, a.sha256 == voted)
            )
    amended = _out_of_mandate(sending, proposal, voted, rows, instructions)
    return FederatedItem(
        sending,
        rows,
        support.get(top) if support else None,
        dict(support or {}),
        voted_sha256=voted,
        amended=amended,
        listed=listed,
    )


def _out_of_mandate(
    sending: Sending,
    proposal: Proposal,
    voted: str,
    rows: list[DelegationRow],
    instructions: list[Instruction],
) -> OutOfMandateState | None:
    """The standing of an amended text outside the mandates; fills in the rows' steps."""
    settled = sending.settlement
    if settled is None and sending.out_of_mandate_since is None:
        return None
    top = [i for i in instructions if i.higher_id == proposal.pk]
    if settled is None:
        settled = _plain(actions._settle(sending, proposal, top, voted))
    asked = actions._requests(sending, settled["voted_hash"])
    steps = {a["delegation"]: a for a in settled["actions"]}
    by_key = {i.key: i for i in top}
    for row in rows:
        if row.key in by_key:
            row.out_of_mandate = steps.get(row.key)
            row.request = asked.get(by_key[row.key].pk)
    return OutOfMandateState(settled["voted_hash"], sending.settlement is not None, settled)


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
        "round": state.sending.round,
        "voted_sha256": state.voted_sha256,
        "listed_amendments": [
            {
                "label": a.label,
                "number": a.number,
                "text": a.text,
                "text_sha256": a.sha256,
                "voted": a.sha256 == state.voted_sha256,
            }
            for a in state.listed
        ],
        "out_of_mandate": (
            {
                "voted_sha256": state.amended.voted_sha256,
                "settled": state.amended.settled,
                "settlement": state.amended.settlement,
            }
            if state.amended is not None
            else None
        ),
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
                "listed_mandates": listed_json(row),
                "out_of_mandate": row.out_of_mandate,
                "postponement_requested": (
                    {
                        "by": row.request.requested_by,
                        "at": row.request.requested_at.isoformat(),
                        "voted_sha256": row.request.voted_sha256,
                    }
                    if row.request is not None
                    else None
                ),
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


def listed_json(row: DelegationRow) -> list[dict[str, Any]]:
    """A delegation's instruction votes and mandates on the listed amendments, for the API."""
    return [
        {
            "label": m.label,
            "text_sha256": m.sha256,
            "instruction_item": str(m.instruction.public_id),
            "instruction_phase": m.instruction.phase,
            "instruction_outcome": m.instruction.outcome or None,
            "mandate": m.mandate,
            "governs": m.governs,
        }
        for m in row.listed
    ]


def may_list(user: Any, member: Member | None, proposal: Proposal, state: FederatedItem) -> bool:
    """Whether the page offers ``user`` to list an amendment on the sent item now: its
    author or a steward, before the first vote of the councils below opens."""
    from django.utils import timezone  # noqa: PLC0415

    from konsilo.web.councils import permissions  # noqa: PLC0415

    author = member is not None and member.pk == proposal.author_id
    if not author and not permissions.is_steward(user, proposal.organisation):
        return False
    openings = Instruction.objects.filter(
        sending=state.sending, round=state.sending.round, listed__isnull=True
    ).values_list("opens_at", flat=True)
    first = min((o for o in openings if o is not None), default=None)
    return proposal.phase == Proposal.Phase.VOTING and first is not None and timezone.now() < first


def _seats(member: Member, proposal: Proposal) -> list[Instruction]:
    """The instructions (current round) of the delegations ``member`` holds a seat of in
    ``proposal``'s council, voting in ``proposal``."""
    from konsilo.web.councils.models import Office  # noqa: PLC0415

    seats = set(
        Office.objects.filter(
            member=member, kind=Office.Kind.DELEGATE, end__isnull=True, council=proposal.council
        ).values_list("delegation_id", flat=True)
    )
    rows = (
        Instruction.objects.filter(higher=proposal, delegation_id__in=seats, listed__isnull=True)
        .select_related("delegation__from_council", "sending")
        .order_by("delegation_id", "-round")
    )
    latest: dict[int, Instruction] = {}
    for row in rows:
        latest.setdefault(row.delegation_id, row)
    return list(latest.values())


def delegations_of(
    member: Member | None, proposal: Proposal, state: FederatedItem | None = None
) -> list[str]:
    """The lower councils whose delegation on this sent item ``member`` may cast for
    (``delegate_casts_checked``, or discretion on a text outside the mandate, and no vote
    yet)."""
    if member is None:
        return []
    discretion = set()
    if state is not None and state.amended is not None and state.amended.settled:
        discretion = {
            a["delegation"] for a in state.amended.settlement["actions"] if a["discretion"]
        }
    out = []
    for instruction in _seats(member, proposal):
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        voted = (
            DelegationVote.objects.filter(
                proposal=proposal, delegation_id=instruction.delegation_id
            ).exists()
            or Breach.objects.filter(
                proposal=proposal, delegation_id=instruction.delegation_id
            ).exists()
        )
        casts = policy.enforcement != "system_casts" or instruction.key in discretion
        if casts and instruction.mandate and not voted:
            out.append(instruction.delegation.from_council.key)
    return out


def postponable_by(member: Member | None, proposal: Proposal, state: FederatedItem) -> list[str]:
    """The lower councils whose delegation ``member`` may ask to postpone the vote for: a
    delegate who casts its votes, on a text outside its mandate whose steps ask for time,
    before the vote opens, once per text."""
    from django.utils import timezone  # noqa: PLC0415

    amended = state.amended
    opens = proposal.voting_opened_at
    if member is None or amended is None or amended.settled or opens is None:
        return []
    if timezone.now() >= opens:
        return []
    rows = {r.key: r for r in state.delegations}
    out = []
    for instruction in _seats(member, proposal):
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        row = rows.get(instruction.key)
        asks = any(
            s in ("request_postponement", "refer_back") for s in policy.out_of_mandate_amendment
        )
        if (
            policy.enforcement != "system_casts"
            and asks
            and row is not None
            and row.out_of_mandate is not None
            and row.request is None
        ):
            out.append(instruction.delegation.from_council.key)
    return out


def may_amend(user: Any, member: Member | None, proposal: Proposal, state: FederatedItem) -> bool:
    """Whether the page offers ``user`` to amend the sent item's text now: its author or a
    steward, every delegation voting in it instructed (on the text and on each listed
    amendment), its vote not yet open."""
    from django.utils import timezone  # noqa: PLC0415

    from konsilo.web.councils import permissions  # noqa: PLC0415

    author = (
        member is not None
        and member.pk == proposal.author_id
        and permissions.is_council_member(user, proposal.council)
    )
    if not author and not permissions.is_steward(user, proposal.organisation):
        return False
    opens = proposal.voting_opened_at
    top = [r for r in state.delegations if r.at_top]
    return (
        proposal.phase == Proposal.Phase.VOTING
        and opens is not None
        and timezone.now() < opens
        and bool(top)
        and all(r.mandate is not None for r in top)
        and all(m.mandate is not None for r in top for m in r.listed)
    )
