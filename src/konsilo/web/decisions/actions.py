"""Every change to proposals, discussions, ballots, tallies and minority reports.

Each action is one durable transaction: check permission, load state, call the pure core
(konsilo.counting.tally, konsilo.governance), save, and append what changed to the record in
the same transaction.

Phases: draft → discussion → voting → closed, and draft or discussion → withdrawn. Nothing
else is allowed. A draft reaches the agenda (discussion) once seconded by the number of members
the policy asks (``agenda.member_item_right``); voting opens no earlier than
``agenda.min_notice`` after that, stays open ``timing.vote_window`` (``consent.timebox`` for
consent rounds), can be extended once, and is closed at its deadline by the worker
(``tasks.close_due_votes``).

Secret ballots: the member receives a receipt code once, in the answer to the cast. The
server keeps only its SHA-256 in the ballot row, which names no member; to change the ballot
the member enters the receipt again. The code is never put in the session or anywhere else
on the server, so nothing stored links the member to the ballot. That the member took part is
recorded at once (``ballot.participated``); the secret ballots themselves are recorded when the
vote closes, all together and shuffled (``ballot.cast`` with the receipt's hash), so neither a
batch of the record nor its time links a ballot to a participation. Each member then finds
their ballot in the record by the SHA-256 of their receipt.

Lots: a count that may have to draw lots (IRV, STV) opens with no seed. At the close
(``close_vote``) a ``vote.closed`` entry is written, after every ballot; the seed is the
item's id with the SHA-256 of the first checkpoint the record signs over that entry
(``counting.tiebreak.closing_seed``), and the tally, written after that checkpoint, carries
it in its rule. Nobody can know the draw while they can still vote, and ``konsilo verify``
derives the same seed from the published checkpoint.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import math
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from konsilo import canonical
from konsilo import governance as gov
from konsilo.counting import closing_seed, tally
from konsilo.counting.result import Result
from konsilo.web.bulk import gc_paused, update_rows
from konsilo.web.councils import permissions
from konsilo.web.councils import selectors as council_selectors
from konsilo.web.councils.actions import Actor
from konsilo.web.councils.models import (
    Council,
    Delegation,
    Member,
    Membership,
    Office,
    Organisation,
    PolicyVersion,
)
from konsilo.web.decisions.models import (
    Ballot,
    Comment,
    CoSignature,
    MinorityReport,
    Participation,
    Proposal,
    Second,
    SecretBallot,
    TextVersion,
    VoterRoll,
)
from konsilo.web.errors import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from konsilo.web.ledger import actions as ledger
from konsilo.web.ledger.models import Checkpoint, Entry
from konsilo.web.ledger.sequencer import SequencerRefusedError, sequence

Phase = Proposal.Phase
Shape = Proposal.Shape

# Decision types a proposal may have; elections and recalls have their own flows.
DECISION_TYPES = (
    "ordinary_motion",
    "instruction",
    "amend_or_rescind",
    "policy",
    "statutes",
    "referendum",
    "constitutional",
    "expulsion",
    "dissolution",
)
# The policy sections a proposal keeps with it.
POLICY_SECTIONS = ("quorum", "decision_rule", "consent", "agenda", "secrecy", "minority", "timing")
MOTION_RULES = (
    "simple_majority",
    "absolute_majority",
    "supermajority",
    "supermajority_of_members",
    "unanimity",
)
SHAPE_METHODS = {
    Shape.YES_NO_ABSTAIN: "motion",
    Shape.CONSENT: "consent",
    Shape.MULTI_OPTION: "plurality",
    Shape.APPROVAL: "approval",
    Shape.RANKED: "schulze",
    Shape.SCORE: "score",
    Shape.DOT_VOTE: "dot_vote",
    Shape.BUDGET: "budget",
}
OPTION_SHAPES = (
    Shape.MULTI_OPTION,
    Shape.APPROVAL,
    Shape.RANKED,
    Shape.SCORE,
    Shape.DOT_VOTE,
    Shape.BUDGET,
)
STATUS_QUO = "status_quo"
SCORE_RANGE = (0, 10)
MAX_TITLE = 200
MAX_TEXT = 100_000
MAX_COMMENT = 10_000
# A census bigger than this is recorded as a long text, by its hash.
_INLINE_CENSUS_BYTES = 30_000
# Counts that settle the ties an elimination leaves by lot; their seed is made at the close.
LOT_METHODS = frozenset({"irv", "stv"})

TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    Phase.DRAFT: (Phase.DISCUSSION, Phase.WITHDRAWN),
    Phase.DISCUSSION: (Phase.VOTING, Phase.WITHDRAWN),
    Phase.VOTING: (Phase.CLOSED,),
    Phase.CLOSED: (),
    Phase.WITHDRAWN: (),
}


# -- helpers ----------------------------------------------------------------------------------


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(value: str, *, field: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInputError(f"{field}: expected some text, got none", field=field)
    if len(value) > limit:
        raise InvalidInputError(
            f"{field}: at most {limit} characters, got {len(value)}", field=field
        )
    return value


def _member_of(actor: Actor, council: Council) -> Member:
    """The acting member, who must sit in the council (a base member or a seat holder)."""
    member = permissions.member_for(actor, council.organisation)
    if member is None or not permissions.is_council_member(actor, council):
        raise PermissionDeniedError(f"only members of {council.name} may do this", field="council")
    return member


def can_moderate(actor: Actor, council: Council) -> bool:
    """Stewards, and the council's co-chairs and officers, moderate its discussions."""
    if permissions.is_steward(actor, council.organisation):
        return True
    member = permissions.member_for(actor, council.organisation)
    if member is None:
        return False
    return Office.objects.filter(
        member=member,
        council=council,
        kind__in=(Office.Kind.CO_CHAIR, Office.Kind.OFFICER),
        end__isnull=True,
    ).exists()


def _require_phase(proposal: Proposal, *phases: str, doing: str) -> None:
    if proposal.phase not in phases:
        raise ConflictError(
            f"cannot {doing}: the proposal is in phase {proposal.phase}, "
            f"and this needs {' or '.join(phases)}",
            field="phase",
        )


def _move(proposal: Proposal, to: str) -> str:
    """Change the phase if the transition is allowed; return the phase it left."""
    if to not in TRANSITIONS[proposal.phase]:
        allowed = ", ".join(TRANSITIONS[proposal.phase]) or "none (it is final)"
        raise ConflictError(
            f"a proposal in phase {proposal.phase} cannot move to {to}; allowed: {allowed}",
            field="phase",
        )
    before = proposal.phase
    proposal.phase = to
    return before


def _locked(proposal: Proposal) -> Proposal:
    return (
        Proposal.objects.select_for_update()
        .select_related("council", "organisation")
        .get(pk=proposal.pk)
    )


