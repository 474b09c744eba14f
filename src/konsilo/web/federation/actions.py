"""Actions of the federation: send an item to the bases, derive mandates, cast delegations' votes.

A thin layer over the pure rules of konsilo.governance (domain-rules §3.1–3.6):

- ``send_to_bases``: a higher council's item (in discussion) is sent down through every level
  below it (``federation.item_delegations``: every council below under re-deliberation and
  pass-through, only the bases, their delegations seated at the top, under direct base
  representation). The schedule comes from ``schedule.cascade_deadlines`` backwards from the
  higher vote; a council that would get less than its deliberation window makes the whole
  sending refused (HTTP 400, the message names the council, its level and the shortfall).
  Each council below gets an instruction vote on the same text (the same SHA-256): a base's
  is its members' vote, opened at its scheduled opening (``open_due_instruction_votes``, run
  by the periodic task) until its instruction deadline; an intermediate council's is its
  delegations' vote, opened with their weights frozen now (``delegation_weights``), as is the
  sending council's own vote.
- ``derive_mandate_for``: when an instruction vote has closed (the closing task calls it), its
  result becomes its delegation's mandate, written as ``mandate.derived`` with the vote it was
  derived from, so that ``konsilo verify`` re-derives it: a base's by ``derive_mandate`` per
  the delegation's policy, an intermediate council's by ``derive_council_mandate`` per the
  sending's composition, once every delegation voting in it has its mandate (level by
  level). Under ``system_casts`` the platform casts the bound vote at once
  (``delegation.voted``) in the council the delegation sits in.
- ``delegate_cast``: under ``delegate_casts_checked`` the delegate votes; a vote against a
  binding mandate is recorded as ``mandate.breached`` (the recall rules act on it) and, the
  mandate being binding, it does not enter the higher count. Under
  ``delegate_casts_unchecked`` such a vote counts as cast and ``mandate.departed`` notes it
  for the base's report-back.
- ``amend_sent_item``, ``request_postponement``, ``settle_amended_vote``: the higher council
  amends its item after the bases instructed (§3.10). The mandates cover the text sent
  (its content hash), so each delegation not free follows ``mandate.out_of_mandate_amendment``
  through ``settle_out_of_mandate``: it asks for time (``postponement.requested``; the
  platform asks for the delegations it casts for, a delegate for their own), and once those
  asking represent ``mandate.postponement_threshold`` of the members the vote is postponed
  and the amended text re-sent to every council below (``vote.postponed``, the sending's
  next round). Otherwise the vote goes ahead when it opens (``out_of_mandate.settled``):
  the platform casts the abstentions under ``system_casts``, discretion is flagged, and a
  delegate's vote is checked with ``check_out_of_mandate_vote``.

Each action is one durable transaction, and every record entry is appended in it. Entries
that must come after others (the tally before the mandate, the mandate and the opening of
the higher vote before a delegation's vote) are written after them, by a later transaction
or later in the same one, and the sequencer keeps the written order (it shuffles only runs
of unlinkable entries), so none of these actions waits for the record's sequencer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.utils import timezone

from konsilo import canonical
from konsilo import governance as gov
from konsilo.counting import tally
from konsilo.counting.result import Result
from konsilo.governance.replay import without_asking
from konsilo.web.bulk import among, each, gc_paused, in_batches, insert_rows, update_rows
from konsilo.web.councils import permissions
from konsilo.web.councils import selectors as council_selectors
from konsilo.web.councils.actions import Actor
from konsilo.web.councils.models import Council, Delegation, Member, Office
from konsilo.web.decisions import actions as decisions
from konsilo.web.decisions.actions import Voter
from konsilo.web.decisions.models import Proposal, TextVersion, VoterRoll
from konsilo.web.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from konsilo.web.federation.models import (
    Breach,
    DelegationVote,
    Instruction,
    ListedAmendment,
    PostponementRequest,
    Sending,
)
from konsilo.web.ledger import actions as ledger

Phase = Proposal.Phase
log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    """A value as canonical JSON data (what a JSONField stores and the record holds)."""
    return canonical.loads(canonical.dumps(value))


def _inline_or_stored(name: str, value: Any) -> dict[str, Any]:
    """``{name: value}``, or ``{name_sha256: hash}`` of the value kept as a long text when it
    would not fit in a record entry (the schedule and cascade of a large federation)."""
    encoded = canonical.dumps_str(value)
    if len(encoded) > decisions._INLINE_CENSUS_BYTES:
        return {f"{name}_sha256": ledger.store_text(encoded)}
    return {name: value}


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


def _create_instruction_item(
    higher: Proposal,
    lower: Council,
    *,
    top: Proposal,
    listed: ListedAmendment | None = None,  # the listed amendment ``text`` is, if any
    text: TextVersion | ListedAmendment,
    now: datetime,
    opens_at: datetime,
    closes_at: datetime,
    book: council_selectors.PolicyBook,
) -> Proposal:
    """Create the lower council's instruction item on the same text, in discussion, under
    the council's policy for instructions (from ``book``)."""
    policy, versions = decisions._resolved_policy(lower, "instruction", book=book)
    decisions._check_rule_fits(higher.ballot_shape, policy, "instruction")
    base = Proposal.objects.create(
        organisation=higher.organisation,
        council=lower,
        title=higher.title if listed is None else f"{top.title}: amendment {listed.label}",
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
        phase=Phase.DISCUSSION,
        discussion_opened_at=now,
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
            "sent_from": top.record_id,
            "voting_from": opens_at,
            "closes_at": closes_at,
            **({"listed_amendment": listed.label} if listed is not None else {}),
        },
        "",
    )
    return base


def _refuse_empty(lower: Council, voters: int) -> None:
    if not voters:
        raise ConflictError(
            f"{lower.name} ({lower.key}) has nobody who may vote, so it cannot instruct its "
            "delegation",
            field="census",
        )


def _member_censuses(bases: Sequence[Proposal], on: date) -> dict[int, tuple[str, list[Voter]]]:
    """The census of each base's instruction vote (``decisions.base_censuses``): a member
    whose primary base is another base the same sending reaches (so below the same root)
    weighs 0 here; their weight goes up through that base (§3.4)."""

    def root_bases(elsewhere: Mapping[int, set[str]]) -> dict[int, set[str]]:
        others = set().union(*elsewhere.values())
        if not others:
            return {}
        sending_of = dict(
            Instruction.objects.filter(base_proposal_id__in=list(elsewhere)).values_list(
                "base_proposal_id", "sending_id"
            )
        )
        reached: dict[int, set[str]] = {}
        for sending_id, key in Instruction.objects.filter(
            sending_id__in=set(sending_of.values()), base_proposal__council__key__in=others
        ).values_list("sending_id", "base_proposal__council__key"):
            reached.setdefault(sending_id, set()).add(key)
        return {
            pk: keys & reached.get(sending_of.get(pk, -1), set()) for pk, keys in elsewhere.items()
        }

    return decisions.base_censuses(bases, on=on, root_bases=root_bases)


def _census_refusal(base: Proposal, voters: Sequence[Any]) -> ConflictError | None:
    """Why this census cannot open the base's vote, if it cannot."""
    lower = base.council
    try:
        _refuse_empty(lower, len(voters))
    except ConflictError as exc:
        return exc
    if base.secret and len({w for _, _, w in voters if w}) > 1:
        return ConflictError(
            f"a secret ballot in {lower.key} needs equal weights, but the census has several",
            field="census",
        )
    return None


def _open_member_votes(
    pairs: Sequence[tuple[Proposal, Proposal]], *, now: datetime
) -> list[tuple[Proposal, ConflictError]]:
    """Open these bases' instruction votes (each with the vote above it) now, together:
    their censuses read in a few queries, their rows stored in a few statements, their
    ``vote.opened`` entries in the order given. Returns the bases whose census cannot open
    their vote, with why; nothing is written for those."""
    bases = [base for base, _ in pairs]
    on = timezone.localdate(now)
    censuses = _member_censuses(bases, on)
    texts = dict(
        TextVersion.objects.filter(proposal__in=bases)
        .order_by("proposal_id", "number")
        .values_list("proposal_id", "sha256")
    )  # the last of each proposal's versions is its latest
    refused: list[tuple[Proposal, ConflictError]] = []
    opened: list[Proposal] = []
    rolls: list[VoterRoll] = []
    with ledger.collected():
        for base, higher in pairs:
            basis, voters = censuses[base.pk]
            refusal = _census_refusal(base, voters)
            if refusal is not None:
                refused.append((base, refusal))
                continue
            weights = {record_id: w for _, record_id, w in voters}
            method, options, rule, census = decisions.vote_terms(base, weights, basis=basis, on=on)
            decisions._move(base, Phase.VOTING)
            base.method, base.rule, base.census = method, rule, census
            base.voting_opened_at = now
            opened.append(base)
            rolls.extend(
                VoterRoll(proposal=base, member_id=pk, weight=canonical.fraction(w))
                for pk, _, w in voters
            )
            decisions._append(
                base,
                "vote.opened",
                {
                    **_opened_data(
                        base,
                        method=method,
                        rule=rule,
                        options=options,
                        census=census,
                        digest=texts[base.pk],
                    ),
                    "instruction_of": higher.record_id,
                },
                "",
            )
    update_rows(opened, ["phase", "method", "rule", "census", "voting_opened_at"])
    insert_rows(rolls)
    return refused


