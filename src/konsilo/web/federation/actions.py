"""Actions of the federation: send an item to the bases, derive mandates, cast delegations' votes.

A thin layer over the pure rules of konsilo.governance (domain-rules §3.1–3.6):

- ``send_to_bases``: a higher council's item (in discussion) is sent to the councils whose
  delegations sit in it. The schedule comes from ``schedule.cascade_deadlines`` backwards from
  the higher vote; a council that would get less than its deliberation window makes the
  whole sending refused (HTTP 400, the message names the council, its level and the
  shortfall). Each lower council gets an instruction vote on the same text (the same
  SHA-256), open from the sending until its instruction deadline; the higher vote is opened
  with a census of delegations, their weights frozen now (``delegation_weights``).
- ``derive_mandate_for``: when an instruction vote has closed (the closing task calls it), the
  base's result becomes its delegation's mandate (``derive_mandate`` per the delegation's
  policy), written as ``mandate.derived`` with the base vote it was derived from, so that
  ``konsilo verify`` re-derives it; under ``system_casts`` the platform casts the bound vote
  at once (``delegation.voted``).
- ``delegate_cast``: under ``delegate_casts_checked`` the delegate votes; a vote against a
  binding mandate is recorded as ``mandate.breached`` (the recall rules act on it) and, the
  mandate being binding, it does not enter the higher count.

Each action is one durable transaction, and every record entry is appended in it. Entries
that must come after others (the tally before the mandate, the mandate and the opening of
the higher vote before a delegation's vote) are sequenced in between, since the sequencer
shuffles each batch.
"""

from __future__ import annotations

import logging
from datetime import datetime
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.utils import timezone

from konsilo import canonical
from konsilo import governance as gov
from konsilo.counting import tally
from konsilo.web.councils import permissions
from konsilo.web.councils import selectors as council_selectors
from konsilo.web.councils.actions import Actor
from konsilo.web.councils.models import Council, Delegation, Office
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions.models import Proposal, TextVersion, VoterRoll
from konsilo.web.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from konsilo.web.federation.models import Breach, DelegationVote, Instruction, Sending
from konsilo.web.ledger import actions as ledger
from konsilo.web.ledger.models import Entry

Phase = Proposal.Phase
log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """A value as canonical JSON data (what a JSONField stores and the record holds)."""
    return canonical.loads(canonical.dumps(value))


def delegation_key(delegation: Delegation) -> str:
    return gov.delegation_key(delegation.from_council.key, delegation.to_council.key)


def _resolved(council: Council, decision_type: str) -> gov.ResolvedPolicy:
    return council_selectors.resolve_policy(
        council.organisation, council=council, decision_type=decision_type
    )


def _latest_text(proposal: Proposal) -> TextVersion:
    version = proposal.versions.order_by("-number").first()
    assert version is not None
    return version


def _opened_data(
    proposal: Proposal, *, method: str, rule: Any, options: Any, census: Any, digest: str
) -> dict[str, Any]:
    return {
        "council": proposal.council.key,
        "method": method,
        "rule": rule,
        "options": options,
        "secret": proposal.secret,
        "policy_version": proposal.policy_versions.get("organisation"),
        "policy_versions": proposal.policy_versions,
        "census": census,
        "closes_at": proposal.closes_at,
        "texts": {proposal.record_id: digest},
    }