def _locked_for_ballot(proposal: Proposal) -> Proposal:
    """The proposal, locked so that its ballots do not wait for each other, but its close
    (and an extension) waits for every ballot in flight, and later ballots for the close.

    On PostgreSQL a shared row lock (FOR SHARE): ballots share it, while closing and
    extending take FOR UPDATE, which waits until every ballot holding it has committed, and
    a ballot arriving meanwhile waits and then reads the closed phase. Held from the check
    that the vote is open until the ballot is committed, so no acknowledged ballot is ever
    missed by the count. SQLite runs one writing transaction at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Proposal._meta.db_table)
            cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [proposal.pk])  # noqa: S608
    # Read after the lock is held: the latest committed phase and deadline.
    return Proposal.objects.select_related("council", "organisation").get(pk=proposal.pk)


def policy_value(proposal: Proposal, name: str) -> Any:
    """A value of the policy the proposal was created under."""
    return gov.parse_value(name, proposal.policy[name])


def _append(proposal: Proposal, entry_type: str, data: Mapping[str, Any], actor: str) -> None:
    ledger.append(
        entry_type,
        {"item": proposal.record_id, **data},
        organisation=proposal.organisation,
        council=proposal.council.key,
        actor=actor,
    )


def _append_unlinkable(proposal: Proposal, entry_type: str, data: Mapping[str, Any]) -> None:
    """Append an entry with no actor, no time and no order of its own (secret ballots).

    The record stores it with a random key and its sequencer shuffles it into its batch.
    """
    ledger.append(
        entry_type,
        {"item": proposal.record_id, **data},
        organisation=proposal.organisation,
        council=proposal.council.key,
        unlinkable=True,
    )


# -- proposals --------------------------------------------------------------------------------


def _resolved_policy(
    council: Council,
    decision_type: str,
    *,
    resolved: gov.ResolvedPolicy | None = None,
    book: council_selectors.PolicyBook | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The policy values a proposal keeps and the versions they come from; ``resolved`` is
    the council's policy for ``decision_type`` when the caller has it already, ``book`` the
    organisation's policies when the caller makes many proposals at once."""
    organisation = council.organisation
    if book is not None:
        resolved = book.resolve(council, decision_type)
    elif resolved is None:
        resolved = council_selectors.resolve_policy(
            organisation, council=council, decision_type=decision_type
        )

    def latest(scope: str, target: str) -> PolicyVersion | None:
        if book is not None:
            return book.latest(scope, target)
        return council_selectors.latest_version(organisation, scope=scope, target=target)

    values = book.memo.get(("values", id(resolved))) if book is not None else None
    if values is None:
        values = {
            name: gov.dump_value(name, rv.value)
            for name, rv in resolved.items()
            if name.split(".", 1)[0] in POLICY_SECTIONS
        }
        if book is not None:
            book.memo[("values", id(resolved))] = values
    versions: dict[str, Any] = {}
    for scope, target in (
        (PolicyVersion.Scope.ORGANISATION, ""),
        (PolicyVersion.Scope.COUNCIL, council.key),
        (PolicyVersion.Scope.DECISION_TYPE, decision_type),
    ):
        version = latest(scope, target)
        versions[str(scope)] = version.number if version else None
    return dict(values), versions