def _open_delegation_vote(
    item: Proposal,
    *,
    higher: Proposal,
    weights: dict[str, Fraction],
    opens_at: datetime,
) -> None:
    """Open an intermediate council's instruction vote: its delegations vote in it, with
    their weights frozen at the sending, from ``opens_at`` to its instruction deadline.

    Like the sending council's own vote it is open (in phase voting) from the sending, so
    that the bound votes of the councils below it can be cast as their mandates are derived;
    delegates casting themselves may do so from ``opens_at``.
    """
    item.secret = False  # delegations always vote openly (DESIGN, "Ballots and secrecy")
    method, options, rule, census = decisions.vote_terms(item, weights, basis="delegations")
    decisions._move(item, Phase.VOTING)
    item.method, item.rule, item.census = method, rule, census
    item.voting_opened_at = opens_at
    item.save(update_fields=["phase", "secret", "method", "rule", "census", "voting_opened_at"])
    decisions._append(
        item,
        "vote.opened",
        {
            **_opened_data(
                item,
                method=method,
                rule=rule,
                options=options,
                census=census,
                digest=_latest_text(item).sha256,
            ),
            "opens_at": opens_at,
            "instruction_of": higher.record_id,
        },
        "",
    )


@dataclass(frozen=True)
class _Layout:
    """Who instructs whom on a sent item: the councils below it, their policies and timing."""

    top: str
    composition: str
    graph: gov.CouncilGraph
    plan: dict[str, str]  # each council below -> the council its delegation votes in
    paths: dict[str, str]  # each council below -> the council its delegation sits in
    schedule_graph: gov.CouncilGraph
    councils: dict[str, Council]
    policies: dict[str, gov.ResolvedPolicy]
    timing: dict[str, gov.TimingPolicy]
    delegations: dict[tuple[str, str], Delegation]
    book: council_selectors.PolicyBook  # the policies read for the layout


def _layout(proposal: Proposal, composition: str | None) -> _Layout:
    """The councils an item of ``proposal``'s council reaches below it, by ``composition``
    (the federation's ``structure.composition`` when None), with their current policies."""
    council = proposal.council
    top = council.key
    organisation = proposal.organisation
    graph = council_selectors.load_graph(organisation)
    if graph.is_base(top):
        raise ConflictError(
            f"{council.name} has no councils below it to send the item to", field="proposal"
        )
    top_policy = _resolved(council, proposal.decision_type)
    if composition is None:
        composition = gov.composition_of(top_policy)
    elif composition not in gov.COMPOSITIONS:
        raise InvalidInputError(
            f"composition: expected one of {', '.join(gov.COMPOSITIONS)}, got {composition!r}",
            field="composition",
        )
    try:
        plan = gov.item_delegations(graph, top=top, composition=composition)
        paths = gov.item_delegations(graph, top=top)
        schedule_graph = gov.schedule_graph(graph, top=top, composition=composition)
    except gov.GovernanceError as exc:
        raise ConflictError(str(exc), field="proposal") from None
    councils = {
        c.key: c for c in Council.objects.filter(organisation=organisation, key__in=[*plan, top])
    }
    book = council_selectors.PolicyBook(organisation)
    policies = {
        key: top_policy if key == top else book.resolve(c, "instruction")
        for key, c in councils.items()
    }
    delegations = {
        (d.from_council.key, d.to_council.key): d
        for d in Delegation.objects.filter(
            from_council__key__in=list(plan), to_council__organisation=organisation
        ).select_related("from_council", "to_council")
    }
    return _Layout(
        top=top,
        composition=composition,
        graph=graph,
        plan=dict(plan),
        paths=dict(paths),
        schedule_graph=schedule_graph,
        councils=councils,
        policies=policies,
        timing={key: gov.TimingPolicy.from_policy(p) for key, p in policies.items()},
        delegations=delegations,
        book=book,
    )


def _cascade(
    sending: Sending,
    proposal: Proposal,
    *,
    layout: _Layout,
    schedule: gov.Schedule,
    text: TextVersion | ListedAmendment,
    now: datetime,
    census: gov.Census | None,
    weights: Mapping[str, Fraction],
    listed: ListedAmendment | None = None,
) -> tuple[dict[str, Proposal], list[tuple[Proposal, Proposal]], dict[str, str]]:
    """Create every council's instruction item on ``text`` below ``proposal``, top down, and
    its delegation's instruction (of the sending's current round); open the intermediate
    councils' votes of delegations. On a ``listed`` amendment (its text), the items and
    instructions form its own cascade: the delegations vote in the amendment's items of
    the councils above, and at the top in the item itself, once it is amended to it.

    Returns the items by council, the bases' items whose vote opens now (with the item their
    delegation votes in) and the delegation keys by council. With the ``census`` taken for
    the weights, a base nobody may vote in refuses the whole sending; without (a
    re-sending), its vote is withdrawn when it opens and its delegation has no instruction.
    """
    graph, plan = layout.graph, layout.plan
    # Top down, so that every council's item exists before the items of the councils below.
    items: dict[str, Proposal] = {layout.top: proposal}
    opened: list[tuple[Proposal, Proposal]] = []
    keys: dict[str, str] = {}
    mandate_policies: dict[tuple[int, int], dict[str, Any]] = {}
    windows: dict[tuple[datetime, str], dict[str, Any]] = {}
    for lower_key in sorted(plan, key=lambda k: (-graph.level_rank(k), k)):
        lower, above = layout.councils[lower_key], plan[lower_key]
        key = gov.delegation_key(lower_key, above)
        keys[lower_key] = key
        mine, theirs = schedule.councils[lower_key], schedule.councils[above]
        deadline = mine.instruction_deadline
        assert deadline is not None
        higher = items[above]
        item = _create_instruction_item(
            higher,
            lower,
            top=proposal,
            listed=listed,
            text=text,
            now=now,
            opens_at=mine.opens_at,
            closes_at=deadline,
            book=layout.book,
        )
        items[lower_key] = item
        if graph.is_base(lower_key):
            # Refused now, not when its vote would open (the census taken for the weights).
            if census is not None:
                _refuse_empty(lower, len(census.voters(lower_key)))
            if mine.opens_at <= now:
                opened.append((item, higher))
        else:
            _open_delegation_vote(
                item,
                higher=higher,
                weights={
                    gov.delegation_key(k, v): weights[gov.delegation_key(k, v)]
                    for k, v in plan.items()
                    if v == lower_key
                },
                opens_at=mine.opens_at,
            )
        # Councils of a level mostly share their policies: each pair's mandate policy and
        # each window is made once.
        mine_policy, their_policy = layout.policies[lower_key], layout.policies[above]
        pair = (id(mine_policy), id(their_policy))
        policy = mandate_policies.get(pair)
        if policy is None:
            policy = _plain(
                gov.MandatePolicy.from_policy(mine_policy, higher=their_policy).to_canonical()
            )
            mandate_policies[pair] = policy
        window = windows.get((deadline, above))
        if window is None:
            window = _plain(
                gov.VoteWindow(deadline, theirs.opens_at, theirs.closes_at).to_canonical()
            )
            windows[(deadline, above)] = window
        Instruction.objects.create(
            sending=sending,
            delegation=layout.delegations[(lower_key, layout.paths[lower_key])],
            base_proposal=item,
            higher=higher,
            key=key,
            listed=listed,
            round=sending.round,
            weight=canonical.fraction(weights[key]),
            policy=dict(policy),
            window=dict(window),
            opens_at=mine.opens_at,
        )
    return items, opened, keys


MAX_LISTED = 10  # amendments listed on one item, in one round
MAX_LABEL = 80


def _listed_texts(
    amendments: Sequence[tuple[str, str]],
    *,
    text: TextVersion,
    listed: Sequence[ListedAmendment] = (),
) -> list[tuple[str, str, str]]:
    """The amendments to list, checked: each a label and a full amended text, none the
    text voted on, none listed twice (by label or by text, with those ``listed`` already).
    Returns (label, text, SHA-256) each; refused (400) with the field and what came."""
    if len(amendments) + len(listed) > MAX_LISTED:
        raise InvalidInputError(
            f"amendments: at most {MAX_LISTED} listed amendments on an item, got "
            f"{len(amendments) + len(listed)}",
            field="amendments",
        )
    labels = {a.label for a in listed}
    hashes = {a.sha256: a.label for a in listed}
    out = []
    for n, (raw_label, raw_text) in enumerate(amendments):
        where = f"amendments[{n}]"
        label = decisions._text(raw_label, field=f"{where}.label", limit=MAX_LABEL)
        body = decisions._text(raw_text, field=f"{where}.text", limit=decisions.MAX_TEXT)
        digest = decisions._sha256(body)
        if digest == text.sha256:
            raise InvalidInputError(
                f"{where}.text: this is the text sent itself; list only amended texts",
                field=f"{where}.text",
            )
        if label in labels:
            raise InvalidInputError(
                f"{where}.label: amendment {label!r} is listed already", field=f"{where}.label"
            )
        if digest in hashes:
            raise InvalidInputError(
                f"{where}.text: the same text as amendment {hashes[digest]!r}",
                field=f"{where}.text",
            )
        labels.add(label)
        hashes[digest] = label
        out.append((label, body, digest))
    return out