def _open_instruction_vote(
    higher: Proposal, lower: Council, *, text: TextVersion, now: datetime, closes_at: datetime
) -> Proposal:
    """Create the lower council's instruction item on the same text and open its vote now."""
    policy, versions = decisions._resolved_policy(lower, "instruction")
    decisions._check_rule_fits(higher.ballot_shape, policy, "instruction")
    base = Proposal.objects.create(
        organisation=higher.organisation,
        council=lower,
        title=higher.title,
        decision_type="instruction",
        ballot_shape=higher.ballot_shape,
        options=higher.options,
        budget_total=higher.budget_total,
        dots=higher.dots,
        author=higher.author,
        policy=policy,
        policy_versions=versions,
        secret=policy["secrecy.ballot"] == "secret",
        created_at=now,
        phase=Phase.VOTING,
        discussion_opened_at=now,
        voting_opened_at=now,
        closes_at=closes_at,
    )
    TextVersion.objects.create(
        proposal=base,
        number=1,
        text=text.text,
        sha256=text.sha256,
        author=higher.author,
        created_at=now,
    )
    decisions._append(
        base,
        "proposal.created",
        {
            "council": lower.key,
            "title": base.title,
            "decision_type": "instruction",
            "ballot_shape": base.ballot_shape,
            "options": base.options,
            "budget": base.budget_total or None,
            "dots": base.dots,
            "text_sha256": text.sha256,
            "version": 1,
            "author": higher.author.record_id,
            "alternative_to": None,
            "supersedes": None,
            "secret": base.secret,
            "policy_versions": versions,
            "policy": policy,
            "instruction_of": higher.record_id,
        },
        "",
    )
    basis, voters = decisions._census(base)
    if not voters:
        raise ConflictError(
            f"{lower.name} ({lower.key}) has nobody who may vote, so it cannot instruct its "
            "delegation",
            field="census",
        )
    weights = {m.record_id: w for m, w in voters}
    if base.secret and len(set(weights.values())) > 1:
        raise ConflictError(
            f"a secret ballot in {lower.key} needs equal weights, but the census has several",
            field="census",
        )
    method, options, rule, census = decisions.vote_terms(base, weights, basis=basis)
    base.method, base.rule, base.census = method, rule, census
    base.save(update_fields=["method", "rule", "census"])
    VoterRoll.objects.bulk_create(
        [VoterRoll(proposal=base, member=m, weight=canonical.fraction(w)) for m, w in voters],
        batch_size=2000,
    )
    decisions._append(
        base,
        "vote.opened",
        {
            **_opened_data(
                base, method=method, rule=rule, options=options, census=census, digest=text.sha256
            ),
            "instruction_of": higher.record_id,
        },
        "",
    )
    return base


