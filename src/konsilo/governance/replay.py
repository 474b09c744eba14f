"""Replay the record: rebuild an organisation from its entries and recount what they claim.

`Replay` applies decoded record entries (RECORD-CONTRACT §1) one by one, in index order, to
the state so far, with the same rules the actions applied when they wrote them:

- ``organisation.created`` must come first, once; ``organisation.levels_set`` rebuilds the
  council graph on the new levels;
- ``council.created``, ``delegation.created`` and ``council.renamed`` go through
  `CouncilGraph` (unknown councils, cycles, level order, the tree rule are refused);
- ``member.joined``, ``member.updated``, ``membership.added``, ``membership.ended``,
  ``membership.primary_changed`` and ``member.status_changed`` keep each member's memberships
  (base councils only, one open membership per council, exactly one open primary base);
- ``office.assigned`` needs a known member, council and delegation, the member below the
  delegation's council and no other open seat in that council;
- ``policy.versioned`` numbers each scope's versions 1, 2, 3... and validates the values;
- ``census.frozen``: the represented counts are re-derived with `take_census` from the
  replayed memberships and must equal the recorded ones;
- ``vote.opened``: the census the vote froze is re-derived and must equal the recorded one
  (`Replay._check_census`): a base's from the memberships of everyone who ever belonged to
  it (an index kept as memberships are replayed) with `base_vote_weights`, on the census
  day and the basis the organisation's policy gives (`vote_census_basis`), weight 0 in an
  instruction vote for a member whose primary base the same sent item reaches (its
  ``cascade``, §3.4); a council of delegates' own vote from the delegates seated there
  (`delegate_vote_weights`). Its head count, total weight and the rule's electorate must
  add up from its weights. The delegations' votes of a sent item and of the intermediate
  councils below it (`Replay._check_delegations`): every delegation's weight from the
  members each council represents on the sending's census day (`take_census`), the sending
  council's ``structure.vote_weight`` for the item's decision type (``proposal.created``)
  and the item's composition, as the platform derived them at the sending
  (``mandate.derived`` then checks each delegation's against them);
- ``vote.opened``, ``ballot.cast``, ``ballot.participated`` and ``tally.recorded``: the ballots
  of each item are collected while its vote is open (a later ballot of the same voter or
  receipt replaces the earlier one), and each recorded tally is recounted with
  ``konsilo.counting.tally.count_ballots``, comparing canonical bytes; secret ballots may not
  outnumber the members who took part, open ballots must come from the census with its
  weight and before the vote closed; a ballot of weight 0 (a member whose weight goes up
  through another base, §3.4) only where an instruction vote's census gives it, recorded
  but not counted, and the tally's ``weightless`` says how many there were;
- ``vote.closed`` (a vote whose count may draw lots, written at or after its deadline) ends
  the vote's ballots; the first signed checkpoint over it (`Replay.checkpoint_signed`) gives
  the seed of its lots (``konsilo.counting.tiebreak.closing_seed``), which its tally's rule
  must carry: the tally comes in a later batch, and the seed existed only once voting ended;
- ``mandate.derived``: the mandate is derived again with
  `konsilo.governance.mandates.derive_mandate` from the entry's policy, window, weight and
  ``base_vote`` (whose ballots the base's recorded tally must have counted) and must equal
  the recorded one (a delegation that carries its previous position carries its last
  instructed mandate on the identical text, §3.2); ``delegation.voted`` must follow a
  binding mandate, and counts as a ballot of the higher vote. The mandate of an
  intermediate council's delegation (an entry with ``composition``) is re-derived with
  `konsilo.governance.federation.derive_council_mandate` from that council's own recorded
  vote, made of its delegations' votes (re-deliberation or pass-through, §3.5); under direct
  base representation a base's delegation sits at the top of the item.
- ``amendment.listed``: an amendment listed in advance on a sent item (§3.10), before its
  vote opens and before any mandate on it is derived; a ``mandate.derived`` with ``listed``
  (the amendment's text hash) is the delegation's mandate on it, re-derived like the others.
  When ``proposal.amended`` amends the item to a listed text, each delegation's vote is
  governed by its mandate on that amendment (``mandate_on_text``): it is within it, the
  votes cast under the mandate on the old text are withdrawn, and ``delegation.voted`` must
  follow the mandate on the amendment.

An entry that cannot apply raises `ReplayError` with its index and the reason; the state is
then no longer the record's, so replay stops there (as ``konsilo verify`` does). An entry
type the replay does not know is refused, unless it is declared informational (it carries
no state).

>>> replay = Replay()
>>> replay.apply(0, {"type": "organisation.created", "org": "fed", "council": "",
...     "data": {"slug": "fed", "name": "Fed", "levels": ["base", "top"],
...              "parent_rule": "tree", "timezone": "UTC"}})
>>> replay.apply(1, {"type": "council.created", "org": "fed", "council": "top",
...     "data": {"key": "top", "name": "Top", "level": "top"}})
>>> replay.apply(2, {"type": "delegation.created", "org": "fed", "council": "top",
...     "data": {"from": "top", "to": "top"}})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
konsilo.governance.replay.ReplayError: entry 2 (delegation.created): ...lists itself as its parent
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from konsilo import canonical
from konsilo.counting.tiebreak import closing_seed
from konsilo.governance._catalogue import DECISION_TYPES
from konsilo.governance.census import (
    CENSUS_BASES,
    MEMBER_STATUSES,
    MembershipSpec,
    base_vote_weights,
    census_difference,
    delegate_vote_weights,
    take_census,
    vote_census_basis,
)
from konsilo.governance.errors import GovernanceError
from konsilo.governance.federation import (
    COMPOSITIONS,
    composition_of,
    delegation_weights,
    derive_council_mandate,
    forwarded_weights,
    item_delegations,
)
from konsilo.governance.graph import CouncilGraph, CouncilSpec
from konsilo.governance.mandates import (
    BaseVote,
    Mandate,
    MandateError,
    MandatePolicy,
    OutOfMandate,
    OutOfMandateVote,
    VoteWindow,
    delegation_key,
    derive_mandate,
    mandate_on_text,
    out_of_mandate,
    settle_out_of_mandate,
)
from konsilo.governance.policy import PolicyLayer, PolicyVersion, ResolvedPolicy, resolve, validate

__all__ = [
    "INFORMATIONAL_TYPES",
    "OFFICE_KINDS",
    "CountBallots",
    "MemberState",
    "MembershipState",
    "OfficeState",
    "Replay",
    "ReplayError",
    "VoteState",
    "without_asking",
]

OFFICE_KINDS = ("delegate", "alternate", "co_chair", "officer")
"""The kinds of office a member can be assigned (web councils.Office.Kind)."""

INFORMATIONAL_TYPES: frozenset[str] = frozenset(
    {
        # The life of a proposal before and around its vote: texts are checked by their
        # SHA-256 (long-text references), the vote itself by vote.opened and tally.recorded.
        "proposal.revised",
        "proposal.seconded",
        "proposal.phase_changed",
        "proposal.withdrawn",
        "comment.posted",
        "comment.hidden",
        "minority_report.filed",
        "minority_report.cosigned",
        "decision.superseded",
        # Events of the federation that the recall rules and the bases read; the mandate
        # itself is re-derived from mandate.derived.
        "mandate.breached",
        "mandate.departed",
        "mandate.discretion_used",
    }
)
"""Entry types that carry no state the replay rebuilds; add more with ``informational``."""

CountBallots = Callable[[str, Mapping[str, Any], Sequence[tuple[Mapping[str, Any], Fraction]]], Any]
"""``count_ballots(method, rule, ballots) -> Result`` (konsilo.counting.tally)."""


class ReplayError(GovernanceError):
    """An entry cannot apply to the state so far; ``index`` names it, ``reason`` says why."""

    def __init__(self, index: int, entry_type: str, reason: str) -> None:
        super().__init__(reason, field=f"entries[{index}]", code="replay")
        self.index = index
        self.entry_type = entry_type
        self.reason = reason

    def __str__(self) -> str:
        return f"entry {self.index} ({self.entry_type}): {self.reason}"

    def __reduce__(self) -> tuple[object, ...]:
        return (ReplayError, (self.index, self.entry_type, self.reason))


class _Refused(Exception):  # noqa: N818 (internal signal, turned into ReplayError)
    pass


@dataclass
class MembershipState:
    """One membership as replayed: a base council over ``[start, end)``."""

    council: str
    primary: bool
    start: dt.date
    end: dt.date | None = None


@dataclass
class MemberState:
    """One member as the record knows them (no email, no categories: those are private)."""

    record_id: str
    name: str
    status: str
    memberships: list[MembershipState] = field(default_factory=list)

    def open_memberships(self) -> list[MembershipState]:
        """The memberships that have not ended."""
        return [m for m in self.memberships if m.end is None]

    def primary(self) -> MembershipState | None:
        """The open primary membership, if any."""
        return next((m for m in self.memberships if m.end is None and m.primary), None)


@dataclass
class OfficeState:
    """A seat held by a member in a council (for a delegation, when ``delegation_from``)."""

    member: str
    kind: str
    council: str
    delegation_from: str | None
    start: dt.date
    scheduled_end: dt.date | None
    end: dt.date | None = None


@dataclass
class VoteState:
    """A vote on one item: how it was opened and the ballots that count so far."""

    item: str
    opened_at: int
    council: str
    method: str
    rule: Mapping[str, Any]
    secret: bool
    census: Mapping[str, Any]
    weights: Mapping[str, Fraction] | None = None
    closes_at: str = ""
    closes: dt.datetime | None = None
    closes_text: str = ""
    weight_set: frozenset[Fraction] = frozenset()
    ballots: dict[str, tuple[Mapping[str, Any], Fraction]] = field(default_factory=dict)
    participated: set[str] = field(default_factory=set)
    tallied_at: int | None = None
    counted: tuple[tuple[Mapping[str, Any], Fraction], ...] = ()
    result: Any = None
    # A count that may draw lots: the vote.closed entry, then the seed from the first
    # checkpoint signed over it (its size and the seed).
    closed_at: int | None = None
    seed_checkpoint: int | None = None
    seed: str | None = None


# Canonical bytes of decoded JSON (the record holds only JSON values), with no conversion.
_canonical = canonical.dumps_plain


def _text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise _Refused(f"data.{name}: expected a non-empty string, got {value!r}")
    return value


def _date(data: Mapping[str, Any], name: str, *, optional: bool = False) -> dt.date | None:
    value = data.get(name)
    if value is None and optional:
        return None
    try:
        return dt.date.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _Refused(f"data.{name}: expected an ISO date, got {value!r}") from None


def _req_date(data: Mapping[str, Any], name: str) -> dt.date:
    value = _date(data, name)
    assert value is not None
    return value


_FRACTIONS: dict[str, Fraction] = {}
_ZERO = Fraction(0)


def _fraction(value: Any, where: str) -> Fraction:
    if isinstance(value, str):
        known = _FRACTIONS.get(value)  # weights repeat: "1" a million times
        if known is not None:
            return known
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Refused(f"{where}: expected an exact number, got {value!r}")
    try:
        parsed = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise _Refused(f"{where}: expected an exact number, got {value!r}") from None
    if isinstance(value, str) and len(_FRACTIONS) < 4096:
        _FRACTIONS[value] = parsed
    return parsed


def _grouped(
    ballots: Sequence[tuple[Mapping[str, Any], Fraction]],
) -> tuple[tuple[Mapping[str, Any], Fraction], ...]:
    """Equal ballots merged with their weights added, sorted by canonical bytes."""
    # Weights are shared objects (see _fraction), so pairs are told apart by the weight's
    # identity and each distinct pair is multiplied out once: no Fraction hash or sum per
    # ballot. The weight stays referenced in the value, so its id stays unique. A ballot of
    # strings is told apart by its items (canonical.string_items) and encoded once.
    pairs: dict[tuple[Any, int], list[Any]] = {}
    for ballot, weight in ballots:
        items = canonical.string_items(ballot)
        pair = (_canonical(ballot) if items is None else items, id(weight))
        seen = pairs.get(pair)
        if seen is None:
            pairs[pair] = [ballot, weight, 1]
        else:
            seen[2] += 1
    merged: dict[bytes, tuple[Mapping[str, Any], Fraction]] = {}
    for (ident, _), (ballot, weight, times) in pairs.items():
        key = ident if type(ident) is bytes else _canonical(ballot)
        old = merged.get(key)
        total = weight * times
        merged[key] = (ballot, total if old is None else old[1] + total)
    return tuple(merged[k] for k in sorted(merged))


def _default_count_ballots() -> CountBallots | None:
    try:
        from konsilo.counting.tally import (  # type: ignore[import-not-found,unused-ignore]  # noqa: PLC0415
            count_ballots,
        )
    except ImportError:
        return None
    result: CountBallots = count_ballots
    return result


class Replay:
    """The state of one organisation rebuilt from its record entries.

    ``count_ballots`` recounts tallies (default: ``konsilo.counting.tally.count_ballots``
    when installed); ``informational`` names extra entry types to accept without state;
    ``read_text`` reads a long text by its SHA-256 (a census's weights may be one).
    """

    def __init__(
        self,
        *,
        count_ballots: CountBallots | None = None,
        informational: Collection[str] = (),
        read_text: Callable[[str], bytes | None] | None = None,
    ) -> None:
        self.count_ballots = count_ballots or _default_count_ballots()
        self.read_text = read_text
        self.informational = frozenset(INFORMATIONAL_TYPES | set(informational))
        self.slug: str | None = None
        self.name = ""
        self.timezone = "UTC"
        self.graph: CouncilGraph | None = None
        self.council_names: dict[str, str] = {}
        self.members: dict[str, MemberState] = {}
        self.offices: list[OfficeState] = []
        self.policies: dict[tuple[str, str], list[PolicyVersion]] = {}
        self.stewards: set[str] = set()
        self.censuses: list[tuple[dt.date, str, dict[str, int]]] = []
        self.vote_censuses_rederived = 0
        # Every member who ever held a membership of each base (in the order they came), and
        # the delegate seats of each council: what a vote's census is re-derived from.
        self._held: dict[str, dict[str, MemberState]] = {}
        self._seats: dict[str, list[OfficeState]] = {}
        # The last census derived for each base (its day, basis and roots, the base's change
        # count then, the weights), and how often a membership or status of one of the
        # base's members has changed: a census is derived again only after such a change.
        self._derived: dict[str, tuple[Any, int, dict[str, Fraction]]] = {}
        self._changes: dict[str, int] = {}
        # The basis of a base's vote census under the organisation's policy, by the number of
        # organisation policy versions it was resolved from.
        self._vote_basis: tuple[int, str] | None = None
        # The item each instruction vote instructs on, and the bases each sent item reaches.
        self._instruction_of: dict[str, str] = {}
        self._reach: dict[str, frozenset[str]] = {}
        # Each item's decision type and ballot shape (``proposal.created``); each sent item's
        # delegations (lower council -> the council its delegation votes in) and their
        # weights, re-derived from the memberships when its vote opened; and the
        # intermediate councils' votes of delegations opened before the sent item's own
        # vote (in the same sending), whose weights are checked once it has opened.
        self._kinds: dict[str, tuple[str, str]] = {}
        self._sent_weights: dict[str, tuple[dict[str, str], dict[str, Fraction]]] = {}
        self._delegations_unchecked: list[VoteState] = []
        self.votes: dict[str, VoteState] = {}
        self.decisions_recounted = 0
        self.mandates_rederived = 0
        self.entries = 0
        self._handlers: dict[str, Callable[[int, Mapping[str, Any], Mapping[str, Any]], None]] = {
            "organisation.created": self._organisation_created,
            "organisation.levels_set": self._levels_set,
            "policy.versioned": self._policy_versioned,
            "steward.added": self._steward_added,
            "council.created": self._council_created,
            "delegation.created": self._delegation_created,
            "council.renamed": self._council_renamed,
            "member.joined": self._member_joined,
            "member.updated": self._member_updated,
            "membership.added": self._membership_added,
            "membership.ended": self._membership_ended,
            "membership.primary_changed": self._primary_changed,
            "member.status_changed": self._status_changed,
            "office.assigned": self._office_assigned,
            "census.frozen": self._census_frozen,
            "proposal.created": self._proposal_created,
            "vote.opened": self._vote_opened,
            "ballot.cast": self._ballot_cast,
            "ballot.participated": self._ballot_participated,
            "tally.recorded": self._tally_recorded,
            "vote.extended": self._vote_extended,
            "vote.closed": self._vote_closed,
            "mandate.derived": self._mandate_derived,
            "delegation.voted": self._delegation_voted,
            "proposal.amended": self._proposal_amended,
            "amendment.listed": self._amendment_listed,
            "postponement.requested": self._postponement_requested,
            "vote.postponed": self._vote_postponed,
            "out_of_mandate.settled": self._out_of_mandate_settled,
        }
        self.mandates: dict[tuple[str, str], Mandate] = {}
        # The last instructed mandate of each delegation on each text (content hash), which
        # carry_previous_position carries to an item with the identical text (§3.2).
        self._last_mandate: dict[tuple[str, str], Mandate] = {}
        # Per mandate: its policy, and the item it was derived from (the base's or an
        # intermediate council's instruction vote; None when the base could not vote) with
        # whether that is an intermediate council's vote.
        self._unsealed: list[VoteState] = []  # closed, no checkpoint signed over it yet
        self._mandate_policies: dict[tuple[str, str], MandatePolicy] = {}
        self._sources: dict[tuple[str, str], tuple[str | None, bool]] = {}
        self._mandate_keys: dict[str, list[str]] = {}
        # Items sent to the bases: the text voted on, when the vote opens, its round.
        self._sent: set[str] = set()
        self._texts: dict[str, str] = {}
        self._opens: dict[str, dt.datetime] = {}
        self._rounds: dict[str, int] = {}
        # Amendments outside the mandates (§3.10): the text outside some mandate until it is
        # settled or postponed, who asked for time on it, the settlement's steps, and the
        # delegations whose mandate on a re-sent text is awaited.
        self._amended: dict[str, str] = {}
        self._asked: dict[str, dict[str, str]] = {}
        self._settled: dict[str, dict[str, OutOfMandate]] = {}
        self._awaiting: dict[str, set[str]] = {}
        self.settlements_rederived = 0
        # Amendments listed in advance on a sent item, in its current round (text hash ->
        # label); the delegations' mandates on them are kept under `_listed_key`.
        self._listed: dict[str, dict[str, str]] = {}

    # -- the entry point ----------------------------------------------------------------

    def apply(self, index: int, entry: Mapping[str, Any]) -> None:
        """Apply one decoded entry; raise `ReplayError` if it cannot apply to the state."""
        entry_type = entry.get("type")
        kind = entry_type if isinstance(entry_type, str) else repr(entry_type)
        try:
            data = entry.get("data")
            if type(data) is not dict and not isinstance(data, Mapping):
                raise _Refused(f"data: expected an object, got {data!r}")
            if kind != "organisation.created" and self.slug is None:
                raise _Refused("the record must start with organisation.created")
            handler = self._handlers.get(kind)
            if handler is None:
                if kind in self.informational:
                    self.entries += 1
                    return
                raise _Refused(
                    f"unknown entry type {kind!r}; a verifier must understand every entry"
                )
            handler(index, entry, data)
        except _Refused as exc:
            raise ReplayError(index, kind, str(exc)) from None
        except GovernanceError as exc:
            raise ReplayError(index, kind, str(exc)) from None
        self.entries += 1

    def checkpoint_signed(self, size: int, note_sha256: bytes) -> None:
        """A signed checkpoint of ``size`` entries covers everything applied so far.

        The votes closed since the last one take the seed of their lots from it: the
        SHA-256 of its note as published (``note_sha256``) with the item's id.
        """
        for vote in self._unsealed:
            if vote.closed_at is not None and vote.closed_at < size:
                vote.seed = closing_seed(vote.item, note_sha256)
                vote.seed_checkpoint = size
        self._unsealed = [v for v in self._unsealed if v.seed is None]

    def counts(self) -> Mapping[str, int]:
        """How much was re-derived: tallies recounted, mandates, frozen censuses and the
        censuses of votes."""
        return {
            "decisions_recounted": self.decisions_recounted,
            "mandates_rederived": self.mandates_rederived,
            "censuses_rederived": len(self.censuses),
            "vote_censuses_rederived": self.vote_censuses_rederived,
            "settlements_rederived": self.settlements_rederived,
        }

    # -- organisation, policies -----------------------------------------------------------

    def _require_graph(self) -> CouncilGraph:
        assert self.graph is not None
        return self.graph

    def _organisation_created(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        if self.slug is not None:
            raise _Refused(f"organisation {self.slug!r} was already created")
        slug = _text(data, "slug")
        if entry.get("org") != slug:
            raise _Refused(f"data.slug {slug!r} differs from the entry's org {entry.get('org')!r}")
        levels = data.get("levels")
        if not isinstance(levels, list):
            raise _Refused(f"data.levels: expected a list of level names, got {levels!r}")
        rule = data.get("parent_rule", "tree")
        self.graph = CouncilGraph.build(levels=levels, councils=[], parent_rule=rule)
        self.slug = slug
        self.name = _text(data, "name")
        self.timezone = str(data.get("timezone", "UTC"))

    def _levels_set(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        graph = self._require_graph()
        levels = data.get("levels")
        if not isinstance(levels, list):
            raise _Refused(f"data.levels: expected a list of level names, got {levels!r}")
        self.graph = CouncilGraph.build(
            levels=levels,
            councils=[graph.spec(k) for k in graph],
            parent_rule=graph.parent_rule,
        )

    def _policy_versioned(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        scope = data.get("scope")
        target = data.get("target", "")
        if scope == "organisation":
            if target:
                raise _Refused(f"data.target: the organisation scope has none, got {target!r}")
        elif scope == "council":
            if target not in self._require_graph():
                raise _Refused(f"data.target: unknown council {target!r}")
        elif scope == "decision_type":
            if target not in DECISION_TYPES:
                raise _Refused(f"data.target: unknown decision type {target!r}")
        else:
            raise _Refused(
                f"data.scope: expected organisation, council or decision_type, got {scope!r}"
            )
        version = PolicyVersion.from_canonical(data)
        versions = self.policies.setdefault((scope, str(target)), [])
        expected = len(versions) + 1
        if version.number != expected:
            raise _Refused(
                f"data.number: expected version {expected} of the {scope} policy"
                f"{' of ' + str(target) if target else ''}, got {version.number}"
            )
        problems = validate(version.values, preset=version.preset)
        if problems:
            raise _Refused(f"the policy values cannot work: {problems[0]}")
        versions.append(version)

    def _steward_added(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        user = _text(data, "user")
        if user in self.stewards:
            raise _Refused(f"{user} is already a steward")
        self.stewards.add(user)

    # -- councils and delegations ---------------------------------------------------------

    def _council_created(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        graph = self._require_graph()
        key = _text(data, "key")
        if key in graph:
            raise _Refused(f"council {key!r} already exists")
        level = _text(data, "level")
        self.graph = graph.with_council(CouncilSpec(key, level, ()))
        self.council_names[key] = _text(data, "name")

    def _delegation_created(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        graph = self._require_graph()
        lower, higher = _text(data, "from"), _text(data, "to")
        if lower not in graph:
            raise _Refused(f"data.from: unknown council {lower!r}")
        if higher not in graph:
            raise _Refused(f"data.to: unknown council {higher!r}")
        if higher in graph.parents(lower):
            raise _Refused(f"{lower!r} already sends a delegation to {higher!r}")
        self.graph = graph.with_parents(lower, (*graph.parents(lower), higher))

    def _council_renamed(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        key = _text(data, "key")
        if key not in self._require_graph():
            raise _Refused(f"data.key: unknown council {key!r}")
        self.council_names[key] = _text(data, "name")

    # -- members and memberships ----------------------------------------------------------

    def _base(self, key: Any, where: str) -> str:
        graph = self._require_graph()
        if not isinstance(key, str) or key not in graph:
            raise _Refused(f"{where}: unknown council {key!r}")
        if not graph.is_base(key):
            raise _Refused(f"{where}: {key!r} is a delegate council; members join base councils")
        return key

    def _member(self, data: Mapping[str, Any]) -> MemberState:
        record_id = data.get("member")
        member = self.members.get(record_id) if isinstance(record_id, str) else None
        if member is None:
            raise _Refused(f"data.member: unknown member {record_id!r}")
        return member

    def _member_joined(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        record_id = _text(data, "member")
        if record_id in self.members:
            raise _Refused(f"member {record_id!r} already joined")
        base = self._base(data.get("base"), "data.base")
        secondary = data.get("secondary", [])
        if not isinstance(secondary, list):
            raise _Refused(f"data.secondary: expected a list of councils, got {secondary!r}")
        keys = [self._base(k, "data.secondary") for k in secondary]
        if base in keys or len(set(keys)) != len(keys):
            raise _Refused("data.secondary: a council appears twice among the member's bases")
        status = data.get("status", "good_standing")
        if status not in MEMBER_STATUSES:
            raise _Refused(f"data.status: expected one of {MEMBER_STATUSES}, got {status!r}")
        start = _req_date(data, "start")
        member = MemberState(record_id, _text(data, "name"), status)
        self._hold(member, MembershipState(base, True, start))
        for k in keys:
            self._hold(member, MembershipState(k, False, start))
        self.members[record_id] = member

    def _hold(self, member: MemberState, membership: MembershipState) -> None:
        """Give the member a membership, and index them under its council."""
        member.memberships.append(membership)
        self._held.setdefault(membership.council, {})[member.record_id] = member
        self._changed(member)

    def _changed(self, member: MemberState) -> None:
        """A membership or the status of ``member`` changed: so may the census of every
        base they belong to (their primary base decides their weight in the others)."""
        changes = self._changes
        for m in member.memberships:
            changes[m.council] = changes.get(m.council, 0) + 1

    def _end_open(self, member: MemberState, council: str, on: dt.date) -> None:
        for m in member.open_memberships():
            if m.council == council:
                if on < m.start:
                    raise _Refused(
                        f"the membership of {member.record_id} in {council!r} would end on "
                        f"{on.isoformat()}, before it started on {m.start.isoformat()}"
                    )
                m.end = on
                self._changed(member)

    def _new_primary(self, member: MemberState, council: str, on: dt.date) -> None:
        current = member.primary()
        if current is not None:
            self._end_open(member, current.council, on)
        self._end_open(member, council, on)
        self._hold(member, MembershipState(council, True, on))

    def _member_updated(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        member = self._member(data)
        changes = data.get("changes")
        if not isinstance(changes, Mapping):
            raise _Refused(f"data.changes: expected an object, got {changes!r}")
        on = _req_date(data, "on")
        if "name" in changes:
            member.name = _text(changes, "name")
        if "base" in changes:
            base = self._base(changes["base"], "data.changes.base")
            current = member.primary()
            if current is not None and current.council == base:
                raise _Refused(f"{base!r} is already the member's primary base")
            self._new_primary(member, base, on)
        if "secondary" in changes:
            wanted_list = changes["secondary"]
            if not isinstance(wanted_list, list):
                raise _Refused(f"data.changes.secondary: expected a list, got {wanted_list!r}")
            wanted = {self._base(k, "data.changes.secondary") for k in wanted_list}
            primary = member.primary()
            have = {m.council for m in member.open_memberships() if not m.primary}
            if primary is not None and primary.council in wanted:
                raise _Refused(f"data.changes.secondary: {primary.council!r} is the primary base")
            for key in sorted(wanted - have):
                self._hold(member, MembershipState(key, False, on))
            for key in sorted(have - wanted):
                self._end_open(member, key, on)

    def _membership_added(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        member = self._member(data)
        council = self._base(data.get("council"), "data.council")
        if data.get("primary", False) is not False:
            raise _Refused("data.primary: an added membership is secondary; change the primary")
        if any(m.council == council for m in member.open_memberships()):
            raise _Refused(f"{member.record_id} is already a member of {council!r}")
        if member.primary() is None:
            raise _Refused(f"{member.record_id} has no primary base to add a secondary one to")
        self._hold(member, MembershipState(council, False, _req_date(data, "start")))

    def _membership_ended(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        member = self._member(data)
        council = _text(data, "council")
        held = [m for m in member.open_memberships() if m.council == council]
        if not held:
            raise _Refused(f"{member.record_id} holds no open membership of {council!r}")
        if held[0].primary:
            raise _Refused(f"the primary base {council!r} cannot just end; it is changed")
        self._end_open(member, council, _req_date(data, "end"))

    def _primary_changed(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        member = self._member(data)
        council = self._base(data.get("to"), "data.to")
        current = member.primary()
        recorded = data.get("from")
        if (current.council if current else None) != recorded:
            raise _Refused(
                f"data.from: the member's primary base is "
                f"{current.council if current else None!r}, not {recorded!r}"
            )
        if current is not None and current.council == council:
            raise _Refused(f"{council!r} is already the primary base")
        self._new_primary(member, council, _req_date(data, "on"))

    def _status_changed(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        member = self._member(data)
        status = data.get("status")
        if status not in MEMBER_STATUSES:
            raise _Refused(f"data.status: expected one of {MEMBER_STATUSES}, got {status!r}")
        if status == member.status:
            raise _Refused(f"{member.record_id} already has status {status!r}")
        member.status = str(status)
        self._changed(member)

    # -- offices and census ---------------------------------------------------------------

    def _office_assigned(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        graph = self._require_graph()
        member = self._member(data)
        kind = data.get("kind")
        if kind not in OFFICE_KINDS:
            raise _Refused(f"data.kind: expected one of {OFFICE_KINDS}, got {kind!r}")
        council = _text(data, "council")
        if council not in graph:
            raise _Refused(f"data.council: unknown council {council!r}")
        delegation_from = data.get("delegation_from")
        if delegation_from is not None:
            if delegation_from not in graph or council not in graph.parents(delegation_from):
                raise _Refused(
                    f"data.delegation_from: {delegation_from!r} sends no delegation to {council!r}"
                )
            below = graph.bases_below(delegation_from)
            if not any(m.council in below for m in member.open_memberships()):
                raise _Refused(
                    f"{member.record_id} is not a member below {delegation_from!r}, so cannot "
                    "sit in its delegation"
                )
        if any(
            o.member == member.record_id and o.council == council and o.end is None
            for o in self.offices
        ):
            raise _Refused(f"{member.record_id} already holds a seat in {council!r}")
        office = OfficeState(
            member.record_id,
            str(kind),
            council,
            delegation_from,
            _req_date(data, "start"),
            _date(data, "scheduled_end", optional=True),
        )
        self.offices.append(office)
        self._seats.setdefault(council, []).append(office)

    def membership_specs(self) -> list[MembershipSpec]:
        """Every membership replayed so far, as the census takes them."""
        return [
            MembershipSpec(m.record_id, s.council, s.primary, s.start, s.end, m.status)
            for m in self.members.values()
            for s in m.memberships
        ]

    def _census_frozen(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        on = _req_date(data, "on")
        basis = data.get("basis")
        if basis not in CENSUS_BASES:
            raise _Refused(f"data.basis: expected one of {CENSUS_BASES}, got {basis!r}")
        recorded = data.get("represented")
        if not isinstance(recorded, Mapping):
            raise _Refused(f"data.represented: expected an object, got {recorded!r}")
        census = take_census(
            self._require_graph(), self.membership_specs(), on=on, basis=str(basis)
        )
        derived = dict(census.represented_by_council())
        if _canonical(derived) != _canonical(dict(recorded)):
            diff = sorted(
                k for k in set(derived) | set(recorded) if derived.get(k) != recorded.get(k)
            )
            first = diff[0]
            raise _Refused(
                f"the recorded census does not follow from the memberships: council {first!r} "
                f"represents {derived.get(first)} members on {on.isoformat()}, the record says "
                f"{recorded.get(first)}"
            )
        self.censuses.append((on, str(basis), derived))

    # -- votes, ballots and tallies -------------------------------------------------------

    def _vote(self, data: Mapping[str, Any]) -> VoteState:
        item = data.get("item")
        vote = self.votes.get(item) if isinstance(item, str) else None
        if vote is None:
            raise _Refused(f"data.item: no vote was opened on item {item!r}")
        return vote

    def _vote_opened(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        item = _text(data, "item")
        if item in self.votes:
            raise _Refused(f"a vote on item {item!r} was already opened")
        council = data.get("council", entry.get("council", ""))
        if council and council not in self._require_graph():
            raise _Refused(f"data.council: unknown council {council!r}")
        rule = data.get("rule", {})
        census = data.get("census", {})
        if not isinstance(rule, Mapping) or not isinstance(census, Mapping):
            raise _Refused("data.rule and data.census: expected objects")
        self.votes[item] = VoteState(
            item=item,
            opened_at=index,
            council=str(council),
            method=_text(data, "method"),
            rule=rule,
            secret=bool(data.get("secret", False)),
            census=census,
            weights=self._weights(census),
            closes_at=str(data.get("closes_at", "")),
            closes=_maybe_instant(data.get("closes_at")),
        )
        vote = self.votes[item]
        if vote.closes is not None:
            vote.closes_text = vote.closes.astimezone(dt.UTC).strftime(_TIME_FORMAT)
        if vote.weights:
            # The weights are a few shared objects: hash each distinct one once.
            vote.weight_set = frozenset({id(w): w for w in vote.weights.values()}.values())
        members = census.get("basis") in CENSUS_BASES
        if _ZERO in vote.weight_set and members and "instruction_of" not in data:
            raise _Refused(
                "data.census: a member weighs 0 only in a base's instruction vote on an item "
                "that also reaches their primary base (§3.4); this vote instructs on nothing"
            )
        if "instruction_of" in data:
            self._instruction_of[item] = _text(data, "instruction_of")
        self._check_census(vote, entry, data)
        if "cascade" in data or "cascade_sha256" in data:  # an item sent to the bases
            texts = data.get("texts")
            digest = texts.get(item) if isinstance(texts, Mapping) else None
            opens = _maybe_instant(data.get("opens_at"))
            if not isinstance(digest, str) or opens is None:
                raise _Refused("a sent item's vote.opened needs its text's hash and opens_at")
            self._sent.add(item)
            self._texts[item] = digest
            self._opens[item] = opens
            self._reach[item] = self._cascade_bases(data)
        if census.get("basis") == "delegations":
            self._check_delegations(vote, entry, data)

    # -- the census of a vote ---------------------------------------------------------------

    def _check_census(
        self, vote: VoteState, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        """Re-derive the census a vote froze when it opened, and refuse it if it differs.

        A base's vote: its members on the census day (`base_vote_weights`), on the basis
        the organisation's policy gives, with weight 0 for a member whose primary base the
        same sent item reaches (§3.4). A council of delegates' own vote: the delegates
        seated there that day. The delegations' votes of a sent item: `_check_delegations`.
        """
        census = vote.census
        basis = census.get("basis")
        weights = vote.weights
        _check_totals(census, vote.rule, weights)
        if basis == "delegations":
            return
        graph = self._require_graph()
        council = vote.council
        if not council:
            raise _Refused("data.council: a vote's census is of a council; none is named")
        if weights is None:
            raise _Refused("data.census.weights: expected the census's voters and weights")
        on = self._census_day(census, entry)
        if basis in CENSUS_BASES:
            if not graph.is_base(council):
                raise _Refused(
                    f"data.census.basis: {council!r} is a council of delegates; its census "
                    f"is of its delegates, not {basis!r}"
                )
            expected = self._base_vote_basis()
            if basis != expected:
                raise _Refused(
                    f"data.census.basis: the organisation's policy freezes a base's census "
                    f"on {expected!r}, the record says {basis!r}"
                )
            roots = self._roots(vote) if vote.item in self._instruction_of else frozenset()
            derived = self._base_census(council, on, str(basis), roots)
        elif basis == "enrolled_delegates":
            if graph.is_base(council):
                raise _Refused(
                    f"data.census.basis: {council!r} is a base; its census is of its members, "
                    "not of enrolled delegates"
                )
            seats = self._seats.get(council, ())
            derived = _exact(
                delegate_vote_weights(
                    ((o.member, o.start, o.end) for o in seats if o.kind == "delegate"), on=on
                )
            )
        else:
            raise _Refused(
                f"data.census.basis: expected one of {', '.join(CENSUS_BASES)}, "
                f"enrolled_delegates or delegations, got {basis!r}"
            )
        difference = census_difference(derived, weights)
        if difference is not None:
            raise _Refused(
                "the recorded census does not follow from the memberships and seats: "
                + difference.explain(council, on)
            )
        self.vote_censuses_rederived += 1

    def _proposal_created(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        # Read when the item is sent to the bases (its delegations' weights); a proposal
        # created before a field was recorded is refused only then, if ever.
        item, kind, shape = data.get("item"), data.get("decision_type"), data.get("ballot_shape")
        if isinstance(item, str) and isinstance(kind, str):
            self._kinds[item] = (kind, shape if isinstance(shape, str) else "")

    def _resolved(self, council: str | None, decision_type: str | None) -> ResolvedPolicy:
        """A council's policy for a decision type as the platform resolves it now: the latest
        versions of the decision type's, the council's and the organisation's policies."""

        def latest(scope: str, target: str) -> PolicyVersion | None:
            versions = self.policies.get((scope, target))
            return versions[-1] if versions else None

        layers: list[PolicyLayer] = []
        for scope, target in (("decision_type", decision_type), ("council", council)):
            version = latest(scope, target) if target else None
            if version is not None:
                layers.append(version.layer(scope))
        organisation = latest("organisation", "")
        if organisation is not None:
            layers.append(organisation.layer("organisation"))
        return resolve(
            layers,
            preset=organisation.preset if organisation is not None else None,
            level_rank=self._require_graph().level_rank(council) if council else None,
            decision_type=decision_type,
        )

    def _check_delegations(
        self, vote: VoteState, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        """Re-derive the weights of the delegations voting in a sent item's vote, or in an
        intermediate council's vote on it, and refuse a census that differs.

        The weights are the platform's at the sending (§2.1, §3.6): `delegation_weights`
        from the members each council represents on the census day (`take_census`, on the
        organisation's ``structure.represented_count_basis``), the sending council's
        ``structure.vote_weight`` for the item's decision type and the item's composition;
        under ``pass_through`` (not for consent) an intermediate delegation carries its
        delegations' weights summed (`forwarded_weights`). They are derived when the sent
        item's own vote opens; an intermediate council's vote opened before it, in the same
        sending, is checked then.
        """
        item = vote.item
        if item in self._sent and item not in self._sent_weights:
            self._sent_weights[item] = self._sending_weights(vote, entry, data)
            waiting, self._delegations_unchecked = self._delegations_unchecked, []
            for other in (vote, *waiting):
                root = self._sent_root(other)
                if root is None:
                    self._delegations_unchecked.append(other)
                else:
                    self._delegations_match(other, *self._sent_weights[root])
            return
        root = self._sent_root(vote)
        if root is None:
            self._delegations_unchecked.append(vote)
        else:
            self._delegations_match(vote, *self._sent_weights[root])

    def _sent_root(self, vote: VoteState) -> str | None:
        """The sent item whose delegations vote in ``vote``, once its weights are derived."""
        item, seen = vote.item, {vote.item}
        while item not in self._sent_weights:
            higher = self._instruction_of.get(item)
            if higher is None or higher in seen:
                return None
            item = higher
            seen.add(item)
        return item

    def _sending_weights(
        self, vote: VoteState, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, Fraction]]:
        graph = self._require_graph()
        top = vote.council
        kind = self._kinds.get(vote.item)
        if kind is None:
            raise _Refused(
                f"data.item: no proposal.created with its decision type for the sent item "
                f"{vote.item!r}"
            )
        decision_type, shape = kind
        policy = self._resolved(top, decision_type)
        composition = data.get("composition", composition_of(policy))
        if composition not in COMPOSITIONS:
            raise _Refused(
                f"data.composition: expected one of {', '.join(COMPOSITIONS)}, got {composition!r}"
            )
        on = self._census_day(vote.census, entry)
        basis = self._resolved(None, None).value("structure.represented_count_basis")
        census = take_census(
            graph,
            self.membership_specs(),
            on=on,
            basis=basis if basis in {"members", "members_in_good_standing"} else "members",
        )
        weights = delegation_weights(
            graph,
            top=top,
            represented=census.represented_by_council(),
            vote_weight=policy.value("structure.vote_weight"),
            composition=str(composition),
        )
        if composition == "pass_through" and shape != "consent":
            weights = forwarded_weights(graph, top=top, weights=weights)
        return item_delegations(graph, top=top, composition=str(composition)), weights

    def _delegations_match(
        self, vote: VoteState, plan: Mapping[str, str], weights: Mapping[str, Fraction]
    ) -> None:
        expected = {
            delegation_key(lower, above): weights[delegation_key(lower, above)]
            for lower, above in plan.items()
            if above == vote.council
        }
        recorded = vote.weights
        if recorded is None:
            raise _Refused("data.census.weights: expected the delegations and their weights")
        for key in sorted(set(expected) | set(recorded)):
            if expected.get(key) != recorded.get(key):
                derived, said = expected.get(key, "nothing"), recorded.get(key, "nothing")
                raise _Refused(
                    f"the recorded census does not follow from the memberships: delegation "
                    f"{key} weighs {derived} on item {vote.item!r}, the record says {said}"
                )
        self.vote_censuses_rederived += 1

    def _base_census(
        self, council: str, on: dt.date, basis: str, roots: frozenset[str]
    ) -> dict[str, Fraction]:
        """Who may vote in the base ``council`` on day ``on``, with what weight
        (`base_vote_weights`), from the memberships of everyone who ever belonged to it."""
        key = (on, basis, roots)
        changes = self._changes.get(council, 0)
        last = self._derived.get(council)
        if last is not None and last[0] == key and last[1] == changes:
            return last[2]
        specs = [
            MembershipSpec(m.record_id, s.council, s.primary, s.start, s.end, m.status)
            for m in self._held.get(council, {}).values()
            for s in m.memberships
        ]
        derived = _exact(base_vote_weights(council, specs, on=on, basis=basis, root_bases=roots))
        self._derived[council] = (key, changes, derived)
        return derived

    def _census_day(self, census: Mapping[str, Any], entry: Mapping[str, Any]) -> dt.date:
        """The day a vote's census was frozen: its ``on``, within a day of the entry's time
        (the day where the platform runs may differ from the day in UTC), or, in a census
        that names no day, the entry's day in UTC."""
        when = _maybe_instant(entry.get("time"))
        day = when.astimezone(dt.UTC).date() if when is not None else None
        if "on" not in census:
            if day is None:
                raise _Refused(
                    f"time: expected the instant the vote opened, got {entry.get('time')!r}"
                )
            return day
        on = _req_date(census, "on")
        if day is not None and abs((on - day).days) > 1:
            raise _Refused(
                f"data.census.on: a census frozen when the vote opened at {entry.get('time')} "
                f"is of that day, not of {on.isoformat()}"
            )
        return on

    def _base_vote_basis(self) -> str:
        """The basis of a base's vote census under the organisation's current policy."""
        versions = self.policies.get(("organisation", ""), [])
        if self._vote_basis is None or self._vote_basis[0] != len(versions):
            last = versions[-1] if versions else None
            policy = resolve(
                [last.layer()] if last is not None else [],
                preset=last.preset if last is not None else None,
            )
            basis = vote_census_basis(policy.value("structure.represented_count_basis"))
            self._vote_basis = (len(versions), basis)
        return self._vote_basis[1]

    def _roots(self, vote: VoteState) -> frozenset[str]:
        """The bases the item an instruction vote instructs on reaches: up through the
        items instructed on to the one sent to the bases (§3.4: one weight per root)."""
        item, seen = vote.item, {vote.item}
        while item not in self._reach:
            higher = self._instruction_of.get(item)
            if higher is None or higher in seen:
                raise _Refused(
                    f"data.instruction_of: the vote on {vote.item!r} instructs on "
                    f"{self._instruction_of[vote.item]!r}, which no item sent to the bases "
                    "leads to"
                )
            seen.add(higher)
            item = higher
        return self._reach[item]

    def _cascade_bases(self, data: Mapping[str, Any]) -> frozenset[str]:
        """The bases whose delegations a sent item's cascade names (``lower->higher``)."""
        cascade: Any = data.get("cascade")
        digest = data.get("cascade_sha256")
        if cascade is None and isinstance(digest, str):
            text = self.read_text(digest) if self.read_text is not None else None
            if text is None:
                raise _Refused(f"data.cascade_sha256: the long text {digest} is missing")
            try:
                cascade = canonical.loads(text)
            except ValueError as exc:
                raise _Refused(f"data.cascade_sha256: not canonical JSON ({exc})") from None
        if not isinstance(cascade, Mapping):
            raise _Refused(f"data.cascade: expected an object, got {type(cascade).__name__}")
        graph = self._require_graph()
        lowers = {str(key).partition("->")[0] for key in cascade}
        return frozenset(k for k in lowers if k in graph and graph.is_base(k))

    def _weights(self, census: Mapping[str, Any]) -> Mapping[str, Fraction] | None:
        """The census's weights by voter, inline or from the long text they were stored in."""
        raw: Any = census.get("weights")
        digest = census.get("weights_sha256")
        if raw is None and isinstance(digest, str):
            text = self.read_text(digest) if self.read_text is not None else None
            if text is None:
                raise _Refused(f"data.census.weights_sha256: the long text {digest} is missing")
            try:
                raw = canonical.loads(text)
            except ValueError as exc:
                raise _Refused(f"data.census.weights_sha256: not canonical JSON ({exc})") from None
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            raise _Refused(f"data.census.weights: expected an object, got {type(raw).__name__}")
        known = _FRACTIONS  # the parsed weights: a census repeats a few of them
        weights: dict[str, Fraction] = {}
        for k, v in raw.items():
            weight = known.get(v) if type(v) is str else None
            if weight is None:
                weight = _fraction(v, f"census weight of {k}")
            weights[str(k)] = weight
        return weights

    def _vote_extended(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        vote = self._vote(data)
        if vote.tallied_at is not None:
            raise _Refused(f"the vote on item {vote.item!r} closed at entry {vote.tallied_at}")
        vote.closes_at = _text(data, "closes_at")
        vote.closes = _maybe_instant(vote.closes_at)
        if vote.closes is not None:
            vote.closes_text = vote.closes.astimezone(dt.UTC).strftime(_TIME_FORMAT)

    def _vote_closed(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        vote = self._vote(data)
        if vote.tallied_at is not None:
            raise _Refused(f"the vote on item {vote.item!r} was tallied at entry {vote.tallied_at}")
        if vote.closed_at is not None:
            raise _Refused(f"the vote on item {vote.item!r} was closed at entry {vote.closed_at}")
        if vote.closes is not None and _before(entry.get("time"), vote):
            raise _Refused(
                f"item {vote.item!r} closed at {entry.get('time')}, before its deadline "
                f"{vote.closes_at}: the seed of its lots would be known while ballots can "
                "still be cast"
            )
        vote.closed_at = index
        self._unsealed.append(vote)

    def _ballot_cast(self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        vote = self._vote(data)
        if vote.tallied_at is not None:
            raise _Refused(
                f"a ballot on item {vote.item!r} after its vote closed (tally at entry "
                f"{vote.tallied_at}): only ballots cast while the vote is open count"
            )
        _require_open(vote, index)
        ballot = data.get("ballot")
        if type(ballot) is not dict and not isinstance(ballot, Mapping):
            raise _Refused(f"data.ballot: expected an object, got {ballot!r}")
        weight = _fraction(data.get("weight", "1"), "data.weight")
        if weight < 0 or (weight == 0 and _ZERO not in vote.weight_set):
            # Weight 0 only where the census gives it (§3.4: a member of two bases).
            raise _Refused(f"data.weight: expected a positive weight, got {weight}")
        weights = vote.weights
        if vote.secret:
            if "voter" in data:
                raise _Refused("data.voter: a secret ballot names no voter")
            key = "r:" + _text(data, "receipt")
            if vote.weight_set and weight not in vote.weight_set:
                raise _Refused(f"data.weight: {weight} is no weight of the vote's census")
        else:
            if "receipt" in data:
                raise _Refused("data.receipt: an open ballot names its voter, not a receipt")
            voter = _text(data, "voter")
            if vote.closes is not None and _after(entry.get("time"), vote):
                raise _Refused(
                    f"an open ballot on item {vote.item!r} cast at {entry.get('time')}, after "
                    f"the vote closed at {vote.closes_at}"
                )
            if weights is not None:
                known = weights.get(voter)
                if known is None:
                    raise _Refused(f"data.voter: {voter!r} is not in the vote's census")
                if known is not weight and known != weight:
                    raise _Refused(
                        f"data.weight: {voter!r} votes with weight {known} in the "
                        f"census, the ballot says {weight}"
                    )
            key = "v:" + voter
        vote.ballots[key] = (ballot, weight)

    def _ballot_participated(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        vote = self._vote(data)
        if not vote.secret:
            raise _Refused(f"item {vote.item!r} is an open vote; ballots name their voters")
        if vote.tallied_at is not None:
            raise _Refused(f"the vote on item {vote.item!r} closed at entry {vote.tallied_at}")
        _require_open(vote, index)
        member = _text(data, "member")
        if vote.weights is not None and member not in vote.weights:
            raise _Refused(f"data.member: {member!r} is not in the vote's census")
        if member in vote.participated:
            raise _Refused(f"{member!r} already took part in the vote on item {vote.item!r}")
        vote.participated.add(member)

    def _tally_recorded(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        vote = self._vote(data)
        if vote.tallied_at is not None:
            raise _Refused(f"item {vote.item!r} was already tallied at entry {vote.tallied_at}")
        method, rule = data.get("method"), data.get("rule")
        if method != vote.method or not isinstance(rule, Mapping):
            raise _Refused(
                f"data.method: the vote was opened with {vote.method!r}, the tally says {method!r}"
            )
        expected = vote.rule
        if vote.closed_at is not None:
            expected = {**vote.rule, "seed": self._closing_seed(vote, rule, data)}
        if _canonical(rule) != _canonical(expected):
            raise _Refused("data.rule: the tally's rule differs from the rule the vote opened with")
        census = data.get("census")
        if census is not None and _canonical(census) != _canonical(vote.census):
            raise _Refused("data.census: the tally's census differs from the one the vote froze")
        cast = list(vote.ballots.values())
        if vote.secret and len(cast) > len(vote.participated):
            raise _Refused(
                f"{len(cast)} secret ballots on item {vote.item!r} but only "
                f"{len(vote.participated)} members took part"
            )
        # A ballot of weight 0 (§3.4) is recorded, and counted for nothing.
        ballots = [(b, w) for b, w in cast if w]
        if data.get("ballots") != len(ballots):
            raise _Refused(
                f"data.ballots: the record holds {len(ballots)} ballots that count on item "
                f"{vote.item!r}, the tally says {data.get('ballots')!r}"
            )
        if data.get("weightless", 0) != len(cast) - len(ballots):
            raise _Refused(
                f"data.weightless: the record holds {len(cast) - len(ballots)} ballots of "
                f"weight 0 on item {vote.item!r}, the tally says {data.get('weightless', 0)!r}"
            )
        if self.count_ballots is None:
            raise _Refused("cannot recount: konsilo.counting.tally is not available")
        try:
            result = self.count_ballots(vote.method, rule, ballots)
        except ValueError as exc:
            raise _Refused(f"the ballots cannot be counted: {exc}") from None
        recounted = _canonical_result(result)
        if recounted != _canonical(data.get("result")):
            raise _Refused(
                f"the recorded result of item {vote.item!r} differs from the recount of its "
                f"{len(ballots)} ballots"
            )
        vote.tallied_at = index
        vote.counted = _grouped(ballots)
        vote.result = result
        vote.ballots.clear()
        vote.participated.clear()
        self.decisions_recounted += 1

    def _closing_seed(
        self, vote: VoteState, rule: Mapping[str, Any], data: Mapping[str, Any]
    ) -> str:
        """The seed of a closed vote's lots, once the tally's claims about it are checked."""
        if vote.seed is None:
            raise _Refused(
                f"the tally of item {vote.item!r} comes before any checkpoint signed over its "
                f"closing at entry {vote.closed_at}, so the seed of its lots is not fixed yet"
            )
        claimed = data.get("seed_checkpoint")
        if claimed != vote.seed_checkpoint or rule.get("seed") != vote.seed:
            raise _Refused(
                f"data.rule.seed: the lots of item {vote.item!r} are seeded by the first "
                f"checkpoint signed after its closing at entry {vote.closed_at} (size "
                f"{vote.seed_checkpoint}): expected {vote.seed!r} from it, the tally says "
                f"{rule.get('seed')!r} from size {claimed!r}"
            )
        return vote.seed

    # -- mandates ---------------------------------------------------------------------------

    def _delegation(self, data: Mapping[str, Any]) -> tuple[str, str, str]:
        key = _text(data, "delegation")
        lower, arrow, higher = key.partition("->")
        graph = self._require_graph()
        if not arrow or lower not in graph or higher not in graph:
            raise _Refused(f"data.delegation: expected '<lower>-><higher>' councils, got {key!r}")
        # A base's delegation sits in its parent, or at the top of an item under direct base
        # representation (the intermediate levels bypassed, §3.5).
        if higher not in graph.parents(lower) and higher not in graph.ancestors(lower):
            raise _Refused(f"data.delegation: {lower!r} sends no delegation to {higher!r}")
        return key, lower, higher

    def _mandate_derived(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        key, lower, _ = self._delegation(data)
        item = _text(data, "item")
        recorded = data.get("mandate")
        if not isinstance(recorded, Mapping):
            raise _Refused(f"data.mandate: expected an object, got {recorded!r}")
        policy = _mandate_policy(data.get("policy"))
        if "base_vote" not in data:
            raise _Refused(
                "data.base_vote: expected the base's instruction vote (BaseVote.to_canonical(), "
                "or null when the base did not vote) to re-derive the mandate from"
            )
        raw_vote = data.get("base_vote")
        base_vote = None
        if raw_vote is not None:
            base_item = raw_vote.get("item") if isinstance(raw_vote, Mapping) else None
            tallied = self.votes.get(base_item) if isinstance(base_item, str) else None
            if tallied is None or tallied.tallied_at is None:
                raise _Refused(
                    f"data.base_vote: the record holds no tally of the base's item {base_item!r}"
                )
            if tallied.council and tallied.council != lower:
                raise _Refused(
                    f"data.base_vote: item {base_item!r} was voted in {tallied.council!r}, "
                    f"not in the base {lower!r}"
                )
            base_vote = _base_vote(raw_vote, tallied.result)
            # Every ballot carried up was counted in the base's tally (a secondary member's
            # ballot counts there but carries no weight up, so it may be missing here).
            counted = {_canonical(dict(b)): w for b, w in tallied.counted}
            for ballot, weight in base_vote.ballots:
                if weight > counted.get(_canonical(dict(ballot)), Fraction(0)):
                    raise _Refused(
                        f"data.base_vote: {weight} for {_canonical(dict(ballot)).decode()} is "
                        f"more than the tally of {base_item!r} at entry {tallied.tallied_at} "
                        "counted"
                    )
        weight = _fraction(recorded.get("weight"), "data.mandate.weight")
        higher_vote = self.votes.get(item)
        if higher_vote is not None and higher_vote.weights is not None:
            census_weight = higher_vote.weights.get(key)
            if census_weight is not None and census_weight != weight:
                raise _Refused(
                    f"data.mandate.weight: {key} carries {census_weight} in the census of "
                    f"item {item!r}, the mandate says {weight}"
                )
        seats = data.get("seats")
        composition = data.get("composition")
        if composition is not None and not self._require_graph().is_base(lower):
            # An intermediate council's delegation: its mandate comes from the council's own
            # vote (its delegations' votes) by the item's composition (§3.5).
            delegations = data.get("delegations")
            try:
                mandate = derive_council_mandate(
                    base_vote,
                    composition=str(composition),
                    delegation=key,
                    content_hash=_text(recorded, "content_hash"),
                    weight=weight,
                    policy=policy,
                    item=item,
                    method=str(recorded.get("method", "motion")),
                    delegations=delegations
                    if isinstance(delegations, int) and not isinstance(delegations, bool)
                    else None,
                    seed=data.get("seed") if isinstance(data.get("seed"), str) else None,
                    previous=self._last_mandate.get((key, _text(recorded, "content_hash"))),
                )
            except GovernanceError as exc:
                raise _Refused(f"the mandate of {key} cannot be derived: {exc}") from None
            kept = self._kept_under(item, data, recorded)
            self._keep_mandate(kept, key, recorded, mandate)
            self._keep_source(kept, key, policy, raw_vote, intermediate=True)
            return
        # konsilo.governance.mandates.mandate_derived_data writes item, delegation, policy,
        # mandate and window; content hash and weight are the mandate's own.
        mandate = derive_mandate(
            base_vote,
            delegation=key,
            content_hash=_text(recorded, "content_hash"),
            weight=weight,
            policy=policy,
            item=item,
            method=str(recorded.get("method", "motion")),
            window=_window(data.get("window")),
            previous=self._last_mandate.get((key, _text(recorded, "content_hash"))),
            seats=seats if isinstance(seats, int) and not isinstance(seats, bool) else None,
            seed=data.get("seed") if isinstance(data.get("seed"), str) else None,
        )
        kept = self._kept_under(item, data, recorded)
        self._keep_mandate(kept, key, recorded, mandate)
        self._keep_source(kept, key, policy, raw_vote, intermediate=False)

    def _kept_under(self, item: str, data: Mapping[str, Any], recorded: Mapping[str, Any]) -> str:
        """Where a derived mandate is kept: under its item, or, for a delegation's mandate
        on an amendment listed on a sent item (``data.listed``, its text hash), under
        `_listed_key` beside its mandate on the text sent."""
        listed = data.get("listed")
        if listed is None:
            return item
        content = _text(recorded, "content_hash")
        if listed != content:
            raise _Refused(
                f"data.listed: the mandate is on {content}, the entry says listed amendment "
                f"{listed!r}"
            )
        if item not in self._sent:
            return item  # in a council in between: its own vote on the amendment
        if listed not in self._listed.get(item, {}):
            raise _Refused(f"data.listed: {listed} is no amendment listed on item {item!r}")
        return _listed_key(item, listed)

    def _mandate_on(self, item: str, key: str) -> tuple[Mandate, MandatePolicy] | None:
        """The delegation's mandate governing its vote on the item's current text, with its
        policy (``mandate_on_text``): on a listed amendment with that text, or on the text
        sent; None before its mandate on the text sent is derived."""
        mandate = self.mandates.get((item, key))
        if mandate is None:
            return None
        policy = self._mandate_policies[(item, key)]
        text = self._texts.get(item)
        listed = self._listed.get(item)
        if not listed or text is None:
            return mandate, policy
        versions = [(mandate, policy)]
        for digest in listed:
            on = self.mandates.get((_listed_key(item, digest), key))
            if on is not None:
                versions.append((on, self._mandate_policies[(_listed_key(item, digest), key)]))
        chosen = mandate_on_text([m for m, _ in versions], voted_hash=text, policy=policy)
        return next((m, p) for m, p in versions if m is chosen)

    def _keep_source(
        self, item: str, key: str, policy: MandatePolicy, raw_vote: Any, *, intermediate: bool
    ) -> None:
        self._mandate_policies[(item, key)] = policy
        source = raw_vote.get("item") if isinstance(raw_vote, Mapping) else None
        self._sources[(item, key)] = (source if isinstance(source, str) else None, intermediate)
        keys = self._mandate_keys.setdefault(item, [])
        if key not in keys:
            keys.append(key)
        awaited = self._awaiting.get(item)
        if awaited is not None:
            awaited.discard(key)

    def _keep_mandate(
        self, item: str, key: str, recorded: Mapping[str, Any], mandate: Mandate
    ) -> None:
        if _canonical_result(mandate) != _canonical(dict(recorded)):
            raise _Refused(
                f"the recorded mandate of {key} on item {item!r} differs from the one derived "
                f"from the base's tally and the policy ({mandate.status}: "
                f"{mandate.explanation})"
            )
        self.mandates[(item, key)] = mandate
        if mandate.instructed:
            self._last_mandate[(key, mandate.content_hash)] = mandate
        self.mandates_rederived += 1

    def _delegation_voted(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        key, _, higher = self._delegation(data)
        item = _text(data, "item")
        ballot = data.get("ballot")
        if not isinstance(ballot, Mapping):
            raise _Refused(f"data.ballot: expected an object, got {ballot!r}")
        weight = _fraction(data.get("weight"), "data.weight")
        governing = self._mandate_on(item, key)
        mandate, policy = governing if governing is not None else (None, None)
        settled = self._settled.get(item, {}).get(key)
        if key in self._awaiting.get(item, ()):
            raise _Refused(
                f"{key} votes on item {item!r} before its mandate on the re-sent text is derived"
            )
        if settled is not None:
            # Outside the mandate, the settlement's step binds: an abstention, or discretion.
            cast = {(_canonical(dict(b)), w) for b, w in settled.votes}
            if not settled.discretion and (_canonical(dict(ballot)), weight) not in cast:
                raise _Refused(
                    f"{key} votes {_canonical(dict(ballot)).decode()} with weight {weight} on "
                    f"item {item!r}, against the settlement of the vote outside its mandate "
                    f"({settled.step})"
                )
        elif mandate is not None and self._outside(item, key) is not None:
            raise _Refused(
                f"{key} votes on the amended text of item {item!r}, outside its mandate, "
                "before the vote on it was settled"
            )
        elif (
            mandate is not None
            and policy is not None
            and mandate.binding
            # An unchecked delegate's vote counts as cast (``mandate.departed`` notes it).
            and policy.enforcement != "delegate_casts_unchecked"
        ):
            cast = {(_canonical(dict(b)), w) for b, w in mandate.votes}
            if (_canonical(dict(ballot)), weight) not in cast:
                raise _Refused(
                    f"{key} votes {_canonical(dict(ballot)).decode()} with weight {weight} on "
                    f"item {item!r}, against its binding mandate"
                )
        vote = self.votes.get(item)
        if vote is not None:
            if vote.tallied_at is not None:
                raise _Refused(f"the vote on item {item!r} closed at entry {vote.tallied_at}")
            if vote.council and vote.council != higher:
                raise _Refused(
                    f"{key} votes in {higher!r}, but item {item!r} is in {vote.council!r}"
                )
            _require_open(vote, index)
            vote.ballots["d:" + key + ":" + _canonical(dict(ballot)).decode()] = (ballot, weight)

    # -- amendments outside the mandates (§3.10) ------------------------------------------

    def _outside(self, item: str, key: str) -> OutOfMandate | None:
        """What the delegation does on the item's current text if its mandate does not
        cover it (``out_of_mandate`` with the steps it took), else None."""
        governing = self._mandate_on(item, key)
        text = self._texts.get(item)
        if governing is None or text is None:
            return None
        mandate, policy = governing
        if key not in self._asked.get(item, {}):
            policy = without_asking(policy)
        return out_of_mandate(mandate, voted_hash=text, policy=policy)

    def _sent_vote(self, data: Mapping[str, Any]) -> VoteState:
        vote = self._vote(data)
        if vote.item not in self._sent:
            raise _Refused(f"item {vote.item!r} was not sent to the bases")
        if vote.tallied_at is not None:
            raise _Refused(f"the vote on item {vote.item!r} closed at entry {vote.tallied_at}")
        return vote

    def _before_opening(self, entry: Mapping[str, Any], item: str, doing: str) -> None:
        when = _maybe_instant(entry.get("time"))
        opens = self._opens[item]
        if when is None or when >= opens:
            raise _Refused(
                f"{doing} at {entry.get('time')}, but the vote on item {item!r} opened at "
                f"{opens.isoformat()}"
            )

    def _voting_keys(self, vote: VoteState) -> list[str]:
        """The delegations voting in a sent item (its census), each with its mandate."""
        keys = sorted(vote.weights or {})
        missing = [
            k
            for k in keys
            if (vote.item, k) not in self.mandates or k in self._awaiting.get(vote.item, ())
        ]
        if not keys or missing:
            raise _Refused(
                f"the delegations voting on item {vote.item!r} do not all have their mandate "
                f"yet (missing: {', '.join(missing) or 'every delegation'})"
            )
        return keys

    def _represented(self, item: str, key: str) -> Fraction:
        """The members a delegation represents: its base's census when its instruction
        vote opened, or the sum over the delegations voting in an intermediate council."""
        source, intermediate = self._sources.get((item, key), (None, False))
        if source is None:
            return Fraction(0)
        if intermediate:
            return sum(
                (self._represented(source, k) for k in self._mandate_keys.get(source, ())),
                Fraction(0),
            )
        vote = self.votes.get(source)
        total = vote.census.get("total_weight") if vote is not None else None
        return _fraction(total, f"the census of {source!r}") if total is not None else Fraction(0)

    def _withdraw(self, vote: VoteState, keys: Collection[str], recorded: Any) -> None:
        """Take the listed delegations' votes out of the item; they must be the entry's."""
        prefixes = tuple(f"d:{k}:" for k in keys)
        taken = sorted(
            (k.split(":", 2)[1], _canonical(dict(b)), w)
            for k, (b, w) in vote.ballots.items()
            if k.startswith(prefixes)
        )
        if not isinstance(recorded, list):
            raise _Refused(f"data.withdrawn: expected a list, got {recorded!r}")
        try:
            listed = sorted(
                (
                    str(v["delegation"]),
                    _canonical(dict(v["ballot"])),
                    _fraction(v["weight"], "data.withdrawn.weight"),
                )
                for v in recorded
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise _Refused("data.withdrawn: expected delegation, ballot and weight") from None
        if listed != taken:
            raise _Refused(
                f"data.withdrawn: the votes withdrawn on item {vote.item!r} are not those the "
                f"record holds for {', '.join(sorted(keys)) or 'no delegation'}"
            )
        for k in [k for k in vote.ballots if k.startswith(prefixes)]:
            del vote.ballots[k]

    def _proposal_amended(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        vote = self._sent_vote(data)
        item = vote.item
        self._before_opening(entry, item, "the text was amended")
        previous, new = _text(data, "previous_sha256"), _text(data, "text_sha256")
        if previous != self._texts[item]:
            raise _Refused(
                f"data.previous_sha256: item {item!r} votes on {self._texts[item]}, not on "
                f"{previous}"
            )
        if new == previous:
            raise _Refused("data.text_sha256: the amended text is the text voted on already")
        keys = self._voting_keys(vote)
        before = {k: self._mandate_on(item, k) for k in keys}
        self._texts[item] = new
        self._asked[item] = {}
        after = {k: self._mandate_on(item, k) for k in keys}
        outside = [k for k in keys if self._outside(item, k) is not None]
        if data.get("outside_mandate") != outside:
            raise _Refused(
                f"data.outside_mandate: the new text is outside the mandates of "
                f"{', '.join(outside) or 'no delegation'}, the entry says "
                f"{data.get('outside_mandate')!r}"
            )
        label = self._listed.get(item, {}).get(new)
        if data.get("listed") != label:
            raise _Refused(
                f"data.listed: the new text is "
                f"{'amendment ' + repr(label) if label else 'no amendment'} listed on item "
                f"{item!r}, the entry says {data.get('listed')!r}"
            )
        # Votes cast under another mandate than the one now governing are withdrawn too.
        moved = [k for k in keys if k in outside or after[k] != before[k]]
        self._withdraw(vote, moved, data.get("withdrawn"))
        if outside:
            self._amended[item] = new
        else:
            self._amended.pop(item, None)

    def _amendment_listed(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        """An amendment listed in advance on a sent item (§3.10): every council below
        instructs on its text too, before the delegations' mandates are derived."""
        vote = self._sent_vote(data)
        item = vote.item
        label, digest = _text(data, "label"), _text(data, "text_sha256")
        self._before_opening(entry, item, f"amendment {label!r} was listed")
        round_ = self._rounds.get(item, 1)
        if data.get("round") != round_:
            raise _Refused(
                f"data.round: item {item!r} is in round {round_}, not {data.get('round')!r}"
            )
        if digest == self._texts[item]:
            raise _Refused(f"data.text_sha256: amendment {label!r} is the text voted on itself")
        listed = self._listed.setdefault(item, {})
        if digest in listed or label in listed.values():
            raise _Refused(f"amendment {label!r} ({digest}) is listed on item {item!r} already")
        derived = sorted(k for k in vote.weights or {} if (item, k) in self.mandates)
        if derived:
            raise _Refused(
                f"amendment {label!r} is listed on item {item!r} after the mandates of "
                f"{', '.join(derived)} were derived: the bases instruct on listed amendments "
                "beside the text"
            )
        listed[digest] = label

    def _postponement_requested(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        key, lower, higher = self._delegation(data)
        vote = self._sent_vote(data)
        item = vote.item
        voted = _text(data, "voted_hash")
        if self._amended.get(item) != voted:
            raise _Refused(
                f"data.voted_hash: item {item!r} does not vote on {voted} outside the mandates"
            )
        self._before_opening(entry, item, f"{key} asked to postpone")
        asked = self._asked.setdefault(item, {})
        if key in asked:
            raise _Refused(f"{key} asked to postpone the vote on {voted} already")
        governing = self._mandate_on(item, key)
        if governing is None:
            raise _Refused(f"{key} has no mandate on item {item!r}")
        mandate, policy = governing
        action = out_of_mandate(mandate, voted_hash=voted, policy=policy)
        if action is None or not action.events:
            raise _Refused(f"{key}'s steps on a text outside its mandate do not ask for time")
        if _canonical_result(list(action.events)) != _canonical(data.get("events")):
            raise _Refused(f"data.events: not the requests {key}'s steps make on {voted}")
        by = _text(data, "requested_by")
        if (by == "system") != (policy.enforcement == "system_casts"):
            raise _Refused(
                f"data.requested_by: under {policy.enforcement} {key}'s request is made by "
                f"{'the platform' if policy.enforcement == 'system_casts' else 'its delegate'}"
            )
        if by != "system" and not any(
            o.member == by
            and o.kind == "delegate"
            and o.council == higher
            and o.delegation_from == lower
            and o.end is None
            for o in self.offices
        ):
            raise _Refused(f"data.requested_by: {by!r} holds no seat of {key}")
        represented = _fraction(data.get("represented"), "data.represented")
        if represented != self._represented(item, key):
            raise _Refused(
                f"data.represented: {key} represents {self._represented(item, key)} members on "
                f"item {item!r}, the entry says {represented}"
            )
        asked[key] = by

    def _settlement(self, data: Mapping[str, Any], *, postponed: bool) -> OutOfMandateVote:
        """Re-derive a vote outside the mandates with ``settle_out_of_mandate`` from the
        replayed mandates, the requests and the members represented."""
        vote = self._sent_vote(data)
        item = vote.item
        voted = _text(data, "voted_hash")
        if self._amended.get(item) != voted:
            raise _Refused(
                f"data.voted_hash: item {item!r} does not vote on {voted} outside the mandates"
            )
        keys = self._voting_keys(vote)
        asked = self._asked.get(item, {})
        if data.get("requested") != asked:
            raise _Refused(
                f"data.requested: the record holds requests to postpone from "
                f"{', '.join(sorted(asked)) or 'no delegation'}, the entry says "
                f"{data.get('requested')!r}"
            )
        recorded = data.get("represented")
        if not isinstance(recorded, Mapping) or sorted(recorded) != keys:
            raise _Refused(f"data.represented: expected the members of {', '.join(keys)}")
        delegations = []
        for key in keys:
            represented = self._represented(item, key)
            if _fraction(recorded[key], "data.represented") != represented:
                raise _Refused(
                    f"data.represented: {key} represents {represented} members on item "
                    f"{item!r}, the entry says {recorded[key]}"
                )
            governing = self._mandate_on(item, key)
            assert governing is not None  # _voting_keys: every delegation has its mandate
            mandate, policy = governing
            if key not in asked:
                policy = without_asking(policy)
            delegations.append((mandate, policy, represented))
        threshold = self._mandate_policies[(item, keys[0])].postponement_threshold
        settled = settle_out_of_mandate(
            delegations, item=item, voted_hash=voted, threshold=threshold
        )
        if settled.postponed != postponed:
            raise _Refused(
                f"the vote on {voted} is {'' if settled.postponed else 'not '}postponed by the "
                f"requests the record holds: {settled.explanation}"
            )
        if _canonical_result(settled) != _canonical(data.get("settlement")):
            raise _Refused(
                f"data.settlement: differs from the vote on {voted} settled from the record "
                f"({settled.explanation})"
            )
        self.settlements_rederived += 1
        return settled

    def _vote_postponed(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        settled = self._settlement(data, postponed=True)
        vote = self.votes[settled.item]
        item = vote.item
        round_ = self._rounds.get(item, 1) + 1
        if data.get("round") != round_:
            raise _Refused(f"data.round: expected round {round_}, got {data.get('round')!r}")
        keys = self._voting_keys(vote)
        # Nobody's vote on the postponed text stands.
        self._withdraw(vote, keys, data.get("withdrawn"))
        opens = _maybe_instant(data.get("opens_at"))
        closes = _maybe_instant(data.get("closes_at"))
        if opens is None or closes is None or not opens < closes:
            raise _Refused("data.opens_at, data.closes_at: expected the later vote's window")
        when = _maybe_instant(entry.get("time"))
        if when is not None and opens < when:
            raise _Refused(f"data.opens_at: the postponed vote opens at {opens}, in the past")
        self._rounds[item] = round_
        self._opens[item] = opens
        vote.closes_at = _text(data, "closes_at")
        vote.closes = closes
        vote.closes_text = closes.astimezone(dt.UTC).strftime(_TIME_FORMAT)
        for key in keys:
            del self.mandates[(item, key)]
            # The amendments listed belong to the postponed round's instructions.
            for digest in self._listed.get(item, {}):
                self.mandates.pop((_listed_key(item, digest), key), None)
        self._listed.pop(item, None)
        self._awaiting[item] = set(keys)
        self._amended.pop(item, None)
        self._asked.pop(item, None)

    def _out_of_mandate_settled(
        self, index: int, entry: Mapping[str, Any], data: Mapping[str, Any]
    ) -> None:
        settled = self._settlement(data, postponed=False)
        item = settled.item
        when = _maybe_instant(entry.get("time"))
        if when is None or when < self._opens[item]:
            raise _Refused(
                f"the vote on item {item!r} is settled at {entry.get('time')}, before it opens "
                f"at {self._opens[item].isoformat()}"
            )
        self._settled[item] = {a.delegation: a for a in settled.actions}
        self._amended.pop(item, None)


_ASKING = ("request_postponement", "refer_back")


def _listed_key(item: str, digest: str) -> str:
    """Where a delegation's mandate on an amendment listed on ``item`` is kept (beside its
    mandate on the text sent, kept under ``item``)."""
    return f"{item}#listed:{digest}"


def without_asking(policy: MandatePolicy) -> MandatePolicy:
    """The steps of a delegation that did not ask for time on a text outside its mandate.

    A delegation asks to postpone (or refers the text back) when its delegate, or the
    platform for the votes it casts, makes the request; without one its steps go on to the
    fallback (``abstain`` when nothing else is left, as ``out_of_mandate`` falls back). The
    web actions and the replay settle the vote with the same steps (§3.10).

    >>> without_asking(MandatePolicy()).out_of_mandate_amendment
    ('abstain',)
    """
    steps = tuple(s for s in policy.out_of_mandate_amendment if s not in _ASKING)
    return replace(policy, out_of_mandate_amendment=steps or ("abstain",))


def _exact(weights: Mapping[str, int]) -> dict[str, Fraction]:
    """Whole weights as the shared exact numbers a recorded census's weights parse to."""
    shared = {w: _fraction(str(w), "weight") for w in set(weights.values())}
    return {k: shared[w] for k, w in weights.items()}


def _check_totals(
    census: Mapping[str, Any], rule: Mapping[str, Any], weights: Mapping[str, Fraction] | None
) -> None:
    """A census's head count and total weight, and the electorate its rule counts the quorum
    against, must be its weights': those who weigh more than 0, and their total."""
    if weights is None:
        return
    if "voters" in census and census["voters"] != len(weights):
        raise _Refused(
            f"data.census.voters: the census lists {len(weights)} voters, it says "
            f"{census['voters']!r}"
        )
    # The weights are a few shared objects: count each one's voters, then multiply.
    values = weights.values()
    times = Counter(map(id, values))
    if len(times) == 1:
        distinct = {id(w): w for w in (next(iter(values)),)}
    else:
        distinct = {id(w): w for w in values}
    total = sum((distinct[k] * n for k, n in times.items()), _ZERO)
    positive = sum(n for k, n in times.items() if distinct[k])
    for where, claimed in (
        ("data.census.total_weight", census.get("total_weight")),
        ("data.rule.eligible_weight", rule.get("eligible_weight")),
    ):
        if claimed is not None and _fraction(claimed, where) != total:
            raise _Refused(f"{where}: the census's weights add up to {total}, not {claimed}")
    eligible = rule.get("eligible")
    if eligible is not None and eligible != positive:
        raise _Refused(
            f"data.rule.eligible: {positive} voters of the census weigh more than 0, the rule "
            f"counts {eligible!r}"
        )


def _instant(value: Any, where: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Refused(f"{where}: expected an ISO instant, got {value!r}") from None
    if when.tzinfo is None:
        raise _Refused(f"{where}: expected an instant with a time zone, got {value!r}")
    return when


def _mandate_policy(raw: Any) -> MandatePolicy:
    if not isinstance(raw, Mapping):
        raise _Refused(f"data.policy: expected the mandate policy as an object, got {raw!r}")
    values = dict(raw)
    if "mandate.postponement_threshold" in values:
        values["mandate.postponement_threshold"] = _fraction(
            values["mandate.postponement_threshold"], "data.policy.mandate.postponement_threshold"
        )
    return MandatePolicy.from_policy(values)


def _motion_rule(raw: Any) -> Any:
    if isinstance(raw, Mapping):
        from konsilo.counting.motion import MotionRule  # noqa: PLC0415 (only motions need it)

        fraction = raw.get("fraction")
        return MotionRule(
            str(raw.get("kind")), None if fraction is None else _fraction(fraction, "rule")
        )
    return raw


def _base_vote(raw: Any, result: Any) -> BaseVote:
    """A `BaseVote` from its canonical data (``BaseVote.to_canonical``)."""
    if not isinstance(raw, Mapping):
        raise _Refused(f"data.base_vote: expected an object or null, got {raw!r}")
    try:
        return BaseVote.from_canonical(raw, result=result)
    except MandateError as exc:  # str(exc) starts with the field, when it names one
        raise _Refused(f"data.base_vote.{exc}" if exc.field else f"data.base_vote: {exc}") from None


def _window(raw: Any) -> VoteWindow | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise _Refused(f"data.window: expected an object or null, got {raw!r}")
    return VoteWindow(
        instruction_deadline=_instant(raw.get("instruction_deadline"), "data.window"),
        opens_at=_instant(raw.get("opens_at"), "data.window"),
        closes_at=_instant(raw.get("closes_at"), "data.window"),
    )


def _maybe_instant(value: Any) -> dt.datetime | None:
    """An aware instant from ISO text, or None when it is not one."""
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the ledger's entry times (UTC, microseconds)


def _after(time: Any, vote: VoteState) -> bool:
    """Whether an entry's time is after the vote's deadline (unknown: no)."""
    deadline = vote.closes
    if deadline is None:
        return False
    if isinstance(time, str) and len(time) == 27 and time[-1] == "Z":
        # Same fixed format: comparing the texts compares the instants.
        return time > vote.closes_text
    when = _maybe_instant(time)
    return when is not None and when > deadline


def _before(time: Any, vote: VoteState) -> bool:
    """Whether an entry's time is before the vote's deadline (unknown: yes)."""
    if isinstance(time, str) and len(time) == 27 and time[-1] == "Z" and vote.closes_text:
        return time < vote.closes_text
    when = _maybe_instant(time)
    return when is None or (vote.closes is not None and when < vote.closes)


def _require_open(vote: VoteState, index: int) -> None:
    """Refuse a ballot written after the vote's closing entry: the seed of its lots, made
    after the closing, must not be known to anyone who could still vote."""
    if vote.closed_at is not None and index > vote.closed_at:
        raise _Refused(
            f"a ballot on item {vote.item!r} after its closing at entry {vote.closed_at}: "
            "only ballots cast while the vote is open count"
        )


def _canonical_result(result: Any) -> bytes:
    return canonical.dumps(result)