def _list_amendment(
    sending: Sending,
    proposal: Proposal,
    *,
    label: str,
    text: str,
    layout: _Layout,
    schedule: gov.Schedule,
    now: datetime,
    census: gov.Census | None,
    weights: Mapping[str, Fraction],
    actor: str,
) -> tuple[ListedAmendment, list[tuple[Proposal, Proposal]]]:
    """List one amendment and send its text down the cascade beside the text sent
    (``amendment.listed``); returns it and the bases' votes on it that open now."""
    number = ListedAmendment.objects.filter(sending=sending).count() + 1
    listed = ListedAmendment.objects.create(
        sending=sending,
        round=sending.round,
        number=number,
        label=label,
        text=text,
        sha256=ledger.store_text(text),
        listed_at=now,
    )
    items, opened, keys = _cascade(
        sending,
        proposal,
        layout=layout,
        schedule=schedule,
        text=listed,
        now=now,
        census=census,
        weights=weights,
        listed=listed,
    )
    decisions._append(
        proposal,
        "amendment.listed",
        {
            "label": label,
            "number": number,
            "round": sending.round,
            "text_sha256": listed.sha256,
            **_inline_or_stored(
                "cascade", {keys[k]: items[k].record_id for k in sorted(layout.plan)}
            ),
        },
        actor,
    )
    return listed, opened


@transaction.atomic(durable=True)
def send_to_bases(
    *,
    actor: Actor,
    proposal: Proposal,
    opens_at: datetime,
    composition: str | None = None,
    amendments: Sequence[tuple[str, str]] = (),
) -> Sending:
    """Send a higher council's item down through every level below it (domain-rules §3.5).

    The item must be in discussion. Its vote opens at ``opens_at`` and lasts the council's
    vote window; every council below gets an instruction vote on the same text (the same
    SHA-256) with its window from ``schedule.cascade_deadlines``, computed backwards from the
    higher vote; ``composition`` overrides the federation's ``structure.composition`` for
    this item (``federation.item_delegations``: under direct base representation only the
    bases vote, their delegations at the top). A base's vote opens at its scheduled opening
    (at once if that has come, else by the periodic task); an intermediate council's vote,
    of its delegations, is opened now like the sending council's. Refused (400,
    ``too_little_time``) when any council would deliberate less than its window.

    ``amendments`` (label, full amended text) are listed in advance (§3.10): every council
    below instructs on each beside the text sent, in the same cascade and schedule and with
    the same census, and each delegation gets a mandate on each (``amendment.listed``). An
    amendment of the item to exactly such a text stays within those mandates.
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
    layout = _layout(proposal, composition)
    composition = layout.composition
    listing = _listed_texts(amendments, text=_latest_text(proposal))
    now = timezone.now()
    try:
        schedule = gov.cascade_deadlines(
            layout.schedule_graph,
            top=layout.top,
            published_at=now,
            opens_at=opens_at,
            timing=layout.timing,
        )
    except gov.ScheduleError as exc:
        raise InvalidInputError(str(exc), field="opens_at", code="too_little_time") from None
    organisation = proposal.organisation
    census = council_selectors.take_census(organisation)
    top_policy = layout.policies[layout.top]
    weights = gov.delegation_weights(
        layout.graph,
        top=layout.top,
        represented=census.represented_by_council(),
        vote_weight=top_policy.value("structure.vote_weight"),
        composition=composition,
    )
    if composition == "pass_through" and proposal.ballot_shape != Proposal.Shape.CONSENT:
        weights = gov.forwarded_weights(layout.graph, top=layout.top, weights=weights)
    text = _latest_text(proposal)
    sending = Sending.objects.create(
        proposal=proposal,
        schedule=_plain(schedule.to_canonical()),
        composition=composition,
        sent_at=now,
    )
    items, opened, keys = _cascade(
        sending,
        proposal,
        layout=layout,
        schedule=schedule,
        text=text,
        now=now,
        census=census,
        weights=weights,
    )
    top, plan = layout.top, layout.plan
    # Delegations' votes at higher councils are always open (DESIGN, "Ballots and secrecy").
    top_weights = {keys[k]: weights[keys[k]] for k, v in plan.items() if v == top}
    top_window = schedule.councils[top]
    proposal.secret = False
    # The census names its day: `konsilo verify` re-derives the delegations' weights from it.
    method, options, rule, frozen = decisions.vote_terms(
        proposal, top_weights, basis="delegations", on=census.on
    )
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
            **_inline_or_stored("schedule", schedule.to_canonical()),
            "composition": composition,
            **_inline_or_stored(
                "sent_to", {keys[k]: items[k].record_id for k in sorted(plan) if plan[k] == top}
            ),
            **_inline_or_stored("cascade", {keys[k]: items[k].record_id for k in sorted(plan)}),
        },
        decisions._record_id(actor, member),
    )
    for label, body, _ in listing:
        _, more = _list_amendment(
            sending,
            proposal,
            label=label,
            text=body,
            layout=layout,
            schedule=schedule,
            now=now,
            census=census,
            weights=weights,
            actor=decisions._record_id(actor, member),
        )
        opened.extend(more)
    refused = _open_member_votes(opened, now=now)
    if refused:
        raise refused[0][1]
    decisions._sequence(proposal)
    return sending


@transaction.atomic(durable=True)
def list_amendment(*, actor: Actor, proposal: Proposal, label: str, text: str) -> ListedAmendment:
    """List an amendment on an item already sent, before any council below opens its vote
    on it (§3.10): as ``send_to_bases`` lists them, in the sending's current round.

    Refused (409) for an item not sent (list amendments when sending it), once the first
    vote below has opened (the bases would instruct on it with less time than on the text),
    and when the councils below have changed since the sending; (400) for bad input.
    """
    higher = decisions._locked(proposal)
    member = decisions._actor_may_steer(actor, higher)
    sending = Sending.objects.select_for_update().filter(proposal=higher).first()
    if sending is None:
        raise ConflictError(
            "this item was not sent to the bases: list its amendments when you send it",
            field="proposal",
        )
    decisions._require_phase(higher, Phase.VOTING, doing="list an amendment")
    now = timezone.now()
    instructions = list(
        Instruction.objects.filter(sending=sending, round=sending.round, listed__isnull=True)
    )
    first = min((i.opens_at for i in instructions if i.opens_at is not None), default=None)
    if first is None or now >= first:
        when = first.isoformat() if first is not None else "the sending"
        raise ConflictError(
            f"the councils below began voting at {when}: amendments can be listed only "
            "until the first of their votes opens",
            field="amendments",
        )
    listed = list(ListedAmendment.objects.filter(sending=sending, round=sending.round))
    [(label, body, _)] = _listed_texts([(label, text)], text=_latest_text(higher), listed=listed)
    layout = _layout(higher, sending.composition)
    weights = {i.key: Fraction(i.weight) for i in instructions}
    keys = {gov.delegation_key(k, v) for k, v in layout.plan.items()}
    if keys != set(weights):
        changed = sorted(keys ^ set(weights))
        raise ConflictError(
            f"the amendment cannot be sent to the bases: the delegations below "
            f"{higher.council.name} changed since the item was sent ({', '.join(changed)})",
            field="proposal",
        )
    row, opened = _list_amendment(
        sending,
        higher,
        label=label,
        text=body,
        layout=layout,
        schedule=gov.Schedule.from_canonical(sending.schedule),
        now=now,
        census=None,
        weights=weights,
        actor=decisions._record_id(actor, member),
    )
    assert not opened  # every vote below opens later
    decisions._sequence(higher)
    return row


@transaction.atomic(durable=True)
def open_instruction_vote(*, instruction_id: int) -> Proposal | None:
    """Open a base's instruction vote at its scheduled opening. Idempotent.

    Returns None when the vote is open already or its opening has not come. A base whose
    census has become empty since the sending cannot vote: its item is withdrawn with the
    reason, and its delegation has no instruction (``derive_mandate_for``).
    """
    handled = _open_instructions([instruction_id])
    return handled[0] if handled else None


@gc_paused()
@transaction.atomic(durable=True)
def open_instruction_votes(*, instruction_ids: Sequence[int]) -> list[Proposal]:
    """`open_instruction_vote` of many instructions in one transaction (a federation's bases
    open at one time); returns the bases' items it opened or withdrew."""
    return _open_instructions(instruction_ids)


def _open_instructions(instruction_ids: Sequence[int]) -> list[Proposal]:
    instructions = list(
        Instruction.objects.select_for_update(of=("self",))
        .select_related("higher")
        .filter(pk__in=list(instruction_ids), opens_at__isnull=False)
        .order_by("opens_at", "pk")
    )
    if not instructions:
        return []
    now = timezone.now()
    locked = {
        p.pk: p
        for p in Proposal.objects.select_for_update()
        .select_related("council", "organisation")
        .filter(pk__in=[i.base_proposal_id for i in instructions])
    }
    pairs = []
    for instruction in instructions:
        base = locked[instruction.base_proposal_id]
        if base.phase != Phase.DISCUSSION or now < instruction.opens_at:
            continue
        assert instruction.higher is not None
        pairs.append((base, instruction.higher))
    handled = [base for base, _ in pairs]
    by_organisation: dict[int, list[tuple[Proposal, Proposal]]] = {}
    for pair in pairs:
        by_organisation.setdefault(pair[0].organisation_id, []).append(pair)
    for group in by_organisation.values():
        for base, exc in _open_member_votes(group, now=now):
            decisions._move(base, Phase.WITHDRAWN)
            base.withdrawn_reason = str(exc)
            base.save(update_fields=["phase", "withdrawn_reason"])
            decisions._append(
                base, "proposal.withdrawn", {"from": "discussion", "reason": str(exc)}, ""
            )
    return handled