@transaction.atomic(durable=True)
def send_to_bases(
    *, actor: Actor, proposal: Proposal, opens_at: datetime, composition: str | None = None
) -> Sending:
    """Send a higher council's item to the councils below it (domain-rules §3.5).

    The item must be in discussion. Its vote opens at ``opens_at`` and lasts the council's
    vote window; every council below gets its instruction deadline from
    ``schedule.cascade_deadlines``; ``composition`` overrides the federation's
    ``structure.composition`` for this item. Refused (400, ``too_little_time``) when any of
    them would deliberate less than its window.
    """
    proposal = decisions._locked(proposal)
    member = decisions._actor_may_steer(actor, proposal)
    if proposal.alternative_to_id is not None:
        raise ConflictError("send the main item, not one of its alternatives", field="proposal")
    decisions._require_phase(proposal, Phase.DISCUSSION, doing="send an item to the bases")
    if Sending.objects.filter(proposal=proposal).exists():
        raise ConflictError("this item was sent to the bases already", field="proposal")
    if opens_at.tzinfo is None:
        raise InvalidInputError("opens_at: expected an instant with a time zone", field="opens_at")
    council = proposal.council
    organisation = proposal.organisation
    graph = council_selectors.load_graph(organisation)
    delegations = list(
        Delegation.objects.filter(to_council=council)
        .select_related("from_council", "to_council")
        .order_by("from_council__key")
    )
    if graph.is_base(council.key) or not delegations:
        raise ConflictError(
            f"{council.name} has no councils below it to send the item to", field="proposal"
        )
    now = timezone.now()
    below = set(graph.descendants(council.key)) | {council.key}
    councils = {c.key: c for c in Council.objects.filter(organisation=organisation, key__in=below)}
    top_policy = _resolved(council, proposal.decision_type)
    timing = {
        key: gov.TimingPolicy.from_policy(
            top_policy if key == council.key else _resolved(c, "instruction")
        )
        for key, c in councils.items()
    }
    if composition is None:
        composition = gov.composition_of(top_policy)
    elif composition not in gov.COMPOSITIONS:
        raise InvalidInputError(
            f"composition: expected one of {', '.join(gov.COMPOSITIONS)}, got {composition!r}",
            field="composition",
        )
    try:
        schedule = gov.cascade_deadlines(
            graph, top=council.key, published_at=now, opens_at=opens_at, timing=timing
        )
    except gov.ScheduleError as exc:
        raise InvalidInputError(str(exc), field="opens_at", code="too_little_time") from None
    census = council_selectors.take_census(organisation)
    all_weights = gov.delegation_weights(
        graph,
        top=council.key,
        represented=census.represented_by_council(),
        vote_weight=top_policy.value("structure.vote_weight"),
    )
    keys = [delegation_key(d) for d in delegations]
    weights = {k: all_weights[k] for k in keys}
    text = _latest_text(proposal)
    top_window = schedule.councils[council.key]
    sending = Sending.objects.create(
        proposal=proposal,
        schedule=_plain(schedule.to_canonical()),
        composition=composition,
        sent_at=now,
    )
    for delegation, key in zip(delegations, keys, strict=True):
        lower = delegation.from_council
        deadline = schedule.councils[lower.key].instruction_deadline
        assert deadline is not None
        base = _open_instruction_vote(proposal, lower, text=text, now=now, closes_at=deadline)
        policy = gov.MandatePolicy.from_policy(_resolved(lower, "instruction"), higher=top_policy)
        window = gov.VoteWindow(deadline, top_window.opens_at, top_window.closes_at)
        Instruction.objects.create(
            sending=sending,
            delegation=delegation,
            base_proposal=base,
            key=key,
            weight=canonical.fraction(weights[key]),
            policy=_plain(policy.to_canonical()),
            window=_plain(window.to_canonical()),
        )
    # Delegations' votes at higher councils are always open (DESIGN, "Ballots and secrecy").
    proposal.secret = False
    method, options, rule, frozen = decisions.vote_terms(proposal, weights, basis="delegations")
    decisions._move(proposal, Phase.VOTING)
    proposal.method, proposal.rule, proposal.census = method, rule, frozen
    proposal.voting_opened_at = top_window.opens_at
    proposal.closes_at = top_window.closes_at
    proposal.save(
        update_fields=[
            "phase",
            "secret",
            "method",
            "rule",
            "census",
            "voting_opened_at",
            "closes_at",
        ]
    )
    decisions._append(
        proposal,
        "vote.opened",
        {
            **_opened_data(
                proposal,
                method=method,
                rule=rule,
                options=options,
                census=frozen,
                digest=text.sha256,
            ),
            "opens_at": top_window.opens_at,
            "schedule": schedule.to_canonical(),
            "composition": composition,
            "sent_to": {
                k: Instruction.objects.get(sending=sending, key=k).base_proposal.record_id
                for k in keys
            },
        },
        decisions._record_id(actor, member),
    )
    decisions._sequence(proposal)
    return sending


# -- mandates ---------------------------------------------------------------------------------


def _motion_rule(proposal: Proposal) -> Any:
    choice = decisions.policy_value(proposal, "decision_rule.rule")
    if not choice.args:
        return str(choice.name)
    from konsilo.counting.motion import MotionRule  # noqa: PLC0415

    return MotionRule(str(choice.name), Fraction(choice.args[0]))


def _base_vote(instruction: Instruction) -> gov.BaseVote:
    """The closed instruction vote as the pure rules take it (and the record carries it)."""
    base = instruction.base_proposal
    assert base.closes_at is not None
    assert base.census is not None
    ballots = decisions._ballots_of(base)
    quorum_policy = {
        n: decisions.policy_value(base, n)
        for n in ("mandate.instruction_quorum", "quorum.fraction")
        if n in base.policy
    }
    method = str(base.method)
    return gov.BaseVote(
        base=instruction.delegation.from_council.key,
        item=base.record_id,
        content_hash=_latest_text(base).sha256,
        method=method,
        ballots=tuple((b, w) for b, w in ballots if w > 0),
        eligible=Fraction(base.census["total_weight"]),
        # The vote closed at its deadline (server time decides, §3.17), whenever the
        # closing task ran after it.
        closed_at=base.closes_at,
        quorum=gov.instruction_quorum(quorum_policy),
        rule=_motion_rule(base) if method == "motion" else "simple_majority",
        result=tally.count_ballots(method, base.rule or {}, ballots),
    )