def _check_options(shape: str, options: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if shape not in OPTION_SHAPES:
        if options:
            raise InvalidInputError(
                f"options: a {shape} proposal takes no options", field="options"
            )
        return []
    if len(options) < 2:
        raise InvalidInputError(
            f"options: a {shape} proposal needs at least 2 options, got {len(options)}",
            field="options",
        )
    out: list[dict[str, Any]] = []
    for i, option in enumerate(options):
        label = _text(str(option.get("label", "")), field=f"options[{i}].label", limit=200)
        item: dict[str, Any] = {"key": f"o{i + 1}", "label": label}
        if shape == Shape.BUDGET:
            try:
                cost = tally.parse_exact(str(option.get("cost", "")).strip(), field="cost")
            except tally.TallyError:
                raise InvalidInputError(
                    f"options[{i}].cost: expected a whole or exact amount such as 1200, "
                    f"got {option.get('cost')!r}",
                    field=f"options[{i}].cost",
                ) from None
            if cost <= 0:
                raise InvalidInputError(
                    f"options[{i}].cost: expected a positive amount", field=f"options[{i}].cost"
                )
            item["cost"] = canonical.fraction(cost)
        out.append(item)
    if len({o["label"] for o in out}) != len(out):
        raise InvalidInputError("options: two options have the same label", field="options")
    return out


def _check_rule_fits(shape: str, policy: Mapping[str, Any], decision_type: str) -> None:
    rule = gov.parse_value("decision_rule.rule", policy["decision_rule.rule"])
    secret = policy["secrecy.ballot"] == "secret"
    if shape == Shape.YES_NO_ABSTAIN and rule.name not in MOTION_RULES:
        raise InvalidInputError(
            f"ballot_shape: {decision_type} items in this council are decided by {rule}; "
            "a yes/no/abstain vote needs a majority rule",
            field="ballot_shape",
        )
    if shape == Shape.CONSENT:
        if rule.name not in ("consent", "consensus"):
            raise InvalidInputError(
                f"ballot_shape: {decision_type} items in this council are decided by {rule}; "
                "a consent round needs the consent or consensus rule",
                field="ballot_shape",
            )
        if secret:
            raise InvalidInputError(
                "ballot_shape: consent rounds are open by nature, but the policy makes "
                f"{decision_type} ballots secret",
                field="ballot_shape",
            )
    if shape != Shape.CONSENT and rule.name in ("consent", "consensus"):
        raise InvalidInputError(
            f"ballot_shape: {decision_type} items in this council are decided by {rule}; "
            "use the consent ballot shape",
            field="ballot_shape",
        )


@transaction.atomic(durable=True)
def create_proposal(
    *,
    actor: Actor,
    council: Council,
    title: str,
    text: str,
    decision_type: str = "ordinary_motion",
    ballot_shape: str = Shape.YES_NO_ABSTAIN,
    options: Sequence[Mapping[str, Any]] = (),
    budget: str | None = None,
    dots: int | None = None,
    alternative_to: Proposal | None = None,
    supersedes: Proposal | None = None,
) -> Proposal:
    """A member drafts an item for their council, under the policy in force now."""
    member = _member_of(actor, council)
    title = _text(title, field="title", limit=MAX_TITLE)
    text = _text(text, field="text", limit=MAX_TEXT)
    if alternative_to is not None:
        if alternative_to.council_id != council.pk:
            raise InvalidInputError(
                "alternative_to: an alternative belongs to the same council's item",
                field="alternative_to",
            )
        if alternative_to.alternative_to_id is not None:
            raise InvalidInputError(
                "alternative_to: name the main item, not another alternative",
                field="alternative_to",
            )
        _require_phase(alternative_to, Phase.DRAFT, Phase.DISCUSSION, doing="add an alternative")
        if alternative_to.ballot_shape not in (Shape.YES_NO_ABSTAIN, Shape.RANKED):
            raise InvalidInputError(
                "alternative_to: only yes/no/abstain and ranked items take competing "
                "alternatives (they are ranked against the status quo)",
                field="alternative_to",
            )
        decision_type, ballot_shape = alternative_to.decision_type, alternative_to.ballot_shape
        options = ()
    if decision_type not in DECISION_TYPES:
        raise InvalidInputError(
            f"decision_type: expected one of {', '.join(DECISION_TYPES)}, got {decision_type!r}",
            field="decision_type",
        )
    if ballot_shape not in Shape.values:
        raise InvalidInputError(
            f"ballot_shape: expected one of {', '.join(Shape.values)}, got {ballot_shape!r}",
            field="ballot_shape",
        )
    if decision_type == "amend_or_rescind":
        if supersedes is None:
            raise InvalidInputError(
                "supersedes: an amend-or-rescind item names the decision it changes",
                field="supersedes",
            )
        if supersedes.council_id != council.pk or supersedes.outcome != "adopted":
            raise InvalidInputError(
                "supersedes: expected an adopted decision of this council", field="supersedes"
            )
    elif supersedes is not None:
        raise InvalidInputError(
            "supersedes: only amend_or_rescind items supersede a decision", field="supersedes"
        )
    checked_options = _check_options(ballot_shape, options)
    budget_total = ""
    if ballot_shape == Shape.BUDGET:
        try:
            total = tally.parse_exact((budget or "").strip(), field="budget")
        except tally.TallyError:
            raise InvalidInputError(
                f"budget: expected the amount to spend, such as 10000, got {budget!r}",
                field="budget",
            ) from None
        if total <= 0:
            raise InvalidInputError("budget: expected a positive amount", field="budget")
        budget_total = canonical.fraction(total)
    if ballot_shape == Shape.DOT_VOTE and (
        dots is None or isinstance(dots, bool) or not 1 <= dots <= 100
    ):
        raise InvalidInputError(
            f"dots: expected each voter's dots, 1 to 100, got {dots!r}", field="dots"
        )
    policy, versions = _resolved_policy(council, decision_type)
    _check_rule_fits(ballot_shape, policy, decision_type)
    now = timezone.now()
    proposal = Proposal.objects.create(
        organisation=council.organisation,
        council=council,
        title=title,
        decision_type=decision_type,
        ballot_shape=ballot_shape,
        options=checked_options,
        budget_total=budget_total,
        dots=dots if ballot_shape == Shape.DOT_VOTE else None,
        author=member,
        alternative_to=alternative_to,
        supersedes=supersedes,
        policy=policy,
        policy_versions=versions,
        secret=policy["secrecy.ballot"] == "secret",
        created_at=now,
    )
    digest = ledger.store_text(text)
    TextVersion.objects.create(
        proposal=proposal, number=1, text=text, sha256=digest, author=member, created_at=now
    )
    _append(
        proposal,
        "proposal.created",
        {
            "council": council.key,
            "title": title,
            "decision_type": decision_type,
            "ballot_shape": ballot_shape,
            "options": checked_options,
            "budget": budget_total or None,
            "dots": proposal.dots,
            "text_sha256": digest,
            "version": 1,
            "author": member.record_id,
            "alternative_to": alternative_to.record_id if alternative_to else None,
            "supersedes": supersedes.record_id if supersedes else None,
            "secret": proposal.secret,
            "policy_versions": versions,
            "policy": policy,
        },
        member.record_id,
    )
    return proposal


@transaction.atomic(durable=True)
def revise_text(*, actor: Actor, proposal: Proposal, text: str) -> TextVersion:
    """The author revises the text before voting; every version stays, with its hash."""
    proposal = _locked(proposal)
    member = _member_of(actor, proposal.council)
    if member.pk != proposal.author_id:
        raise PermissionDeniedError("only the author may revise the text", field="text")
    _require_phase(proposal, Phase.DRAFT, Phase.DISCUSSION, doing="revise the text")
    text = _text(text, field="text", limit=MAX_TEXT)
    last = proposal.versions.order_by("-number").first()
    assert last is not None
    if last.text == text:
        raise ConflictError("text: this is the current text already", field="text")
    digest = ledger.store_text(text)
    version = TextVersion.objects.create(
        proposal=proposal,
        number=last.number + 1,
        text=text,
        sha256=digest,
        author=member,
        created_at=timezone.now(),
    )
    _append(
        proposal,
        "proposal.revised",
        {"version": version.number, "text_sha256": digest, "previous_sha256": last.sha256},
        member.record_id,
    )
    return version


def agenda_admission(proposal: Proposal) -> gov.AgendaDecision:
    """Whether a member's draft may reach the agenda under ``agenda.member_item_right``.

    The rule is the pure core's (``konsilo.governance.member_item_admitted``): seconders are the
    other members who seconded; a petition counts the author as a signer. The base-to-higher-
    council path (endorsement by bases, §2.11) is the federation's and adds its own.
    """
    seconders = proposal.seconds.select_related("member")
    return gov.member_item_admitted(
        policy_value(proposal, "agenda.member_item_right"),
        proposer=proposal.author.record_id,
        supporters={second.member.record_id for second in seconders},
        electorate=max(len(council_selectors.list_council_members(proposal.council)), 1),
    )


def seconds_needed(proposal: Proposal, decision: gov.AgendaDecision | None = None) -> int:
    """How many seconds from other members the draft needs in all (0 when none are)."""
    decision = decision or agenda_admission(proposal)
    author_counts = decision.have - proposal.seconds.count()  # a petition's author signs
    return max(math.ceil(decision.needed - author_counts), 0)


@transaction.atomic(durable=True)
def second_proposal(*, actor: Actor, proposal: Proposal) -> Second:
    """Another member of the council supports putting the draft on the agenda."""
    proposal = _locked(proposal)
    member = _member_of(actor, proposal.council)
    _require_phase(proposal, Phase.DRAFT, doing="second the proposal")
    if member.pk == proposal.author_id:
        raise ConflictError("the author cannot second their own proposal", field="proposal")
    if Second.objects.filter(proposal=proposal, member=member).exists():
        raise ConflictError("you have seconded this proposal already", field="proposal")
    second = Second.objects.create(proposal=proposal, member=member, created_at=timezone.now())
    _append(proposal, "proposal.seconded", {"member": member.record_id}, member.record_id)
    return second


def _actor_may_steer(actor: Actor, proposal: Proposal) -> Member | None:
    """The author moves their item forward; stewards may too (returns the acting member)."""
    member = permissions.member_for(actor, proposal.organisation)
    if member is not None and member.pk == proposal.author_id:
        return member
    if permissions.is_steward(actor, proposal.organisation):
        return member
    raise PermissionDeniedError(
        "only the author or a steward may move this proposal to another phase", field="phase"
    )


def _record_id(actor: Actor, member: Member | None) -> str:
    if member is not None:
        return member.record_id
    return f"u-{actor.pk}" if actor is not None and actor.pk else "operator"


@transaction.atomic(durable=True)
def open_discussion(*, actor: Actor, proposal: Proposal) -> Proposal:
    """Put a seconded draft on the council's agenda: its discussion and notice begin."""
    proposal = _locked(proposal)
    member = _actor_may_steer(actor, proposal)
    decision = agenda_admission(proposal)
    have = proposal.seconds.count()
    if proposal.phase == Phase.DRAFT and not decision.admitted:
        needed = seconds_needed(proposal, decision)
        raise ConflictError(
            f"the proposal needs {needed} second{'s' if needed != 1 else ''} to reach the "
            f"agenda and has {have}",
            field="seconds",
        )
    before = _move(proposal, Phase.DISCUSSION)
    now = timezone.now()
    proposal.discussion_opened_at = now
    proposal.save(update_fields=["phase", "discussion_opened_at"])
    notice = policy_value(proposal, "agenda.min_notice")
    _append(
        proposal,
        "proposal.phase_changed",
        {
            "from": before,
            "to": Phase.DISCUSSION,
            "seconds": have,
            "voting_from": now + notice,
        },
        _record_id(actor, member),
    )
    return proposal


def voting_opens_from(proposal: Proposal) -> Any:
    """The earliest instant voting may open: discussion start plus the minimum notice."""
    if proposal.discussion_opened_at is None:
        return None
    return proposal.discussion_opened_at + policy_value(proposal, "agenda.min_notice")


def _window(proposal: Proposal) -> timedelta:
    name = "consent.timebox" if proposal.ballot_shape == Shape.CONSENT else "timing.vote_window"
    window: timedelta = policy_value(proposal, name)
    return window


def _census_basis(organisation: Organisation) -> str:
    """The census basis of a base's vote, from the organisation's policy
    (``gov.vote_census_basis``)."""
    basis = council_selectors.resolve_policy(organisation).value(
        "structure.represented_count_basis"
    )
    return gov.vote_census_basis(basis)


# A voter of a frozen census: member id, record id and weight.
Voter = tuple[int, str, Fraction]


def _census(proposal: Proposal, on: date) -> tuple[str, list[Voter]]:
    """Who may vote on day ``on``, with what weight: a base's members, or a delegate
    council's seats (``gov.delegate_vote_weights``)."""
    council = proposal.council
    # A base: no council sends a delegation to it (``CouncilGraph.is_base``).
    if not Delegation.objects.filter(to_council=council).exists():
        return base_censuses([proposal], on=on)[proposal.pk]
    holders = Office.objects.filter(council=council, kind=Office.Kind.DELEGATE).select_related(
        "member"
    )
    seats = [(o.member.record_id, o.start, o.end) for o in holders]
    weights = gov.delegate_vote_weights(seats, on=on)
    members = {o.member.record_id: o.member for o in holders}
    return "enrolled_delegates", [(members[r].pk, r, Fraction(w)) for r, w in weights.items()]


def base_censuses(
    bases: Sequence[Proposal],
    *,
    on: date | None = None,
    root_bases: Callable[[Mapping[int, set[str]]], Mapping[int, Collection[str]]] | None = None,
) -> dict[int, tuple[str, list[Voter]]]:
    """Who may vote on day ``on`` (today when None) in each of these bases' votes (of one
    organisation), with what weight (``gov.base_vote_weights``), in a few queries however
    many bases.

    ``root_bases`` (items that travel up to a decision root): given, for each base's
    proposal, the other primary bases of its members, those that are below the same root;
    their members weigh 0 there (§3.4).
    """
    if not bases:
        return {}
    basis = _census_basis(bases[0].organisation)
    today = on or timezone.localdate()
    councils = {b.council_id: b for b in bases}
    members_of: dict[int, list[int]] = {}
    for council_id, member_id in Membership.objects.filter(
        council_id__in=list(councils)
    ).values_list("council_id", "member_id"):
        members_of.setdefault(council_id, []).append(member_id)
    # Every membership of these bases' members, their other bases too (each one's single
    # primary base is checked), and nothing of the rest of the organisation.
    rows = Membership.objects.filter(
        member__organisation=bases[0].organisation,
        member__in=Membership.objects.filter(council_id__in=list(councils)).values("member_id"),
    ).values_list(
        "member_id",
        "member__public_id",
        "council__key",
        "primary",
        "start",
        "end",
        "member__status",
    )
    specs_of: dict[int, list[gov.MembershipSpec]] = {}
    record_ids: dict[int, str] = {}
    for pk, uid, key, primary, start, end, status in rows:
        record_id = record_ids.setdefault(pk, f"m-{uid.hex}")
        specs_of.setdefault(pk, []).append(
            gov.MembershipSpec(record_id, key, primary, start, end, status)
        )
    specs = {
        base.pk: [s for m in members_of.get(council_id, ()) for s in specs_of.get(m, ())]
        for council_id, base in councils.items()
    }
    elsewhere = {
        base.pk: {s.council for s in specs[base.pk] if s.primary and s.council != base.council.key}
        for base in councils.values()
    }
    below = root_bases({pk: keys for pk, keys in elsewhere.items() if keys}) if root_bases else {}
    by_record = {record_id: pk for pk, record_id in record_ids.items()}
    out: dict[int, tuple[str, list[Voter]]] = {}
    for base in councils.values():
        weights = gov.base_vote_weights(
            base.council.key,
            specs[base.pk],
            on=today,
            basis=basis,
            root_bases=below.get(base.pk, ()),
        )
        out[base.pk] = (basis, [(by_record[r], r, Fraction(w)) for r, w in weights.items()])
    return out


def _method_for_vote(proposal: Proposal, alternatives: Sequence[Proposal]) -> str:
    """The count: Schulze against the status quo for competing alternatives; a ranked item
    under a ``preferential(irv|stv)`` policy rule by that method; else the shape's method."""
    if alternatives:
        return "schulze"
    if proposal.ballot_shape == Shape.RANKED:
        choice = policy_value(proposal, "decision_rule.rule")
        if choice.name == "preferential" and choice.args and choice.args[0] in ("irv", "stv"):
            return str(choice.args[0])
    return SHAPE_METHODS[proposal.ballot_shape]


def _options_for_vote(proposal: Proposal, alternatives: Sequence[Proposal]) -> list[str]:
    if alternatives:
        return [STATUS_QUO, proposal.record_id, *(a.record_id for a in alternatives)]
    if proposal.ballot_shape == Shape.YES_NO_ABSTAIN:
        return ["yes", "no", "abstain"]
    if proposal.ballot_shape == Shape.CONSENT:
        return list(gov.parse_value("consent.stances", proposal.policy["consent.stances"]))
    return [o["key"] for o in proposal.options]


def _rule_for_vote(
    proposal: Proposal,
    *,
    method: str,
    options: Sequence[str],
    voters: int,
    total_weight: Fraction,
    alternatives: Sequence[Proposal],
) -> dict[str, Any]:
    """The canonical rule of the count, from the proposal's policy and the frozen census."""
    basis = policy_value(proposal, "quorum.basis")
    quorum = {
        "fraction": canonical.fraction(policy_value(proposal, "quorum.fraction")),
        "basis": "weight" if basis == "represented_members" else "members",
        "strict": False,
    }
    electorate = {
        "quorum": quorum,
        "eligible": voters,
        "eligible_weight": canonical.fraction(total_weight),
    }
    if method == "motion":
        choice = policy_value(proposal, "decision_rule.rule")
        tie = policy_value(proposal, "decision_rule.tie_rule_motion")
        return {
            "rule": choice.name,
            "fraction": canonical.fraction(choice.args[0]) if choice.args else None,
            "abstention_treatment": policy_value(proposal, "decision_rule.abstention_treatment"),
            # An asynchronous vote has no chair to cast a deciding vote: a tie is re-voted.
            "tie_rule": "fails" if tie == "fails" else "revote",
            **electorate,
        }
    if method == "consent":
        choice = policy_value(proposal, "decision_rule.rule")
        limit = policy_value(proposal, "consent.stand_aside_limit")
        return {
            "variant": "consensus" if choice.name == "consensus" else "consent",
            "stand_aside_limit": canonical.fraction(limit) if limit is not None else None,
            "objection_requires_reason": policy_value(
                proposal, "consent.objection_requires_reason"
            ),
            **electorate,
        }
    if method == "schulze":
        return {
            "options": list(options),
            "status_quo": STATUS_QUO if alternatives else None,
            **electorate,
        }
    if method in LOT_METHODS:
        # No seed yet: ties an elimination cannot settle are drawn from a seed that exists
        # only once voting has ended (``_closing_seed``).
        extra = {"seats": 1, "rule": "scottish"} if method == "stv" else {}
        return {"options": list(options), **extra, **electorate}
    if method == "budget":
        return {
            "projects": {o["key"]: o["cost"] for o in proposal.options},
            "budget": proposal.budget_total,
            "budget_method": "equal_shares",
            **electorate,
        }
    rule: dict[str, Any] = {"options": list(options), "seats": 1, **electorate}
    if method == "score":
        rule["min_score"], rule["max_score"] = SCORE_RANGE
    if method == "dot_vote":
        rule["dots"] = proposal.dots
    return rule


def vote_terms(
    proposal: Proposal,
    weights: Mapping[str, Fraction],
    *,
    basis: str,
    alternatives: Sequence[Proposal] = (),
    on: date | None = None,
) -> tuple[str, list[str], dict[str, Any], dict[str, Any]]:
    """The method, options, rule and frozen census of a vote opening now on ``weights``.

    The rule and census come back as canonical JSON data: what the proposal stores and the
    record holds. A census too big to inline is stored as a long text by its SHA-256. A
    census of a council's members or delegates names the day ``on`` it was taken, from
    which ``konsilo verify`` takes it again.
    """
    method = _method_for_vote(proposal, alternatives)
    options = _options_for_vote(proposal, alternatives)
    total = sum(weights.values(), Fraction(0))
    rule = _rule_for_vote(
        proposal,
        method=method,
        options=options,
        # A member with weight 0 (their weight goes through another base, §3.4) votes, but
        # is not one of those whose presence the quorum counts.
        voters=sum(1 for w in weights.values() if w > 0),
        total_weight=total,
        alternatives=alternatives,
    )
    if basis == "delegations":
        # A delegation may split its weight over several ballots (§3.6), so its presence is
        # its weight, not a head count: the quorum is by weight and no head count is capped.
        rule["eligible"] = None
        if isinstance(rule.get("quorum"), dict):
            rule["quorum"]["basis"] = "weight"
    encoded = {k: canonical.fraction(w) for k, w in sorted(weights.items())}
    census: dict[str, Any] = {"basis": basis, "voters": len(weights), "total_weight": str(total)}
    if on is not None:
        census["on"] = on.isoformat()
    if len(canonical.dumps(encoded)) > _INLINE_CENSUS_BYTES:
        census["weights_sha256"] = ledger.store_text(canonical.dumps_str(encoded))
    else:
        census["weights"] = encoded
    return method, options, canonical.loads(canonical.dumps(rule)), census


@transaction.atomic(durable=True)
def open_vote(*, actor: Actor, proposal: Proposal) -> Proposal:
    """Open voting after the notice: freeze the census, the rule and the options."""
    proposal = _locked(proposal)
    member = _actor_may_steer(actor, proposal)
    if proposal.alternative_to_id is not None:
        raise ConflictError(
            "an alternative is voted on together with its main item; open that one",
            field="phase",
        )
    _move(proposal, Phase.VOTING)
    now = timezone.now()
    start = voting_opens_from(proposal)
    if start is not None and now < start:
        raise ConflictError(
            f"voting can open from {start.isoformat()} (the minimum notice of "
            f"{gov.format_duration(policy_value(proposal, 'agenda.min_notice'))})",
            field="phase",
        )
    alternatives = list(proposal.alternatives.filter(phase=Phase.DISCUSSION).order_by("pk"))
    dropped = list(proposal.alternatives.filter(phase=Phase.DRAFT))
    on = timezone.localdate(now)
    basis, voters = _census(proposal, on)
    if not voters:
        raise ConflictError("nobody may vote in this council: its census is empty", field="census")
    weights = {record_id: w for _, record_id, w in voters}
    if proposal.secret and len(set(weights.values())) > 1:
        # Unequal weights would let a weight name its voter (§3.16).
        raise ConflictError(
            "a secret ballot needs equal weights, but the census has several", field="census"
        )
    method, options, rule, census = vote_terms(
        proposal, weights, basis=basis, alternatives=alternatives, on=on
    )
    proposal.method = method
    proposal.rule = rule
    proposal.census = census
    proposal.voting_opened_at = now
    proposal.closes_at = now + _window(proposal)
    proposal.save(
        update_fields=["phase", "method", "rule", "census", "voting_opened_at", "closes_at"]
    )
    VoterRoll.objects.bulk_create(
        [
            VoterRoll(proposal=proposal, member_id=pk, weight=canonical.fraction(w))
            for pk, _, w in voters
        ],
        batch_size=2000,
    )
    for alternative in alternatives:
        alternative.phase = Phase.VOTING
        alternative.save(update_fields=["phase"])
    for alternative in dropped:
        alternative.phase = Phase.WITHDRAWN
        alternative.withdrawn_reason = "not seconded before the vote opened"
        alternative.save(update_fields=["phase", "withdrawn_reason"])
        _append(
            alternative,
            "proposal.withdrawn",
            {"reason": alternative.withdrawn_reason},
            _record_id(actor, member),
        )
    _append(
        proposal,
        "vote.opened",
        {
            "council": proposal.council.key,
            "method": method,
            "rule": rule,
            "options": options,
            "secret": proposal.secret,
            "policy_version": proposal.policy_versions.get("organisation"),
            "policy_versions": proposal.policy_versions,
            "census": census,
            "closes_at": proposal.closes_at,
            "texts": {
                p.record_id: p.versions.order_by("-number").values_list("sha256", flat=True)[0]
                for p in [proposal, *alternatives]
            },
        },
        _record_id(actor, member),
    )
    # The opening takes its place in the record now, in a batch before any ballot.
    _sequence(proposal)
    return proposal


@transaction.atomic(durable=True)
def extend_vote(*, actor: Actor, proposal: Proposal) -> Proposal:
    """Extend an open vote once, by one more window; any voter may ask (§2.14)."""
    proposal = _locked(proposal)
    member = _member_of(actor, proposal.council)
    _require_phase(proposal, Phase.VOTING, doing="extend the vote")
    assert proposal.closes_at is not None
    if timezone.now() >= proposal.closes_at:
        raise ConflictError("the vote has closed; it can no longer be extended", field="phase")
    if proposal.extended:
        raise ConflictError("the vote has been extended once already", field="phase")
    proposal.closes_at = proposal.closes_at + _window(proposal)
    proposal.extended = True
    proposal.save(update_fields=["closes_at", "extended"])
    _append(proposal, "vote.extended", {"closes_at": proposal.closes_at}, member.record_id)
    return proposal


@transaction.atomic(durable=True)
def withdraw_proposal(*, actor: Actor, proposal: Proposal, reason: str = "") -> Proposal:
    """The author withdraws an item before voting; it stays on the record as withdrawn."""
    proposal = _locked(proposal)
    member = permissions.member_for(actor, proposal.organisation)
    if member is None or member.pk != proposal.author_id:
        raise PermissionDeniedError("only the author may withdraw the proposal", field="phase")
    before = _move(proposal, Phase.WITHDRAWN)
    proposal.withdrawn_reason = (reason or "").strip()[:2000]
    proposal.save(update_fields=["phase", "withdrawn_reason"])
    _append(
        proposal,
        "proposal.withdrawn",
        {"from": before, "reason": proposal.withdrawn_reason},
        member.record_id,
    )
    return proposal


# -- ballots ----------------------------------------------------------------------------------


def new_receipt() -> str:
    """A receipt code for a secret ballot: 120 random bits, in groups a person can copy."""
    code = base64.b32encode(secrets.token_bytes(15)).decode("ascii")
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def receipt_hash(code: str) -> str:
    """SHA-256 (hex) of the receipt as shown: upper case, in dash-separated groups of four.

    The member may type it in any case, with or without spaces or dashes; the record's
    lookup page finds the ballot by the code as shown.

    >>> receipt_hash("abcd efgh") == receipt_hash("ABCD-EFGH")
    True
    """
    normal = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    shown = "-".join(normal[i : i + 4] for i in range(0, len(normal), 4))
    return _sha256(shown)


def _voting_now(proposal: Proposal) -> None:
    _require_phase(proposal, Phase.VOTING, doing="vote")
    assert proposal.closes_at is not None
    if timezone.now() >= proposal.closes_at:
        raise ConflictError(
            f"the vote closed at {proposal.closes_at.isoformat()}; ballots are no longer accepted",
            field="ballot",
        )


def _voter(actor: Actor, proposal: Proposal) -> tuple[Member, VoterRoll]:
    member = permissions.member_for(actor, proposal.organisation)
    roll = (
        VoterRoll.objects.filter(proposal=proposal, member=member).first()
        if member is not None
        else None
    )
    if member is None or roll is None:
        raise PermissionDeniedError(
            "you are not in the census of this vote, frozen when voting opened",
            field="ballot",
        )
    return member, roll


def _normalise(proposal: Proposal, ballot: Any, weight: str, member: Member) -> dict[str, Any]:
    """The ballot in canonical form, refused now if the count at closing would refuse it."""
    rule = proposal.rule or {}
    if proposal.method == "consent" and isinstance(ballot, Mapping):
        # Consent rounds are open: the stance is the member's, named by the server.
        ballot = {**ballot, "member": member.record_id}
    try:
        content = tally.normalise_ballot(proposal.method, rule, ballot)
        # A count of this one ballot applies every per-ballot rule of the method (a reason
        # for an objection, blocks only in consensus), so closing can never fail on it.
        alone = {
            k: v for k, v in rule.items() if k not in ("quorum", "eligible", "eligible_weight")
        }
        if proposal.method in LOT_METHODS:
            alone["seed"] = "one ballot"  # the real seed exists only after the close
        # A ballot of weight 0 (§3.4) is checked as a ballot of one.
        tally.count_ballots(proposal.method, alone, [(content, Fraction(weight) or Fraction(1))])
    except tally.TallyError as exc:
        message = str(exc).removeprefix("ballot 1: ")
        message = message.removeprefix(f"{proposal.method}: ").removeprefix("ballot 1: ")
        raise InvalidInputError(f"ballot: {message}", field="ballot") from None
    return content


@contextlib.contextmanager
def _one_ballot() -> Iterator[None]:
    """The database's unique constraints have the last word on one ballot per member."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise ConflictError("you have voted already on this item", field="ballot") from None


@transaction.atomic(durable=True)
def cast_ballot(*, actor: Actor, proposal: Proposal, ballot: Mapping[str, Any]) -> str | None:
    """Cast a first ballot; returns the receipt code of a secret ballot (shown only once)."""
    proposal = _locked_for_ballot(proposal)
    _voting_now(proposal)
    member, roll = _voter(actor, proposal)
    content = _normalise(proposal, ballot, roll.weight, member)
    if proposal.secret:
        if Participation.objects.filter(proposal=proposal, member=member).exists():
            raise ConflictError(
                "you have voted already; to change your ballot, enter your receipt",
                field="ballot",
            )
        code = new_receipt()
        digest = receipt_hash(code)
        with _one_ballot():
            Participation.objects.create(proposal=proposal, member=member)
            SecretBallot.objects.create(
                proposal=proposal, receipt_sha256=digest, content=content, weight=roll.weight
            )
        # The ballot itself reaches the record when the vote closes, with all the others.
        _append_unlinkable(proposal, "ballot.participated", {"member": member.record_id})
        return code
    if Ballot.objects.filter(proposal=proposal, member=member).exists():
        raise ConflictError(
            "you have voted already; change your ballot instead of casting another",
            field="ballot",
        )
    now = timezone.now()
    with _one_ballot():
        Ballot.objects.create(
            proposal=proposal,
            member=member,
            content=content,
            weight=roll.weight,
            cast_at=now,
            changed_at=now,
        )
    _append(
        proposal,
        "ballot.cast",
        {"voter": member.record_id, "weight": roll.weight, "ballot": content},
        member.record_id,
    )
    return None


@transaction.atomic(durable=True)
def change_ballot(
    *, actor: Actor, proposal: Proposal, ballot: Mapping[str, Any], receipt: str = ""
) -> None:
    """Replace one's ballot until the vote closes; a secret ballot is found by its receipt."""
    proposal = _locked_for_ballot(proposal)
    _voting_now(proposal)
    member, roll = _voter(actor, proposal)
    content = _normalise(proposal, ballot, roll.weight, member)
    if proposal.secret:
        if not Participation.objects.filter(proposal=proposal, member=member).exists():
            raise ConflictError("you have not voted yet; cast a ballot first", field="ballot")
        digest = receipt_hash(receipt)
        row = SecretBallot.objects.filter(proposal=proposal, receipt_sha256=digest).first()
        if row is None:
            raise InvalidInputError(
                "receipt: no ballot on this item has this receipt; check the code",
                field="receipt",
            )
        row.content = content
        row.save(update_fields=["content"])
        return
    row = Ballot.objects.filter(proposal=proposal, member=member).first()
    if row is None:
        raise ConflictError("you have not voted yet; cast a ballot first", field="ballot")
    # The replacement's entry comes after the ballot it replaces: the sequencer keeps the
    # order in which open entries were written, within a batch and across batches.
    row.content = content
    row.changed_at = timezone.now()
    row.save(update_fields=["content", "changed_at"])
    _append(
        proposal,
        "ballot.cast",
        {"voter": member.record_id, "weight": row.weight, "ballot": content},
        member.record_id,
    )


# -- closing ----------------------------------------------------------------------------------


@dataclass
class CountedBallots:
    """A vote's ballots as its count takes them: ``ballots`` are the distinct ballots, the
    weights of equal ones added (what ``tally.count_ballots`` does first, done here by the
    database, so that a base's fifty members' ballots arrive as the three they amount to);
    ``cast`` is how many ballots were counted, members' and delegations'; ``weightless``
    how many members' ballots of weight 0 were recorded and not counted (§3.4)."""

    ballots: list[tuple[dict[str, Any], Fraction]]
    cast: int = 0
    weightless: int = 0


@dataclass(frozen=True)
class ClosedVote:
    """A vote just closed, as its close left it: the proposal (saved), the ballots it
    counted and their result. A closed vote never changes: what comes next (its mandate)
    may take these instead of reading and counting them again."""

    proposal: Proposal
    ballots: CountedBallots
    result: Result


def ballots_by_proposal(proposals: Sequence[Proposal]) -> dict[int, CountedBallots]:
    """The ballots counted in each of these votes: the members' and, at a higher council,
    the delegations' votes. Three queries however many votes."""
    out = {p.pk: CountedBallots([]) for p in proposals}
    exact: dict[str, Fraction] = {}  # weights repeat ("1"): each parsed once

    one_by_one = {p.pk for p in proposals if p.method == "consent"}  # each concern reported

    def add(pk: int, content: dict[str, Any], weight: str, times: int) -> None:
        counted = out[pk]
        if weight == "0":  # their weight goes up through another base (§3.4)
            counted.weightless += times
            return
        parsed = exact.get(weight)
        if parsed is None:
            parsed = exact[weight] = Fraction(weight)
        if pk in one_by_one:
            counted.ballots.extend([(content, parsed)] * times)
        else:
            counted.ballots.append((content, parsed * times if times > 1 else parsed))
        counted.cast += times

    for model, ids in (
        (Ballot, [p.pk for p in proposals if not p.secret]),
        (SecretBallot, [p.pk for p in proposals if p.secret]),
    ):
        if ids:
            rows = (
                model.objects.filter(proposal_id__in=ids)
                .values_list("proposal_id", "content", "weight")
                .annotate(times=Count("pk"))
                .order_by()
            )
            for pk, content, weight, times in rows:
                add(pk, content, weight, times)
    # The delegations' votes (the federation app's model, through the reverse relation).
    delegation_vote = Proposal._meta.get_field("delegation_votes").related_model
    votes = delegation_vote.objects.filter(proposal_id__in=list(out)).order_by("proposal_id", "pk")
    for pk, content, weight in votes.values_list("proposal_id", "ballot", "weight"):
        add(pk, content, weight, 1)
    return out


def _record_secret_ballots(proposal: Proposal) -> None:
    """Put every final secret ballot in the record at once, in random order.

    Were each ballot recorded when cast, a batch of the record holding one member's
    participation would hold their ballot too. Recorded together at the close, in one shuffled
    batch with one time, the ballots can be told apart only by their receipts.
    """
    rows = list(
        SecretBallot.objects.filter(proposal=proposal).values_list(
            "receipt_sha256", "weight", "content"
        )
    )
    secrets.SystemRandom().shuffle(rows)
    for digest, weight, content in rows:
        _append_unlinkable(
            proposal, "ballot.cast", {"receipt": digest, "weight": weight, "ballot": content}
        )


def _pending_entries_of(proposal: Proposal) -> bool:
    """Whether any entry of this vote still waits for its index in the record."""
    return Entry.objects.filter(
        organisation=proposal.organisation,
        index__isnull=True,
        entry_type__in=(
            "vote.opened",
            "vote.extended",
            "ballot.cast",
            "ballot.participated",
            "delegation.voted",
        ),
        data__contains=f'"item":"{proposal.record_id}"',
    ).exists()


def _sequence(proposal: Proposal) -> None:
    # A refusal is the record's own alarm (logged at ERROR); the vote then waits for it.
    with contextlib.suppress(SequencerRefusedError):
        sequence(proposal.organisation)


def _closing_entry(proposal: Proposal) -> Entry | None:
    return (
        Entry.objects.filter(
            organisation=proposal.organisation,
            entry_type="vote.closed",
            data__contains=f'"item":"{proposal.record_id}"',
        )
        .only("index")
        .first()
    )


def _closing_seed(proposal: Proposal) -> tuple[str, int] | None:
    """The seed of a closed vote's lots and the size of the checkpoint it comes from.

    The first call writes ``vote.closed`` (after every ballot: the ballots were written
    before the close took the vote's lock) and sequences the record, which signs a
    checkpoint over it. The seed is made from that checkpoint's note, which did not exist
    before the deadline and which only the log's key could sign. None while the closing
    waits for its place in the record (another sequencer holds the log); a later run of the
    closing task then finds it.
    """
    closing = _closing_entry(proposal)
    if closing is None:
        _append(proposal, "vote.closed", {"closes_at": proposal.closes_at}, "")
    if closing is None or closing.index is None:
        _sequence(proposal)
        closing = _closing_entry(proposal)
    if closing is None or closing.index is None:
        return None
    checkpoint = (
        Checkpoint.objects.filter(organisation=proposal.organisation, size__gt=closing.index)
        .order_by("size")
        .values_list("size", "note")
        .first()
    )
    if checkpoint is None:  # the sequencer signs the batch it indexes, in the same commit
        return None
    size, note = checkpoint
    seed = closing_seed(proposal.record_id, hashlib.sha256(note.encode()).digest())
    return seed, size


@transaction.atomic(durable=True)
def close_vote(*, proposal_id: int) -> Proposal | None:
    """Close one vote past its deadline: count it and record the tally. Idempotent.

    Returns the closed proposal, or None when it is not closed (yet): not voting, the deadline
    not passed (server time decides, §3.17), or a secret vote's ballots still waiting for
    their place in the record. The sequencer keeps the written order, so an open vote's tally,
    written after its ballots, comes after them in the record. A secret vote's ballots go to
    the record at the close (step 1), all together, in a run of unlinkable entries that the
    sequencer shuffles; the tally is written once they have their indices, in a batch of
    their own, in this call or in the next run of the closing task.
    """
    proposal = (
        Proposal.objects.select_for_update()
        .select_related("council", "organisation")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None or proposal.phase != Phase.VOTING:
        return None
    now = timezone.now()
    assert proposal.closes_at is not None
    if now < proposal.closes_at:
        return None
    if proposal.secret:
        _sequence(proposal)
        if not proposal.ballots_recorded:
            _record_secret_ballots(proposal)
            proposal.ballots_recorded = True
            proposal.save(update_fields=["ballots_recorded"])
            _sequence(proposal)
        if _pending_entries_of(proposal):
            return None
    # An open vote's ballots were committed before this close took its lock, so the tally is
    # written after them and the sequencer, keeping the written order, places it after them
    # whenever it runs: the close waits for no sequencing, unless the count may draw lots.
    extra: dict[str, Any] = {}  # what the tally entry says beyond the count
    if proposal.method in LOT_METHODS:
        sealed = _closing_seed(proposal)
        if sealed is None:
            return None
        seed, extra["seed_checkpoint"] = sealed
        proposal.rule = {**(proposal.rule or {}), "seed": seed}
    _record_tally(proposal, ballots_by_proposal([proposal])[proposal.pk], now, extra=extra)
    proposal.save(update_fields=_CLOSED_FIELDS)
    proposal.alternatives.filter(phase=Phase.VOTING).update(phase=Phase.CLOSED, closed_at=now)
    return proposal


_CLOSED_FIELDS = ["phase", "closed_at", "result", "outcome", "ballots_counted", "rule"]


def _record_tally(
    proposal: Proposal,
    counted: CountedBallots,
    now: datetime,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Result:
    """Count a locked, due vote and record its tally (the caller saves the proposal).

    ``extra``: what else the tally entry says (the seed's checkpoint of a count that may
    draw lots)."""
    extra = dict(extra or {})
    result = tally.count_ballots(
        proposal.method, proposal.rule or {}, counted.ballots, heads=counted.cast
    )
    if counted.weightless:
        extra["weightless"] = counted.weightless  # recorded with weight 0, not counted (§3.4)
    _move(proposal, Phase.CLOSED)
    proposal.closed_at = now
    encoded = canonical.to_jsonable(result)  # once: the entry holds what the proposal stores
    proposal.result = canonical.dumps_plain_str(encoded)
    proposal.outcome = result.outcome
    proposal.ballots_counted = counted.cast
    _append(
        proposal,
        "tally.recorded",
        {
            "method": proposal.method,
            "rule": proposal.rule,
            "result": encoded,
            "ballots": counted.cast,
            "policy_version": proposal.policy_versions.get("organisation"),
            "policy_versions": proposal.policy_versions,
            "census": proposal.census,
            **extra,
        },
        "",
    )
    if proposal.supersedes_id is not None and result.outcome == "adopted":
        old = proposal.supersedes
        assert old is not None
        _append(
            old,
            "decision.superseded",
            {"by": proposal.record_id, "rule": proposal.rule, "valid_to": now},
            "",
        )
    return result


@gc_paused()
@transaction.atomic(durable=True)
def close_open_votes(
    *,
    proposal_ids: Sequence[int],
    closed: dict[int, ClosedVote] | None = None,
) -> list[Proposal]:
    """Close many open-ballot votes past their deadline in one transaction; return those
    closed, in the order of their deadlines.

    The same close as `close_vote` for each, with their rows locked and their ballots read
    together: what a worker does when a federation's bases close at one deadline. Secret
    votes, counts that may draw lots (their seed waits for a checkpoint), and votes not due
    or not voting are left for `close_vote` (skipped here). ``closed`` receives each vote
    closed (`ClosedVote`), for what the worker does next with it.

    Votes whose rows another transaction holds are skipped, not waited for: another worker
    is closing them, so that workers running the closing at once share its batches.
    """
    now = timezone.now()
    proposals = list(
        Proposal.objects.select_for_update(of=("self",), skip_locked=True)
        .select_related("council")
        .filter(pk__in=list(proposal_ids), phase=Phase.VOTING, secret=False, closes_at__lte=now)
        .exclude(method__in=LOT_METHODS)
        .order_by("closes_at", "pk")
    )
    if not proposals:
        return []
    # A batch's votes are mostly one organisation's: each read once, not once per vote.
    organisations = Organisation.objects.in_bulk({p.organisation_id for p in proposals})
    for proposal in proposals:
        proposal.organisation = organisations[proposal.organisation_id]
    ballots = ballots_by_proposal(proposals)
    with ledger.collected():
        for proposal in proposals:
            result = _record_tally(proposal, ballots[proposal.pk], now)
            if closed is not None:
                closed[proposal.pk] = ClosedVote(proposal, ballots[proposal.pk], result)
    update_rows(proposals, _CLOSED_FIELDS)
    Proposal.objects.filter(alternative_to__in=proposals, phase=Phase.VOTING).update(
        phase=Phase.CLOSED, closed_at=now
    )
    return proposals


# -- discussion -------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def post_comment(
    *, actor: Actor, proposal: Proposal, text: str, parent: Comment | None = None
) -> Comment:
    """A member of the council comments on an item, or replies to a comment."""
    member = _member_of(actor, proposal.council)
    if proposal.phase == Phase.WITHDRAWN:
        raise ConflictError("the proposal was withdrawn; its discussion is closed", field="phase")
    if parent is not None and parent.proposal_id != proposal.pk:
        raise InvalidInputError("parent: the comment replied to is on another item", field="parent")
    text = _text(text, field="text", limit=MAX_COMMENT)
    comment = Comment.objects.create(
        proposal=proposal, parent=parent, author=member, text=text, created_at=timezone.now()
    )
    _append(
        proposal,
        "comment.posted",
        {
            "comment": comment.record_id,
            "parent": parent.record_id if parent else None,
            "author": member.record_id,
            "text_sha256": ledger.store_text(text),
        },
        member.record_id,
    )
    return comment


@transaction.atomic(durable=True)
def hide_comment(*, actor: Actor, comment: Comment, reason: str) -> Comment:
    """A moderator hides a comment with a reason; the text stays, and so does the fact."""
    comment = (
        Comment.objects.select_for_update().select_related("proposal__council").get(pk=comment.pk)
    )
    proposal = comment.proposal
    if not can_moderate(actor, proposal.council):
        raise PermissionDeniedError(
            "only stewards and the council's officers may moderate", field="comment"
        )
    reason = _text(reason, field="reason", limit=2000)
    if comment.hidden_at is not None:
        raise ConflictError("the comment is hidden already", field="comment")
    member = permissions.member_for(actor, proposal.organisation)
    ident = _record_id(actor, member)
    comment.hidden_at = timezone.now()
    comment.hidden_reason = reason
    comment.hidden_by = ident
    comment.save(update_fields=["hidden_at", "hidden_reason", "hidden_by"])
    _append(proposal, "comment.hidden", {"comment": comment.record_id, "reason": reason}, ident)
    return comment


# -- minority reports -------------------------------------------------------------------------


def _check_dissent(actor: Actor, proposal: Proposal, receipt: str) -> Member:
    """The acting member voted and did not prevail (for a secret ballot, shown by receipt)."""
    _require_phase(proposal, Phase.CLOSED, doing="file or sign a minority report")
    if not policy_value(proposal, "minority.minority_report"):
        raise ConflictError("this council's policy has no minority reports", field="policy")
    member, _ = _voter(actor, proposal)
    if proposal.secret:
        if not Participation.objects.filter(proposal=proposal, member=member).exists():
            raise PermissionDeniedError("you did not vote on this item", field="ballot")
        row = SecretBallot.objects.filter(
            proposal=proposal, receipt_sha256=receipt_hash(receipt)
        ).first()
        if row is None:
            raise InvalidInputError(
                "receipt: enter the receipt of your secret ballot to show how you voted",
                field="receipt",
            )
        content = row.content
    else:
        ballot = Ballot.objects.filter(proposal=proposal, member=member).first()
        if ballot is None:
            raise PermissionDeniedError("you did not vote on this item", field="ballot")
        content = ballot.content
    result = canonical.loads(proposal.result)
    if not tally.did_not_prevail(
        proposal.method, content, outcome=result["outcome"], winners=result["winners"]
    ):
        raise PermissionDeniedError(
            "only members who voted against, abstained or objected may file or sign a "
            "minority report",
            field="ballot",
        )
    return member


@transaction.atomic(durable=True)
def file_minority_report(
    *, actor: Actor, proposal: Proposal, text: str, receipt: str = ""
) -> MinorityReport:
    """A member who did not prevail files a minority report; it stays with the decision."""
    proposal = _locked(proposal)
    member = _check_dissent(actor, proposal, receipt)
    text = _text(text, field="text", limit=MAX_TEXT)
    digest = ledger.store_text(text)
    report = MinorityReport.objects.create(
        proposal=proposal, author=member, text=text, sha256=digest, created_at=timezone.now()
    )
    _append(
        proposal,
        "minority_report.filed",
        {
            "report": report.record_id,
            "author": member.record_id,
            "text_sha256": digest,
            "travels_up": policy_value(proposal, "minority.minority_report_travels_up"),
        },
        member.record_id,
    )
    return report


@transaction.atomic(durable=True)
def cosign_minority_report(
    *, actor: Actor, report: MinorityReport, receipt: str = ""
) -> CoSignature:
    """Another member who did not prevail co-signs a minority report."""
    proposal = _locked(report.proposal)
    member = _check_dissent(actor, proposal, receipt)
    if member.pk == report.author_id:
        raise ConflictError("the author has signed the report already", field="report")
    try:
        with transaction.atomic():
            signature = CoSignature.objects.create(
                report=report, member=member, created_at=timezone.now()
            )
    except IntegrityError:
        raise ConflictError("you have co-signed this report already", field="report") from None
    _append(
        proposal,
        "minority_report.cosigned",
        {"report": report.record_id, "member": member.record_id},
        member.record_id,
    )
    return signature