def open_due_instruction_votes() -> int:
    """Open every base's instruction vote whose scheduled opening has come, in transactions
    of up to 500. Run by the periodic task before it closes votes; safe to run any number
    of times. A batch that fails is opened again vote by vote, so one broken base never
    stops the others. Returns how many votes this run opened (or withdrew, for want of
    voters)."""
    due = list(
        Instruction.objects.filter(
            base_proposal__phase=Phase.DISCUSSION, opens_at__lte=timezone.now()
        )
        .order_by("opens_at", "pk")
        .values_list("pk", flat=True)
    )
    return in_batches(
        due,
        lambda chunk: open_instruction_votes(instruction_ids=chunk),
        lambda pk: open_instruction_vote(instruction_id=pk),
        "could not open the instruction vote of instruction %s",
        what="open the instruction votes",
    )


def inputs_pending(proposal_id: int) -> bool:
    """Whether a vote still waits for mandates of the delegations voting in it.

    A council's vote closes only once every delegation below it has its mandate (and its
    bound votes cast), so a middle council's own mandate is derived from final inputs.
    """
    return Instruction.objects.filter(higher_id=proposal_id, derived_at__isnull=True).exists()


def inputs_pending_of(proposal_ids: Sequence[int]) -> set[int]:
    """Those of the votes that still wait for mandates (`inputs_pending`), in one query."""
    waiting: set[int] = set()
    ids = list(proposal_ids)
    for start in range(0, len(ids), 5000):
        waiting.update(
            Instruction.objects.filter(
                among("higher_id", ids[start : start + 5000]), derived_at__isnull=True
            ).values_list("higher_id", flat=True)
        )
    return waiting


# -- mandates ---------------------------------------------------------------------------------


# The votes the worker has just closed, as their closes left them.
Closed = Mapping[int, decisions.ClosedVote]


@dataclass
class _Loaded:
    """What deriving mandates reads of many instruction votes, read together: each vote's
    latest text hash, its ballots and how many delegations voted in it."""

    texts: dict[int, str]
    ballots: dict[int, decisions.CountedBallots]
    delegations: dict[int, set[str]]
    results: dict[int, Result]

    @classmethod
    def of(cls, instructions: Sequence[Instruction], closed: Closed | None = None) -> _Loaded:
        """``closed``: votes this worker has just closed, whose ballots and results are
        taken as their closes left them, not read and counted again."""
        closed = closed or {}
        proposals = {i.base_proposal_id: i.base_proposal for i in instructions}
        texts: dict[int, str] = {}
        wanted = set(proposals)
        for i in instructions:
            wanted.add((i.higher or i.sending.proposal).pk)
        versions = (
            TextVersion.objects.filter(proposal_id__in=wanted)
            .order_by("proposal_id", "-number")
            .values_list("proposal_id", "sha256")
        )
        for pk, digest in versions:
            texts.setdefault(pk, digest)  # the first of each proposal is its latest
        delegations: dict[int, set[str]] = {}
        middle = [i.base_proposal_id for i in instructions if _is_intermediate(i)]
        if middle:
            keys = DelegationVote.objects.filter(proposal_id__in=middle)
            for pk, key in keys.values_list("proposal_id", "key"):
                delegations.setdefault(pk, set()).add(key)
        known = {pk for pk in proposals if pk in closed}
        ballots = decisions.ballots_by_proposal(
            [p for pk, p in proposals.items() if pk not in known]
        )
        ballots.update((pk, closed[pk].ballots) for pk in known)
        return cls(
            texts=texts,
            ballots=ballots,
            delegations=delegations,
            results={pk: closed[pk].result for pk in known},
        )

    def result(self, proposal: Proposal) -> Result:
        """The vote's count: the close's, or counted again from its ballots."""
        known = self.results.get(proposal.pk)
        if known is not None:
            return known
        counted = self.ballots[proposal.pk]
        return tally.count_ballots(
            str(proposal.method), proposal.rule or {}, counted.ballots, heads=counted.cast
        )

    def text(self, proposal: Proposal) -> str:
        digest = self.texts.get(proposal.pk)
        return digest if digest is not None else _latest_text(proposal).sha256

    def voted(self, proposal: Proposal) -> int:
        """How many delegations voted in an intermediate council's vote."""
        return len(self.delegations.get(proposal.pk, ()))


def _motion_rule(proposal: Proposal) -> Any:
    choice = decisions.policy_value(proposal, "decision_rule.rule")
    if not choice.args:
        return str(choice.name)
    from konsilo.counting.motion import MotionRule  # noqa: PLC0415

    return MotionRule(str(choice.name), Fraction(choice.args[0]))


def _base_vote(
    instruction: Instruction, loaded: _Loaded | None = None, *, with_result: bool = True
) -> gov.BaseVote:
    """The closed instruction vote as the pure rules take it (and the record carries it);
    without ``with_result``, its ballots only (what member-level support reads)."""
    loaded = loaded or _Loaded.of([instruction])
    base = instruction.base_proposal
    assert base.closes_at is not None
    assert base.census is not None
    counted = loaded.ballots[base.pk]
    quorum_policy = {
        n: decisions.policy_value(base, n)
        for n in ("mandate.instruction_quorum", "quorum.fraction")
        if n in base.policy
    }
    method = str(base.method)
    return gov.BaseVote(
        base=instruction.delegation.from_council.key,
        item=base.record_id,
        content_hash=loaded.text(base),
        method=method,
        ballots=tuple(counted.ballots),
        eligible=Fraction(base.census["total_weight"]),
        # The vote closed at its deadline (server time decides, §3.17), whenever the
        # closing task ran after it.
        closed_at=base.closes_at,
        quorum=gov.instruction_quorum(quorum_policy),
        rule=_motion_rule(base) if method == "motion" else "simple_majority",
        result=loaded.result(base) if with_result else None,
    )


def _position_vote(instruction: Instruction, loaded: _Loaded) -> gov.BaseVote:
    """An intermediate council's closed vote: its delegations' weighted votes (§3.5)."""
    item = instruction.base_proposal
    assert item.closes_at is not None
    counted = loaded.ballots[item.pk]
    method = str(item.method)
    return gov.position_vote(
        item.council.key,
        item=item.record_id,
        content_hash=loaded.text(item),
        method=method,
        votes=counted.ballots,
        rule=_motion_rule(item) if method == "motion" else "simple_majority",
        result=loaded.result(item),
        closed_at=item.closes_at,
    )


def _is_intermediate(instruction: Instruction) -> bool:
    census = instruction.base_proposal.census or {}
    return census.get("basis") == "delegations"


def _derive(
    instruction: Instruction, loaded: _Loaded | None = None
) -> tuple[gov.Mandate, gov.BaseVote | None, gov.MandatePolicy, dict[str, Any]]:
    """The delegation's mandate, the vote it comes from, its policy and the entry's extras.

    A base's delegation: its members' instruction vote (``derive_mandate``; none when the
    vote could not be held). An intermediate council's: its own vote of delegations, by the
    sending's composition (``derive_council_mandate``).
    """
    loaded = loaded or _Loaded.of([instruction])
    higher = instruction.higher or instruction.sending.proposal
    top = instruction.sending.proposal
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    window = gov.VoteWindow.from_canonical(instruction.window)
    # The mandate covers the text the council below voted on, the one sent to it: should
    # the higher council amend its item, the vote on the new text is outside the mandate
    # (§3.10, ``settle_amended_vote``).
    content_hash = loaded.text(instruction.base_proposal)
    carrying = policy.no_instruction_behavior == "carry_previous_position"
    previous = _previous_position(instruction, content_hash) if carrying else None
    if _is_intermediate(instruction):
        vote = _position_vote(instruction, loaded)
        voted = loaded.voted(instruction.base_proposal)
        composition = instruction.sending.composition
        mandate = gov.derive_council_mandate(
            vote,
            composition=composition,
            delegation=instruction.key,
            content_hash=content_hash,
            weight=Fraction(instruction.weight),
            policy=policy,
            item=higher.record_id,
            method=str(higher.method),
            delegations=voted,
            previous=previous,
        )
        return mandate, vote, policy, {"composition": composition, "delegations": voted}
    held = instruction.base_proposal.phase == Phase.CLOSED
    base_vote = _base_vote(instruction, loaded) if held else None
    mandate = gov.derive_mandate(
        base_vote,
        delegation=instruction.key,
        content_hash=content_hash,
        weight=Fraction(instruction.weight),
        policy=policy,
        item=higher.record_id,
        method=str(top.method),
        window=window,
        previous=previous,
    )
    return mandate, base_vote, policy, {}