def _derive(instruction: Instruction) -> tuple[gov.Mandate, gov.BaseVote, gov.MandatePolicy]:
    higher = instruction.sending.proposal
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    window = gov.VoteWindow.from_canonical(instruction.window)
    vote = _base_vote(instruction)
    mandate = gov.derive_mandate(
        vote,
        delegation=instruction.key,
        content_hash=_latest_text(higher).sha256,
        weight=Fraction(instruction.weight),
        policy=policy,
        item=higher.record_id,
        method=str(higher.method),
        window=window,
    )
    return mandate, vote, policy


def _tally_sequenced(proposal: Proposal) -> bool:
    return Entry.objects.filter(
        organisation=proposal.organisation,
        entry_type="tally.recorded",
        index__isnull=False,
        data__contains=f'"item":"{proposal.record_id}"',
    ).exists()


@transaction.atomic(durable=True)
def derive_mandate_for(*, proposal_id: int) -> Instruction | None:
    """Derive the mandate of the delegation whose instruction vote is ``proposal_id``.

    Idempotent: returns None when the proposal is no instruction vote, its vote is not
    closed, its tally has no place in the record yet (a later run derives it) or the mandate
    was derived already. Under ``system_casts`` the bound votes are cast at the higher
    council in the same transaction.
    """
    instruction = (
        Instruction.objects.select_for_update()
        .select_related(
            "base_proposal__council",
            "base_proposal__organisation",
            "sending__proposal__council",
            "sending__proposal__organisation",
            "delegation__from_council",
            "delegation__to_council",
        )
        .filter(base_proposal_id=proposal_id)
        .first()
    )
    if instruction is None or instruction.derived_at is not None:
        return None
    base = instruction.base_proposal
    if base.phase != Phase.CLOSED:
        return None
    decisions._sequence(base)
    if not _tally_sequenced(base):
        return None
    higher = instruction.sending.proposal
    mandate, vote, policy = _derive(instruction)
    data = gov.mandate_derived_data(
        mandate, policy=policy, window=gov.VoteWindow.from_canonical(instruction.window)
    )
    data["base_vote"] = vote.to_canonical()
    ledger.append(
        "mandate.derived", data, organisation=higher.organisation, council=higher.council.key
    )
    instruction.mandate = _plain(mandate.to_canonical())
    instruction.derived_at = timezone.now()
    instruction.save(update_fields=["mandate", "derived_at"])
    cast = gov.cast_votes(mandate, policy=policy)
    if cast and higher.phase == Phase.VOTING:
        # The mandate (and the higher vote's opening) take their place before its votes.
        decisions._sequence(higher)
        for vote_cast in cast:
            _record_delegation_vote(
                higher,
                instruction.delegation,
                instruction.key,
                vote_cast.ballot,
                vote_cast.weight,
                cast_by="system",
            )
    return instruction


def _record_delegation_vote(
    higher: Proposal,
    delegation: Delegation,
    key: str,
    ballot: Any,
    weight: Fraction,
    *,
    cast_by: str,
) -> DelegationVote:
    content = _plain(ballot)
    row = DelegationVote.objects.create(
        proposal=higher,
        delegation=delegation,
        key=key,
        ballot=content,
        ballot_key=canonical.dumps_str(content),
        weight=canonical.fraction(weight),
        cast_by=cast_by,
        cast_at=timezone.now(),
    )
    decisions._append(
        higher,
        "delegation.voted",
        {"delegation": key, "ballot": content, "weight": canonical.fraction(weight)},
        "" if cast_by == "system" else cast_by,
    )
    return row