def _locked_instructions(
    proposal_ids: Sequence[int], closed: Closed | None = None
) -> list[Instruction]:
    """The underived instructions of these instruction votes, locked, with what deriving
    their mandates reads (their sending, the vote above), in the order of their deadlines.
    The votes in ``closed`` are taken as their closes left them, not read again.
    Instructions whose rows another transaction holds are skipped: another worker is
    deriving them."""
    closed = closed or {}
    # A narrow join: planning one query over every related row costs more than the few
    # small ones that follow, once the instructions are due.
    instructions = list(
        Instruction.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("delegation__from_council", "delegation__to_council")
        .filter(base_proposal_id__in=list(proposal_ids), derived_at__isnull=True)
        .order_by("base_proposal__closes_at", "pk")
    )
    if not instructions:
        return []
    unread = [i.base_proposal_id for i in instructions if i.base_proposal_id not in closed]
    votes = {pk: vote.proposal for pk, vote in closed.items()}
    votes.update(
        (p.pk, p) for p in Proposal.objects.select_related("council").filter(pk__in=unread)
    )
    sendings = {
        s.pk: s
        for s in Sending.objects.select_related("proposal__council", "proposal__organisation")
        .defer("schedule")  # the whole federation's schedule: not needed here
        .filter(pk__in={i.sending_id for i in instructions})
    }
    highers = {
        p.pk: p
        for p in Proposal.objects.select_related("council", "organisation").filter(
            pk__in={i.higher_id for i in instructions if i.higher_id is not None}
        )
    }
    for instruction in instructions:
        instruction.base_proposal = votes[instruction.base_proposal_id]
        instruction.sending = sendings[instruction.sending_id]
        # One organisation throughout the sending.
        instruction.base_proposal.organisation = instruction.sending.proposal.organisation
        if instruction.higher_id is not None:
            instruction.higher = highers[instruction.higher_id]
    return instructions


def _derivable(instruction: Instruction) -> bool:
    """Whether the instruction vote has ended: closed, or (a base's) withdrawn for want of
    voters, which gives no instruction."""
    base = instruction.base_proposal
    return base.phase == Phase.CLOSED or (
        base.phase == Phase.WITHDRAWN and not _is_intermediate(instruction)
    )


def _record_mandate(instruction: Instruction, loaded: _Loaded, votes: list[DelegationVote]) -> None:
    """Derive and record the instruction's mandate; under ``system_casts`` cast its bound
    votes (their rows added to ``votes`` for the caller to store). The caller saves the
    instruction's ``mandate``, ``base_vote`` and ``derived_at``."""
    higher = instruction.higher or instruction.sending.proposal
    mandate, vote, policy, extra = _derive(instruction, loaded)
    # Encoded once: the entry holds the same plain data the instruction stores.
    data = canonical.to_jsonable(
        gov.mandate_derived_data(
            mandate,
            policy=policy,
            window=None if extra else gov.VoteWindow.from_canonical(instruction.window),
        )
    )
    assert isinstance(data, dict)
    data["base_vote"] = canonical.to_jsonable(vote) if vote is not None else None
    data.update(extra)
    if instruction.listed_id is not None:
        data["listed"] = mandate.content_hash  # a mandate on a listed amendment's text
    ledger.append(
        "mandate.derived", data, organisation=higher.organisation, council=higher.council.key
    )
    instruction.mandate = data["mandate"]
    instruction.base_vote = data["base_vote"]
    instruction.derived_at = timezone.now()
    cast = gov.cast_votes(mandate, policy=policy)
    if instruction.listed_id is not None and higher.pk == instruction.sending.proposal_id:
        cast = ()  # cast in the item only once it is amended to the text (amend_sent_item)
    if cast and higher.phase == Phase.VOTING:
        votes.extend(
            _record_delegation_vote(
                higher,
                instruction.delegation,
                instruction.key,
                vote_cast.ballot,
                vote_cast.weight,
                cast_by="system",
                save=False,
            )
            for vote_cast in cast
        )


def _previous_position(instruction: Instruction, content_hash: str) -> gov.Mandate | None:
    """The delegation's latest instructed mandate on the identical text (same content hash),
    for ``carry_previous_position`` (§3.2): derived earlier, on another item, as the record
    holds it (``konsilo verify`` carries the last such mandate of the record the same way)."""
    row = (
        Instruction.objects.filter(
            key=instruction.key,
            delegation__from_council_id=instruction.delegation.from_council_id,
            derived_at__isnull=False,
            mandate__status="instructed",
            mandate__content_hash=content_hash,
        )
        .exclude(pk=instruction.pk)
        .order_by("-derived_at", "-pk")
        .values_list("mandate", flat=True)
        .first()
    )
    return _stored_mandate(row) if row is not None else None


def _stored_mandate(data: Mapping[str, Any]) -> gov.Mandate:
    """A derived mandate as its instruction keeps it (``Mandate.to_canonical()``), for the
    rules that take it further: a carried position, an amendment outside it. The lots drawn
    for whole votes are not rebuilt: nothing after the derivation reads them."""
    instructed = data.get("instructed_at")
    return gov.Mandate(
        item=str(data["item"]),
        delegation=str(data["delegation"]),
        content_hash=str(data["content_hash"]),
        mode=str(data["mode"]),
        status=str(data["status"]),
        reason=str(data["reason"]),
        weight=Fraction(data["weight"]),
        votes=tuple((dict(v["ballot"]), Fraction(v["weight"])) for v in data["votes"]),
        binding=bool(data["binding"]),
        counted=bool(data["counted"]),
        explanation=str(data["explanation"]),
        method=str(data.get("method", "motion")),
        instructed_at=datetime.fromisoformat(instructed.replace("Z", "+00:00"))
        if instructed
        else None,
        flags=tuple(data.get("flags", ())),
        objections=tuple(data.get("objections", ())),
        rounding_loss={k: Fraction(v) for k, v in data.get("rounding_loss", {}).items()},
        tally={k: Fraction(v) for k, v in data.get("tally", {}).items()},
    )


@transaction.atomic(durable=True)
def derive_mandate_for(*, proposal_id: int) -> Instruction | None:
    """Derive the mandate of the delegation whose instruction vote is ``proposal_id``.

    Level by level: an intermediate council's vote closes only once the mandates of the
    delegations voting in it are derived (``inputs_pending``), so its own mandate is derived
    from final inputs. Idempotent: returns None when the proposal is no instruction vote,
    its vote is not closed (a base's withdrawn for want of voters gives no instruction), the
    mandate was derived already or another worker holds it (deriving it). The tally it
    comes from was written by the close, an earlier transaction, so the mandate follows it
    in the record. Under ``system_casts`` the bound votes are cast in the council the
    delegation sits in, in the same transaction.
    """
    derived = _derive_locked([proposal_id])
    return derived[0] if derived else None


@gc_paused()
@transaction.atomic(durable=True)
def derive_mandates(
    *, proposal_ids: Sequence[int], closed: Closed | None = None
) -> list[Instruction]:
    """`derive_mandate_for` of many instruction votes in one transaction (what the worker
    does when a federation's bases close at one deadline); returns the instructions whose
    mandates it derived. ``closed``: the votes the worker has just closed
    (``decisions.close_open_votes``), taken as they are instead of read again."""
    return _derive_locked(proposal_ids, closed)


def _derive_locked(proposal_ids: Sequence[int], closed: Closed | None = None) -> list[Instruction]:
    ready = [i for i in _locked_instructions(proposal_ids, closed) if _derivable(i)]
    if not ready:
        return []
    loaded = _Loaded.of(ready, closed)
    votes: list[DelegationVote] = []
    # A carried position (§3.2) reads the mandates derived before it, these included: then
    # each is stored as it is derived.
    carrying = any(
        i.policy.get("mandate.no_instruction_behavior") == "carry_previous_position" for i in ready
    )
    with ledger.collected():
        for instruction in ready:
            _record_mandate(instruction, loaded, votes)
            if carrying:
                instruction.save(update_fields=["mandate", "base_vote", "derived_at"])
    if not carrying:
        update_rows(ready, ["mandate", "base_vote", "derived_at"])
    insert_rows(votes)
    return ready


def _record_delegation_vote(
    higher: Proposal,
    delegation: Delegation,
    key: str,
    ballot: Any,
    weight: Fraction,
    *,
    cast_by: str,
    save: bool = True,
) -> DelegationVote:
    """Record a delegation's vote; with ``save=False`` the row is returned unsaved, for the
    caller to store with others in one statement."""
    ballot_key, content = _encoded_ballot(ballot)
    exact = canonical.fraction(weight)
    row = DelegationVote(
        proposal=higher,
        delegation=delegation,
        key=key,
        ballot=content,
        ballot_key=ballot_key,
        weight=exact,
        cast_by=cast_by,
        cast_at=timezone.now(),
    )
    if save:
        row.save(force_insert=True)
    decisions._append(
        higher,
        "delegation.voted",
        {"delegation": key, "ballot": content, "weight": exact},
        "" if cast_by == "system" else cast_by,
    )
    return row


_BALLOTS: dict[tuple[tuple[str, str | None], ...], tuple[str, dict[str, Any]]] = {}


def _encoded_ballot(ballot: Any) -> tuple[str, Any]:
    """A ballot's canonical text and its plain JSON data (as the row and the record hold
    it); the few ballots of strings that bound votes repeat (a choice) encoded once each."""
    items = canonical.string_items(ballot)
    known = _BALLOTS.get(items) if items is not None else None
    if known is not None:
        return known[0], dict(known[1])  # each row and entry its own copy
    text = canonical.dumps_str(ballot)
    content = canonical.loads(text)
    if items is not None and len(_BALLOTS) < 1024:
        _BALLOTS[items] = (text, content)
        content = dict(content)
    return text, content


def _seated_delegate(
    actor: Actor, higher: Proposal, delegation_from: str
) -> tuple[Member, Instruction]:
    """The acting member and the instruction of the delegation of ``delegation_from`` in
    ``higher`` (its current round), refused unless the member holds a delegate seat of it."""
    member = permissions.member_for(actor, higher.organisation)
    instruction = (
        Instruction.objects.select_related(
            "delegation__from_council", "delegation__to_council", "base_proposal", "sending"
        )
        .filter(higher=higher, delegation__from_council__key=delegation_from, listed__isnull=True)
        .order_by("-round")
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
            f"only a delegate of {delegation_from} may act for its delegation", field="delegation"
        )
    return member, instruction


@transaction.atomic(durable=True)
def delegate_cast(
    *, actor: Actor, proposal: Proposal, delegation_from: str, ballot: Any
) -> Breach | None:
    """A delegate casts their delegation's vote (``delegate_casts_checked`` or
    ``delegate_casts_unchecked``).

    The vote is checked against the mandate (``check_delegate_vote``). A vote that follows
    it, or a free or discretionary one, is counted; under ``delegate_casts_checked`` a vote
    against a binding mandate is recorded as a breach (returned) and, the mandate binding
    the delegation's weight, not counted; under ``delegate_casts_unchecked`` it is counted
    as cast, with the departure on the record beside it (``mandate.departed``). On a text
    outside the mandate (an amendment after the bases instructed, §3.10) the vote is checked
    against the settlement instead (``check_out_of_mandate_vote``): the delegation's fallback
    step (an abstention) binds it, discretion lets the delegate decide, flagged for the
    base; with discretion the delegate casts even where the platform casts the delegation's
    bound votes (``system_casts``).
    """
    higher = decisions._locked(proposal)
    decisions._voting_now(higher)
    member, instruction = _seated_delegate(actor, higher, delegation_from)
    sending = instruction.sending
    # The vote on an amended text goes ahead at its opening: settled here if the periodic
    # task has not done it yet.
    _settle_if_due(sending, higher)
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    action = _settled_action(sending, instruction)
    if policy.enforcement == "system_casts" and (action is None or not action.discretion):
        raise ConflictError(
            f"the platform casts {instruction.key}'s vote from its mandate (system_casts)"
            + (f": {action.explanation}" if action is not None else ""),
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
    event: gov.MandateBreached | gov.MandateDeparted | gov.DiscretionUsed | None
    if action is not None:
        event = gov.check_out_of_mandate_vote(
            _stored_mandate(instruction.mandate),
            action,
            [(content, weight)],
            item=higher.record_id,
            delegate=member.record_id,
            policy=policy,
        )
    else:
        # On a listed amendment's text, the mandate on it binds (§3.10).
        governing = _on_text(sending, [instruction], _latest_text(higher).sha256)[0]
        mandate, _, _, _ = _derive(governing)
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
    if isinstance(event, gov.MandateDeparted):  # unchecked: counted, the base reviews it
        decisions._append(higher, "mandate.departed", event.to_canonical(), member.record_id)
    elif event is not None:  # DiscretionUsed: the base reviews it
        decisions._append(higher, "mandate.discretion_used", event.to_canonical(), member.record_id)
    return None


def derive_due_mandates(*, closed: Closed | None = None) -> int:
    """Derive every mandate whose instruction vote has closed, in transactions of up to 500.

    Run by the closing task after it closes votes (``closed``: those votes, as closed);
    safe to run any number of times, in several workers at once. A batch that fails is
    derived again vote by vote, so one broken mandate never stops the others. Returns how
    many mandates this run derived.
    """
    # Lower levels close first, so their mandates come before those of the councils above.
    due = list(
        Instruction.objects.filter(
            derived_at__isnull=True, base_proposal__phase__in=(Phase.CLOSED, Phase.WITHDRAWN)
        )
        .order_by("base_proposal__closes_at", "pk")
        .values_list("base_proposal_id", flat=True)
    )
    if closed:
        # The votes this worker has just closed first (it holds them as closed); another
        # worker closing at once derives those it closed (see `_locked_instructions`).
        due.sort(key=lambda pk: pk not in closed)
    return in_batches(
        due,
        lambda chunk: derive_mandates(proposal_ids=chunk, closed=closed),
        lambda pk: derive_mandate_for(proposal_id=pk),
        "could not derive the mandate of instruction vote %s",
        what="derive the mandates of votes",
    )


# -- amendments outside the mandates (§3.10) --------------------------------------------------


def _top_instructions(sending: Sending) -> list[Instruction]:
    """The delegations voting in the sent item itself, of the sending's current round, in
    the order of their keys' code points (as the replay orders them, whatever the database's
    collation)."""
    rows = Instruction.objects.filter(
        sending=sending, higher_id=sending.proposal_id, round=sending.round, listed__isnull=True
    ).select_related("delegation__from_council", "delegation__to_council", "base_proposal")
    return sorted(rows, key=lambda i: i.key)


def _listed_top(sending: Sending) -> list[Instruction]:
    """The instructions on the amendments listed in the sending's current round, of the
    delegations voting in the sent item, in the order the amendments were listed."""
    return list(
        Instruction.objects.filter(
            sending=sending,
            higher_id=sending.proposal_id,
            round=sending.round,
            listed__isnull=False,
        )
        .select_related(
            "delegation__from_council", "delegation__to_council", "base_proposal", "listed"
        )
        .order_by("listed__number", "pk")
    )


def _on_text(
    sending: Sending,
    instructions: Sequence[Instruction],
    voted_hash: str,
    listed: Sequence[Instruction] | None = None,
) -> list[Instruction]:
    """For each delegation (its instruction on the text sent), the instruction whose
    mandate governs its vote on ``voted_hash`` (``mandate_on_text``): the one on a listed
    amendment with that text, else the one on the text sent (outside it, unless it covers
    the text). Mandates not derived yet govern nothing."""
    if listed is None:
        listed = _listed_top(sending)
    by_key: dict[str, list[Instruction]] = {}
    for row in listed:
        if row.mandate is not None:
            by_key.setdefault(row.key, []).append(row)
    out = []
    for instruction in instructions:
        versions = [instruction, *by_key.get(instruction.key, ())]
        if instruction.mandate is None or len(versions) == 1:
            out.append(instruction)
            continue
        chosen = gov.mandate_on_text(
            [_stored_mandate(v.mandate) for v in versions if v.mandate is not None],
            voted_hash=voted_hash,
            policy=gov.MandatePolicy.from_canonical(instruction.policy),
        )
        out.append(
            next(
                v
                for v in versions
                if v.mandate is not None and v.mandate["content_hash"] == chosen.content_hash
            )
        )
    return out


def _represented(instruction: Instruction) -> Fraction:
    """The members a delegation speaks for on the item, from the censuses its instruction
    votes froze: a base's voters when its vote opened (none when it could not be held), an
    intermediate council's the sum over the delegations voting in it."""
    if _is_intermediate(instruction):
        below = Instruction.objects.filter(higher=instruction.base_proposal).select_related(
            "base_proposal"
        )
        return sum((_represented(i) for i in below), Fraction(0))
    census = instruction.base_proposal.census
    return Fraction(census["total_weight"]) if census else Fraction(0)


def _requests(sending: Sending, voted_hash: str) -> dict[int, PostponementRequest]:
    return {
        r.instruction_id: r
        for r in PostponementRequest.objects.filter(sending=sending, voted_sha256=voted_hash)
    }


def _delegations(
    sending: Sending, instructions: list[Instruction], voted_hash: str
) -> list[tuple[gov.Mandate, gov.MandatePolicy, Fraction]]:
    """Every delegation voting in the item as ``settle_out_of_mandate`` takes it: its
    mandate, the steps it took (a delegation that did not ask for time goes on to its
    fallback) and the members it represents."""
    asked = _requests(sending, voted_hash)
    out = []
    for instruction in instructions:
        assert instruction.mandate is not None
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        if instruction.pk not in asked:
            policy = without_asking(policy)
        out.append((_stored_mandate(instruction.mandate), policy, _represented(instruction)))
    return out


def _settle(
    sending: Sending, higher: Proposal, instructions: list[Instruction], voted_hash: str
) -> gov.OutOfMandateVote:
    """The vote on ``voted_hash`` settled for every delegation (``settle_out_of_mandate``):
    postponed when those that asked represent the policy's share of the members."""
    threshold = gov.MandatePolicy.from_canonical(instructions[0].policy).postponement_threshold
    return gov.settle_out_of_mandate(
        _delegations(sending, _on_text(sending, instructions, voted_hash), voted_hash),
        item=higher.record_id,
        voted_hash=voted_hash,
        threshold=threshold,
    )


def _settled_action(sending: Sending, instruction: Instruction) -> gov.OutOfMandate | None:
    """What the settlement of the vote on an amended text gives this delegation (None when
    the vote was not settled, or the text is within its mandate)."""
    settled = sending.settlement
    if settled is None or instruction.mandate is None:
        return None
    if not any(a["delegation"] == instruction.key for a in settled["actions"]):
        return None
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    if not PostponementRequest.objects.filter(
        instruction=instruction, voted_sha256=settled["voted_hash"]
    ).exists():
        policy = without_asking(policy)
    return gov.out_of_mandate(
        _stored_mandate(instruction.mandate), voted_hash=settled["voted_hash"], policy=policy
    )


def _covers(instruction: Instruction, voted_hash: str) -> bool:
    """Whether the delegation's mandate covers the text voted on (its own text, or free)."""
    assert instruction.mandate is not None
    mandate = _stored_mandate(instruction.mandate)
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    return gov.out_of_mandate(mandate, voted_hash=voted_hash, policy=policy) is None


def _withdraw_votes(higher: Proposal, instructions: Iterable[Instruction]) -> list[dict[str, Any]]:
    """Remove the delegations' votes cast in ``higher`` (the record keeps them, and says
    they were withdrawn in the entry that withdraws them)."""
    withdrawn: list[dict[str, Any]] = []
    for instruction in instructions:
        rows = DelegationVote.objects.filter(proposal=higher, delegation=instruction.delegation)
        withdrawn.extend(
            {"delegation": row.key, "ballot": row.ballot, "weight": row.weight}
            for row in rows.order_by("pk")
        )
        rows.delete()
    return withdrawn


def _may_amend(actor: Actor, proposal: Proposal) -> Member | None:
    """The item's author amends it while they sit in its council, or a steward (returns
    the acting member, if any)."""
    member = permissions.member_for(actor, proposal.organisation)
    if permissions.is_steward(actor, proposal.organisation):
        return member
    if member is not None and member.pk == proposal.author_id:
        if permissions.is_council_member(actor, proposal.council):
            return member
        raise PermissionDeniedError(
            f"you no longer sit in {proposal.council.name}, so you cannot amend its item",
            field="text",
        )
    raise PermissionDeniedError(
        "only the item's author or a steward may amend its text", field="text"
    )


@transaction.atomic(durable=True)
def amend_sent_item(*, actor: Actor, proposal: Proposal, text: str) -> TextVersion:
    """The higher council amends the text of an item it sent, after its bases instructed
    and before its vote opens (domain-rules §3.10). Every version stays, with its hash.

    The mandates cover the text the bases instructed on, so the vote on the new text is
    outside the mandate of every delegation that is not free: its votes cast on the old
    text are withdrawn (listed in the ``proposal.amended`` entry), and the delegation
    follows its ``mandate.out_of_mandate_amendment`` steps. The platform asks to postpone
    for the delegations whose votes it casts (``system_casts``, when the steps ask for it);
    delegates who cast their delegation's vote ask themselves
    (``request_postponement``). The vote is postponed (``vote.postponed``) as soon as the
    delegations asking represent ``mandate.postponement_threshold`` of the members; else
    it goes ahead on the new text when it opens (``settle_amended_vote``). An amendment
    back to a text a mandate covers casts its bound votes again.

    Refused (409) for an item not sent, an instruction vote (its text is the one sent from
    above), before every delegation voting in the item has its mandate, and once its vote
    has opened.
    """
    higher = decisions._locked(proposal)
    member = _may_amend(actor, higher)
    sending = Sending.objects.filter(proposal=higher).first()
    if sending is None:
        sent_down = Instruction.objects.filter(base_proposal=higher).select_related(
            "sending__proposal__council"
        )
        above = sent_down.first()
        if above is not None:
            name = above.sending.proposal.council.name
            raise ConflictError(
                f"this instruction vote is on the text {name} sent down; only {name} can amend it",
                field="proposal",
            )
        raise ConflictError(
            "this item was not sent to the bases: revise its text while it is in discussion",
            field="proposal",
        )
    decisions._require_phase(higher, Phase.VOTING, doing="amend a sent item")
    now = timezone.now()
    assert higher.voting_opened_at is not None
    if now >= higher.voting_opened_at:
        raise ConflictError(
            f"the vote opened at {higher.voting_opened_at.isoformat()}; the text it votes on "
            "can no longer change",
            field="text",
        )
    text = decisions._text(text, field="text", limit=decisions.MAX_TEXT)
    last = _latest_text(higher)
    if last.text == text:
        raise ConflictError("text: this is the current text already", field="text")
    instructions = _top_instructions(sending)
    listed = _listed_top(sending)
    pending = [i for i in [*instructions, *listed] if i.mandate is None]
    if pending:
        closes = max(i.base_proposal.closes_at for i in pending if i.base_proposal.closes_at)
        raise ConflictError(
            "the councils below have not all instructed yet (no mandate of "
            f"{', '.join(sorted({i.key for i in pending}))}; their instruction votes close by "
            f"{closes.isoformat()}): amend the text once every delegation has its mandate",
            field="text",
        )
    digest = ledger.store_text(text)
    version = TextVersion.objects.create(
        proposal=higher,
        number=last.number + 1,
        text=text,
        sha256=digest,
        author=member if member is not None else higher.author,
        created_at=now,
    )
    # Each delegation's vote on the new text is governed by its mandate on the text sent
    # or, for a listed amendment's text, by its mandate on that amendment (§3.10).
    before = _on_text(sending, instructions, last.sha256, listed)
    after = _on_text(sending, instructions, digest, listed)
    outside = [i for i in after if not _covers(i, digest)]
    # Votes cast under another mandate than the one now governing are withdrawn too.
    moved = [a for a, b in zip(after, before, strict=True) if a in outside or a.pk != b.pk]
    withdrawn = _withdraw_votes(higher, moved)
    matched = next((i.listed for i in listed if i.listed and i.listed.sha256 == digest), None)
    decisions._append(
        higher,
        "proposal.amended",
        {
            "version": version.number,
            "text_sha256": digest,
            "previous_sha256": last.sha256,
            "outside_mandate": [i.key for i in outside],
            "withdrawn": withdrawn,
            **({"listed": matched.label} if matched is not None else {}),
        },
        decisions._record_id(actor, member),
    )
    for instruction in after:
        if instruction in outside:
            continue
        # Back to a text this mandate covers (the text sent, or a listed amendment's): its
        # bound votes are cast.
        voted = DelegationVote.objects.filter(proposal=higher, delegation=instruction.delegation)
        if voted.exists():
            continue
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        assert instruction.mandate is not None
        for cast in gov.cast_votes(_stored_mandate(instruction.mandate), policy=policy):
            _record_delegation_vote(
                higher,
                instruction.delegation,
                instruction.key,
                cast.ballot,
                cast.weight,
                cast_by="system",
            )
    sending.out_of_mandate_since = now if outside else None
    sending.save(update_fields=["out_of_mandate_since"])
    for instruction in outside:
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        if policy.enforcement == "system_casts":
            _ask(sending, higher, instruction, digest, requested_by="system", now=now)
    if outside:
        _postpone_if_granted(sending, higher, instructions, digest, now=now)
    return version


def _ask(
    sending: Sending,
    higher: Proposal,
    instruction: Instruction,
    voted_hash: str,
    *,
    requested_by: str,
    now: datetime,
) -> PostponementRequest | None:
    """Record the delegation's request for time on ``voted_hash`` (its events from
    ``out_of_mandate``); None when its steps do not ask for time."""
    assert instruction.mandate is not None
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    action = gov.out_of_mandate(
        _stored_mandate(instruction.mandate), voted_hash=voted_hash, policy=policy
    )
    if action is None or not action.events:
        return None
    events = [e.to_canonical() for e in action.events]
    row = PostponementRequest.objects.create(
        sending=sending,
        instruction=instruction,
        voted_sha256=voted_hash,
        requested_by=requested_by,
        events=_plain(events),
        requested_at=now,
    )
    decisions._append(
        higher,
        "postponement.requested",
        {
            "delegation": instruction.key,
            "voted_hash": voted_hash,
            "events": events,
            "represented": canonical.fraction(_represented(instruction)),
            "requested_by": requested_by,
        },
        "" if requested_by == "system" else requested_by,
    )
    return row


def _settlement_data(
    sending: Sending, instructions: list[Instruction], settled: gov.OutOfMandateVote
) -> dict[str, Any]:
    """What the entries settling or postponing a vote carry besides the settlement: the
    members each delegation represents and who asked for time."""
    asked = _requests(sending, settled.voted_hash)
    return {
        "voted_hash": settled.voted_hash,
        "settlement": settled.to_canonical(),
        "represented": {i.key: canonical.fraction(_represented(i)) for i in instructions},
        "requested": {i.key: asked[i.pk].requested_by for i in instructions if i.pk in asked},
    }


def _postpone_if_granted(
    sending: Sending,
    higher: Proposal,
    instructions: list[Instruction],
    voted_hash: str,
    *,
    now: datetime,
) -> bool:
    """Postpone the vote on ``voted_hash`` if the delegations asking represent enough."""
    settled = _settle(sending, higher, instructions, voted_hash)
    if settled.postponed:
        _postpone(sending, higher, instructions, settled, now=now)
    return settled.postponed


def _earliest_schedule(layout: _Layout, now: datetime) -> gov.Schedule:
    """The schedule of a re-sending: the item's vote opens as soon as every council below
    has its deliberation window and its vote window again, counted from ``now``."""
    horizon = sum(
        (
            t.vote_window + t.instruction_deadline + t.deliberation_window
            for t in layout.timing.values()
        ),
        timedelta(0),
    )
    trial = gov.cascade_deadlines(
        layout.schedule_graph,
        top=layout.top,
        published_at=now,
        opens_at=now + horizon,
        timing=layout.timing,
    )
    top_opens = trial.councils[layout.top].opens_at
    # Each council's deadline lies a fixed time before the top vote opens; it needs its
    # deliberation window, and its whole vote window, after now.
    lead = max(
        (
            (top_opens - c.instruction_deadline) + max(c.needed, c.closes_at - c.opens_at)
            for c in trial.councils.values()
            if c.instruction_deadline is not None
        ),
        default=timedelta(0),
    )
    return gov.cascade_deadlines(
        layout.schedule_graph,
        top=layout.top,
        published_at=now,
        opens_at=now + lead,
        timing=layout.timing,
    )


def _postpone(
    sending: Sending,
    higher: Proposal,
    instructions: list[Instruction],
    settled: gov.OutOfMandateVote,
    *,
    now: datetime,
) -> None:
    """Postpone the vote and re-send the amended text to every council below (§3.10).

    The re-sending is the sending's next round: every council below gets a new instruction
    vote on the text now voted on, scheduled again from now with every council's
    deliberation window (the item's vote opens at the earliest such time), to the same
    delegations with the weights the item's census froze. Nobody's vote on the postponed
    text stands: any cast is withdrawn. Refused (409) when the councils below have changed
    since the item was sent, as the re-sending could then not reach the same delegations.
    """
    layout = _layout(higher, sending.composition)
    previous = {
        i.key: i
        for i in Instruction.objects.filter(
            sending=sending, round=sending.round, listed__isnull=True
        )
    }
    keys = {gov.delegation_key(k, v) for k, v in layout.plan.items()}
    if keys != set(previous):
        changed = sorted(keys ^ set(previous))
        raise ConflictError(
            f"the vote cannot be re-sent to the bases: the delegations below "
            f"{higher.council.name} changed since the item was sent ({', '.join(changed)})",
            field="proposal",
        )
    schedule = _earliest_schedule(layout, now)
    withdrawn = _withdraw_votes(higher, instructions)
    sending.round += 1
    sending.schedule = _plain(schedule.to_canonical())
    sending.out_of_mandate_since = None
    sending.settlement = None
    sending.save(update_fields=["round", "schedule", "out_of_mandate_since", "settlement"])
    text = _latest_text(higher)
    items, opened, _ = _cascade(
        sending,
        higher,
        layout=layout,
        schedule=schedule,
        text=text,
        now=now,
        census=None,
        weights={key: Fraction(i.weight) for key, i in previous.items()},
    )
    top = schedule.councils[layout.top]
    higher.voting_opened_at, higher.closes_at = top.opens_at, top.closes_at
    higher.save(update_fields=["voting_opened_at", "closes_at"])
    decisions._append(
        higher,
        "vote.postponed",
        {
            **_settlement_data(sending, instructions, settled),
            "round": sending.round,
            "withdrawn": withdrawn,
            "opens_at": top.opens_at,
            "closes_at": top.closes_at,
            **_inline_or_stored("schedule", schedule.to_canonical()),
            **_inline_or_stored(
                "cascade",
                {
                    gov.delegation_key(k, v): items[k].record_id
                    for k, v in sorted(layout.plan.items())
                },
            ),
        },
        "",
    )
    refused = _open_member_votes(opened, now=now)
    if refused:
        raise refused[0][1]


@transaction.atomic(durable=True)
def request_postponement(
    *, actor: Actor, proposal: Proposal, delegation_from: str
) -> PostponementRequest:
    """A delegate asks to postpone the vote on a text outside their delegation's mandate
    so that its base can instruct on it (§3.10), before the vote opens.

    Only a delegation whose ``mandate.out_of_mandate_amendment`` steps ask for time
    (``request_postponement`` or ``refer_back``) asks, once per text; the platform asks for
    the delegations whose votes it casts. The vote is postponed, and the text re-sent to the
    bases, once the delegations asking represent ``mandate.postponement_threshold`` of the
    members (the returned request's sending is then in its next round).
    """
    higher = decisions._locked(proposal)
    member, instruction = _seated_delegate(actor, higher, delegation_from)
    sending = Sending.objects.select_for_update().get(pk=instruction.sending_id)
    if sending.proposal_id != higher.pk:
        raise ConflictError(
            "only the vote on the item sent can be postponed; this is an instruction vote",
            field="proposal",
        )
    decisions._require_phase(higher, Phase.VOTING, doing="ask to postpone the vote")
    now = timezone.now()
    assert higher.voting_opened_at is not None
    if now >= higher.voting_opened_at:
        raise ConflictError(
            f"the vote opened at {higher.voting_opened_at.isoformat()}; a postponement can be "
            "asked for until it opens",
            field="delegation",
        )
    if instruction.round != sending.round or instruction.mandate is None:
        raise ConflictError(
            f"{instruction.key} has no mandate on the text voted on yet: its instruction vote "
            f"closes at {instruction.base_proposal.closes_at.isoformat()}",
            field="delegation",
        )
    voted = _latest_text(higher).sha256
    policy = gov.MandatePolicy.from_canonical(instruction.policy)
    governing = _on_text(sending, [instruction], voted)[0]
    assert governing.mandate is not None
    action = gov.out_of_mandate(_stored_mandate(governing.mandate), voted_hash=voted, policy=policy)
    if action is None:
        raise ConflictError(
            f"{instruction.key}'s mandate covers the text voted on ({voted[:12]}): there is "
            "nothing to postpone",
            field="delegation",
        )
    if not action.events:
        steps = ", ".join(policy.out_of_mandate_amendment)
        raise ConflictError(
            f"{instruction.key}'s mandate.out_of_mandate_amendment is {steps}: it does not ask "
            "for time, so it does not postpone",
            field="delegation",
        )
    if PostponementRequest.objects.filter(instruction=instruction, voted_sha256=voted).exists():
        raise ConflictError(
            f"{instruction.key} has asked to postpone the vote on this text already",
            field="delegation",
        )
    row = _ask(sending, higher, instruction, voted, requested_by=member.record_id, now=now)
    assert row is not None
    _postpone_if_granted(sending, higher, _top_instructions(sending), voted, now=now)
    return row


def _settle_if_due(sending: Sending, higher: Proposal) -> bool:
    """Settle the vote on an amended text once it opens, in the caller's transaction (the
    sent item locked): returns whether it settled (or postponed) it now."""
    if sending.proposal_id != higher.pk:
        return False  # an intermediate council's vote: only the item sent is amended
    if sending.out_of_mandate_since is None or sending.settlement is not None:
        return False
    now = timezone.now()
    if higher.phase != Phase.VOTING or higher.voting_opened_at is None:
        return False
    if now < higher.voting_opened_at:
        return False
    instructions = _top_instructions(sending)
    voted = _latest_text(higher).sha256
    settled = _settle(sending, higher, instructions, voted)
    if settled.postponed:  # asked for enough before it opened: postponed now
        _postpone(sending, higher, instructions, settled, now=now)
        return True
    sending.settlement = _plain(settled.to_canonical())
    sending.save(update_fields=["settlement"])
    decisions._append(
        higher, "out_of_mandate.settled", _settlement_data(sending, instructions, settled), ""
    )
    by_key = {i.key: i for i in instructions}
    for action in settled.actions:
        instruction = by_key[action.delegation]
        policy = gov.MandatePolicy.from_canonical(instruction.policy)
        if policy.enforcement != "system_casts" or action.discretion:
            continue  # the delegate casts, checked against the settlement (delegate_cast)
        for ballot, weight in action.votes:
            _record_delegation_vote(
                higher, instruction.delegation, instruction.key, ballot, weight, cast_by="system"
            )
    return True


@transaction.atomic(durable=True)
def settle_amended_vote(*, proposal_id: int) -> Sending | None:
    """Settle the vote on a sent item's amended text when it opens (§3.10). Idempotent.

    Not postponed, every delegation whose mandate does not cover the text follows its next
    step (``settle_out_of_mandate``, written as ``out_of_mandate.settled``): under
    ``system_casts`` the platform casts its abstention; with discretion the delegate
    decides, flagged; a delegate who casts is checked against it (``delegate_cast``).
    Returns None when there is nothing to settle (yet).
    """
    higher = (
        Proposal.objects.select_for_update()
        .select_related("council", "organisation")
        .filter(pk=proposal_id)
        .first()
    )
    sending = Sending.objects.filter(proposal_id=proposal_id).first()
    if higher is None or sending is None or not _settle_if_due(sending, higher):
        return None
    return sending


def settle_due_amendments() -> int:
    """Settle every vote on an amended text whose opening has come; each in its own
    transaction. Run by the periodic task with the openings; safe to run any number of
    times. Returns how many this run settled."""
    due = Sending.objects.filter(
        out_of_mandate_since__isnull=False,
        settlement__isnull=True,
        proposal__phase=Phase.VOTING,
        proposal__voting_opened_at__lte=timezone.now(),
    ).order_by("proposal__voting_opened_at", "pk")
    return each(
        due.values_list("proposal_id", flat=True),
        lambda pk: settle_amended_vote(proposal_id=pk),
        "could not settle the vote on the amended text of proposal %s",
    )