@transaction.atomic(durable=True)
def delegate_cast(
    *, actor: Actor, proposal: Proposal, delegation_from: str, ballot: Any
) -> Breach | None:
    """A delegate casts their delegation's vote (``delegate_casts_checked``).

    The vote is checked against the mandate (``check_delegate_vote``). A vote that follows
    it, or a free or discretionary one, is counted; a vote against a binding mandate is
    recorded as a breach (returned) and, the mandate binding the delegation's weight, not
    counted.
    """
    higher = decisions._locked(proposal)
    decisions._voting_now(higher)
    member = permissions.member_for(actor, higher.organisation)
    instruction = (
        Instruction.objects.select_related(
            "delegation__from_council", "delegation__to_council", "base_proposal", "sending"
        )
        .filter(sending__proposal=higher, delegation__from_council__key=delegation_from)
        .first()
    )
    if instruction is None:
        raise NotFoundError(
            f"delegation: {delegation_from!r} sends no delegation on this item",
            field="delegation",
        )
    today = timezone.localdate()
    holds = (
        member is not None
        and Office.objects.filter(
            member=member,
            kind=Office.Kind.DELEGATE,
            delegation=instruction.delegation,
            start__lte=today,
            end__isnull=True,
        ).exists()
    )
    if not holds or member is None:
        raise PermissionDeniedError(
            f"only a delegate of {delegation_from} may cast its vote", field="delegation"
        )
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    if policy.enforcement == "system_casts":
        raise ConflictError(
            f"the platform casts {instruction.key}'s vote from its mandate (system_casts)",
            field="delegation",
        )
    if instruction.mandate is None:
        raise ConflictError(
            f"{delegation_from}'s mandate is not derived yet: its instruction vote closes at "
            f"{instruction.base_proposal.closes_at.isoformat()}",
            field="delegation",
        )
    assert higher.voting_opened_at is not None
    if timezone.now() < higher.voting_opened_at:
        raise ConflictError(
            f"the vote opens at {higher.voting_opened_at.isoformat()}", field="ballot"
        )
    if DelegationVote.objects.filter(proposal=higher, delegation=instruction.delegation).exists():
        raise ConflictError(f"{instruction.key} has voted already on this item", field="ballot")
    if Breach.objects.filter(proposal=higher, delegation=instruction.delegation).exists():
        raise ConflictError(
            f"{instruction.key}'s vote against its mandate was recorded already", field="ballot"
        )
    weight = Fraction(instruction.weight)
    content = decisions._normalise(higher, ballot, instruction.weight, member)
    mandate, _, _ = _derive(instruction)
    event = gov.check_delegate_vote(
        mandate, [(content, weight)], delegate=member.record_id, policy=policy
    )
    if isinstance(event, gov.MandateBreached):
        breach = Breach.objects.create(
            proposal=higher,
            delegation=instruction.delegation,
            delegate=member,
            event=_plain(event.to_canonical()),
            created_at=timezone.now(),
        )
        decisions._append(higher, "mandate.breached", event.to_canonical(), member.record_id)
        return breach
    _record_delegation_vote(
        higher, instruction.delegation, instruction.key, content, weight, cast_by=member.record_id
    )
    if event is not None:  # DiscretionUsed: the base reviews it
        decisions._append(higher, "mandate.discretion_used", event.to_canonical(), member.record_id)
    return None


def derive_due_mandates() -> int:
    """Derive every mandate whose instruction vote has closed; each in its own transaction.

    Run by the closing task after it closes votes; safe to run any number of times. Returns
    how many mandates this run derived.
    """
    due = Instruction.objects.filter(
        derived_at__isnull=True, base_proposal__phase=Phase.CLOSED
    ).order_by("pk")
    derived = 0
    for proposal_id in due.values_list("base_proposal_id", flat=True):
        try:
            if derive_mandate_for(proposal_id=proposal_id) is not None:
                derived += 1
        except Exception:  # one mandate's failure must not stop the others
            log.exception("could not derive the mandate of instruction vote %s", proposal_id)
    return derived
