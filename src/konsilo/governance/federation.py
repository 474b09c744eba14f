"""Composing mandates across levels: from the members' votes in the bases to the top tally.

An item decided at a top council (a congress) is sent to every base below it. Each base's
instruction becomes its delegation's mandate (:mod:`konsilo.governance.mandates`); this
module carries the mandates up the council graph in one of three ways (domain-rules §3.5),
chosen per federation (``structure.composition``) and overridable per item:

1. ``re_deliberation`` (nested ``bound_majority``): each intermediate council decides its own
   position from its delegations' weighted votes, and that decision binds its delegation
   upward. A majority of majorities can pass what most members rejected.
2. ``pass_through`` (recursive ``bound_proportional``): intermediate delegations forward the
   weighted tallies of their bases unchanged; multi-option and ranked items forward the full
   weighted profile, so the top tally is a federation-wide count of the members' ballots,
   weighted as the delegations are (by represented members under a card vote).
3. ``direct_base_representation``: the intermediate levels are bypassed for the item and
   every base's delegation votes at the top, as at the CNT Congress.

Whatever the mode, every result above the first level carries the **member-level support**:
the sum of the members' own ballots in the bases below, with the members and bases that had
no instruction, so a majority of majorities can never hide a minority of members (§3.5).
Consent is not weight-aggregable (§3.21): a consent item always composes by each council
consenting over its delegations' stances, whatever the mode.

Two entry points compute the same numbers. :func:`compose` works on mandate objects for any
ballot shape; :func:`compose_arrays` handles yes/no/abstain items over very large
federations with the bases held in numpy ``int64`` arrays, each proportional share an integer
numerator over its delegation's own denominator, summed exactly (equal denominators first,
then one ``Fraction`` per distinct denominator).

Sources: domain-rules §2.1 (``direct_base_representation_at_top``), §2.3, §3.2, §3.4–3.6,
§3.11, §3.20, §3.21.

>>> from konsilo.governance.graph import CouncilSpec
>>> from konsilo.governance.mandates import T0
>>> graph = CouncilGraph.build(levels=("assembly", "congress"), councils=[
...     CouncilSpec("congress", "congress"), CouncilSpec("a", "assembly", ("congress",)),
...     CouncilSpec("b", "assembly", ("congress",))])
>>> votes = {k: BaseVote.motion(k, item="i", content_hash="h", yes=y, no=n, eligible=y + n,
...                             closed_at=T0) for k, y, n in [("a", 51, 49), ("b", 0, 100)]}
>>> r = compose(graph, top="congress", item="i", content_hash="h", votes=votes,
...             weights={"a->congress": 1, "b->congress": 1}, represented={"a": 100, "b": 100})
>>> r.result.outcome, r.members.count("yes"), r.members.count("no")
('rejected', Fraction(51, 1), Fraction(149, 1))
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from konsilo import canonical
from konsilo.counting import tally as counting_tally
from konsilo.counting.consent import Stance
from konsilo.counting.consent import count as count_consent
from konsilo.counting.methods import MethodError, count_by_name
from konsilo.counting.motion import MotionBallots, MotionRule
from konsilo.counting.motion import count as count_motion
from konsilo.counting.profile import ProfileError, RankedProfile
from konsilo.counting.result import Result
from konsilo.governance.errors import GraphError
from konsilo.governance.graph import CouncilGraph, CouncilSpec
from konsilo.governance.mandates import (
    Ballot,
    BaseVote,
    Mandate,
    MandateError,
    MandatePolicy,
    VoteWindow,
    WeightedBallot,
    _n,
    ballot_key,
    delegation_key,
    delegation_weight,
    derive_mandate,
    group_ballots,
)

__all__ = [
    "COMPOSITIONS",
    "ArrayFederationResult",
    "BaseTallies",
    "CouncilTally",
    "FederationArrays",
    "FederationResult",
    "MandateArrays",
    "MemberSupport",
    "QuorumCheck",
    "compose",
    "compose_arrays",
    "composition_of",
    "count_votes",
    "delegation_weights",
    "derive_council_mandate",
    "derive_mandate_arrays",
    "double_quorum",
    "forwarded_weights",
    "item_delegations",
    "position_vote",
    "schedule_graph",
]

COMPOSITIONS = ("re_deliberation", "pass_through", "direct_base_representation")

# An intermediate council's own position is derived from its delegations' votes, never judged
# for lateness (it is derived with no vote window), so its "closing time" is only a placeholder.
_POSITION_TIME = datetime(1970, 1, 1, tzinfo=UTC)

Counter = Callable[[str, Sequence[WeightedBallot]], Result]
Int64Array = npt.NDArray[np.int64]


def composition_of(policy: Mapping[str, Any]) -> str:
    """The composition mode of a resolved policy (``structure.composition``, §3.5).

    A value set at any layer wins; left at the platform default, a true
    ``structure.direct_base_representation_at_top`` (the CNT preset) means
    ``direct_base_representation``.

    >>> from konsilo.governance.policy import resolve
    >>> composition_of(resolve([], preset="cnt")), composition_of(resolve([], preset=None))
    ('direct_base_representation', 'pass_through')
    """
    chosen = policy.get("structure.composition")
    value = getattr(chosen, "value", chosen) or "pass_through"
    source = getattr(chosen, "source", "item")
    direct = policy.get("structure.direct_base_representation_at_top")
    if source == "default" and getattr(direct, "value", direct) is True:
        return "direct_base_representation"
    if value not in COMPOSITIONS:
        raise MandateError(
            f"expected one of {', '.join(COMPOSITIONS)}, got {value!r}",
            field="structure.composition",
            code="invalid_choice",
        )
    return str(value)


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberSupport:
    """The members' own ballots below one council, summed one member one vote (mode 2).

    ``ballots`` are the distinct member ballots with head counts; ``voted`` the members who
    returned a ballot and ``eligible`` those who could; ``uninstructed_members`` and
    ``uninstructed_bases`` the members represented by, and the number of, bases whose
    delegation had no instruction (§3.2).
    """

    council: str
    ballots: tuple[WeightedBallot, ...]
    voted: int
    eligible: int
    bases: int
    uninstructed_members: int
    uninstructed_bases: int

    def count(self, choice: str) -> Fraction:
        """Members whose ballot names ``choice`` (motion or plurality choice)."""
        return sum((w for b, w in self.ballots if b.get("choice") == choice), Fraction(0))

    @property
    def explanation(self) -> str:
        if self.ballots and all("choice" in b for b, _ in self.ballots):
            parts = ", ".join(
                f"{_n(w)} {b['choice'] if b['choice'] is not None else 'blank'}"
                for b, w in self.ballots
            )
        else:
            parts = f"{len(self.ballots)} distinct ballots"
        text = (
            f"Member-level support below {self.council}: {parts} "
            f"({self.voted} of {self.eligible} members in {self.bases} bases voted)."
        )
        if self.uninstructed_bases:
            text += (
                f" {self.uninstructed_members} members ({self.uninstructed_bases} bases) had no "
                "instruction on this item."
            )
        return text

    def to_canonical(self) -> dict[str, Any]:
        return {
            "council": self.council,
            "ballots": [{"ballot": b, "weight": w} for b, w in self.ballots],
            "voted": self.voted,
            "eligible": self.eligible,
            "bases": self.bases,
            "uninstructed_members": self.uninstructed_members,
            "uninstructed_bases": self.uninstructed_bases,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class CouncilTally:
    """One council above the bases: its delegations' weighted votes, its own count when it
    decides (the top, or an intermediate council that re-deliberates), and the members."""

    council: str
    votes: tuple[WeightedBallot, ...]
    result: Result | None
    members: MemberSupport
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "council": self.council,
            "votes": [{"ballot": b, "weight": w} for b, w in self.votes],
            "result": self.result,
            "members": self.members,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class FederationResult:
    """The top tally of an item, every mandate on the way, and member-level support."""

    item: str
    content_hash: str
    top: str
    composition: str
    result: Result
    mandates: Mapping[str, Mandate]
    councils: Mapping[str, CouncilTally]
    instructed_share: Fraction
    postponement_required: bool
    explanation: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "mandates", MappingProxyType(dict(sorted(self.mandates.items()))))
        object.__setattr__(self, "councils", MappingProxyType(dict(sorted(self.councils.items()))))

    @property
    def members(self) -> MemberSupport:
        """Member-level support below the top council."""
        return self.councils[self.top].members

    def to_canonical(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "content_hash": self.content_hash,
            "top": self.top,
            "composition": self.composition,
            "result": self.result,
            "mandates": dict(self.mandates),
            "councils": dict(self.councils),
            "instructed_share": self.instructed_share,
            "postponement_required": self.postponement_required,
            "explanation": self.explanation,
        }


# -- counting a council's weighted votes ---------------------------------------------------


def _without(ballot: Mapping[str, Any], bad: set[str]) -> dict[str, Any]:
    """A ballot with the options ruled invalid taken out (a vote for one becomes blank)."""
    out = dict(ballot)
    if "choice" in out and out["choice"] in bad:
        out["choice"] = None
    if "approve" in out:
        out["approve"] = [o for o in out["approve"] if o not in bad]
    for key in ("scores", "dots"):
        if key in out:
            out[key] = {o: v for o, v in out[key].items() if o not in bad}
    if "ranking" in out:
        groups = ([o for o in group if o not in bad] for group in out["ranking"])
        out["ranking"] = [g for g in groups if g]
    return out


def _count_ranked(
    method: str,
    votes: Sequence[WeightedBallot],
    *,
    options: Sequence[str],
    bad: set[str],
    seats: int | None,
    seed: str | None,
    extra: Mapping[str, Any],
) -> Result:
    profile = RankedProfile.from_rankings(
        list(options),
        [b["ranking"] for b, _ in votes],
        [w for _, w in votes],
        withdrawn=sorted(bad & set(options)),
    )
    rule: dict[str, Any] = {"seed": seed, **extra}
    if method != "irv":
        rule["seats"] = seats if seats is not None else 1
    try:
        return count_by_name(method, profile, **rule)
    except (MethodError, ProfileError) as err:
        raise MandateError(str(err), field="method", code="unsupported_method") from None


def count_votes(
    method: str,
    votes: Sequence[WeightedBallot],
    *,
    options: Sequence[str] = (),
    rule: MotionRule | str = "simple_majority",
    abstention_treatment: str = "excluded",
    tie_rule: str = "fails",
    invalid: Mapping[str, str] | None = None,
    stances: Sequence[tuple[str, WeightedBallot]] = (),
    seats: int | None = None,
    seed: str | None = None,
    method_rule: Mapping[str, Any] | None = None,
) -> Result:
    """Count a council's weighted delegation votes exactly under the item's method.

    Every method but consent goes through :func:`konsilo.counting.tally.count_ballots`, the
    count the web layer and ``konsilo verify`` use: motions compare exact rationals and a
    weighted tie fails (§3.3); plurality, approval, score and dot votes add weights; ranked
    items are counted by Schulze over the weighted profile, or by ``irv``, ``stv`` or
    ``meek`` (with ``seats``, and ``method_rule`` for the method's own options, such as
    ``{"rule": "scottish"}`` for STV) through :func:`konsilo.counting.methods.count_by_name`,
    so that the top count of a passed-through profile is the count of every member's ranking
    (§3.6; Meek's fixed point needs whole weights, as card votes with full turnout give).
    Consent counts one stance per
    delegation (``stances``), whatever its weight: consent is not weight-aggregable (§3.21).
    Options ruled invalid before the tally (``invalid``, §3.11) are taken out of the options
    and of every ballot (a vote for one counts as blank), so an invalid option never wins.
    ``tie_rule`` takes the catalogue's ``decision_rule.tie_rule_motion`` values ``fails`` and
    ``revote_once``; a chair's casting vote is an input the web layer supplies.
    """
    bad = set(invalid or {})
    if method == "consent":
        return count_consent(
            [
                Stance(member=key, stance=str(b["stance"]), reason=str(b.get("reason", "")))
                for key, (b, _) in stances
            ]
        )
    if method in ("irv", "stv", "meek"):
        return _count_ranked(
            method,
            group_ballots(votes),
            options=options,
            bad=bad,
            seats=seats,
            seed=seed,
            extra=dict(method_rule or {}),
        )
    if method not in counting_tally.METHODS:
        raise MandateError(
            f"no built-in count for {method!r} items; pass counter= to compose",
            field="method",
            code="unsupported_method",
        )
    cleaned = [(_without(b, bad), w) for b, w in group_ballots(votes)]
    spec: dict[str, Any]
    if method == "motion":
        the_rule = rule if isinstance(rule, MotionRule) else MotionRule(rule)
        if tie_rule not in ("fails", "revote_once"):
            raise MandateError(
                f"expected tie_rule fails or revote_once, got {tie_rule!r}; a chair's casting "
                "vote is counted by the web layer",
                field="decision_rule.tie_rule_motion",
                code="unsupported",
            )
        spec = {
            "rule": the_rule.kind,
            "fraction": the_rule.fraction,
            "abstention_treatment": abstention_treatment,
            "tie_rule": "revote" if tie_rule == "revote_once" else "fails",
        }
    else:
        spec = {"options": [o for o in options if o not in bad]}
        if seed is not None:
            spec["seed"] = seed
    return counting_tally.count_ballots(method, spec, cleaned)


@dataclass(frozen=True, slots=True)
class QuorumCheck:
    """Whether a higher council may decide, and the sentence saying why (§2.8, §3.8)."""

    met: bool
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {"met": self.met, "explanation": self.explanation}


def double_quorum(
    present: Collection[str],
    *,
    represented: Mapping[str, int],
    delegations: Fraction | None = Fraction(1, 2),
    members: Fraction | None = Fraction(1, 2),
) -> QuorumCheck:
    """The double quorum of a higher council: enough delegations present **and** enough of
    the represented members behind them (``quorum.double_quorum_delegations`` and
    ``quorum.double_quorum_represented``, 1/2 each above the base level), so neither many
    small bases nor a few large ones decide alone.

    ``represented`` maps every delegation entitled to sit to the members it represents.
    Presence is not instruction: a delegation present without an instruction still counts
    (§3.2), so a base cannot break quorum by not deciding. A vacant seat is absent (§3.7).

    >>> check = double_quorum({"a->c", "b->c"}, represented={"a->c": 10, "b->c": 10, "d->c": 500})
    >>> check.met, check.explanation.split("; ")[1]
    (False, 'they represent 20 of 520 members (at least 260 needed: not met): no quorum')
    """
    unknown = sorted(set(present) - set(represented))
    if unknown:
        raise MandateError(
            f"{', '.join(unknown)} are present but not entitled to sit", field="present"
        )
    count, total = len(set(present)), len(represented)
    weight = sum(represented[d] for d in set(present))
    all_members = sum(represented.values())
    parts: list[str] = []
    met = True
    if delegations is not None:
        need = Fraction(delegations) * total
        ok = count >= need
        met = met and ok
        parts.append(
            f"{count} of {total} delegations present (at least {_n(need)} needed: "
            f"{'met' if ok else 'not met'})"
        )
    if members is not None:
        need_m = Fraction(members) * all_members
        ok_m = weight >= need_m
        met = met and ok_m
        parts.append(
            f"they represent {weight} of {all_members} members (at least {_n(need_m)} needed: "
            f"{'met' if ok_m else 'not met'})"
        )
    verdict = "quorum met" if met else "no quorum"
    return QuorumCheck(met, "; ".join(parts) + f": {verdict}")


# -- composing with mandate objects --------------------------------------------------------


def _subtree(graph: CouncilGraph, top: str) -> tuple[list[str], dict[str, str]]:
    """Councils below ``top`` (children first) and each one's parent on the way to ``top``.

    In a DAG a council may reach ``top`` by two parents; its weight would then count twice,
    so that is refused (one path per decision root, §3.4).
    """
    below = graph.descendants(top)
    inside = below | {top}
    parent_of: dict[str, str] = {}
    for key in below:
        ups = [p for p in graph.parents(key) if p in inside]
        if len(ups) != 1:
            raise GraphError(
                f"council {key!r} reaches {top!r} through {', '.join(sorted(ups))}; its "
                "delegation would be counted twice. Expected one path per council to the "
                "council deciding the item (one person, one weight per decision root, §3.4)",
                field=f"councils.{key}.parents",
                code="double_path",
            )
        parent_of[key] = ups[0]
    order = [k for k in graph.topological_order() if k in below]
    return order, parent_of


def delegation_weights(
    graph: CouncilGraph,
    *,
    top: str,
    represented: Mapping[str, int],
    vote_weight: str = "per_delegate",
    seats: Mapping[str, int] | None = None,
    composition: str = "pass_through",
) -> dict[str, Fraction]:
    """Every delegation's weight W for one item, from the frozen census (§2.1, §3.6).

    ``represented`` is the census's represented count per council
    (:meth:`~konsilo.governance.census.Census.represented_by_council`); ``seats`` each
    council's delegation seats (default 1, ``structure.delegation_seats``). Under
    ``direct_base_representation`` the delegations are the bases' to ``top``.

    >>> from konsilo.governance.graph import CouncilSpec
    >>> g = CouncilGraph.build(levels=("assembly", "congress"), councils=[
    ...     CouncilSpec("congress", "congress"), CouncilSpec("a", "assembly", ("congress",))])
    >>> delegation_weights(g, top="congress", represented={"a": 120},
    ...                    vote_weight="represented_members")
    {'a->congress': Fraction(120, 1)}
    """
    order, parent_of = _subtree(graph, top)
    if composition == "direct_base_representation":
        order = [k for k in order if graph.is_base(k)]
        parent_of = dict.fromkeys(order, top)
    out: dict[str, Fraction] = {}
    for key in order:
        out[delegation_key(key, parent_of[key])] = delegation_weight(
            vote_weight, seats=(seats or {}).get(key, 1), represented=represented.get(key, 0)
        )
    return dict(sorted(out.items()))


def _default_policy(graph: CouncilGraph, lower: str) -> MandatePolicy:
    # Catalogue defaults: bound_majority at the base level, bound_proportional above (§2.3).
    mode = "bound_majority" if graph.level_rank(lower) == 0 else "bound_proportional"
    return MandatePolicy(mode=mode)


def item_delegations(
    graph: CouncilGraph, *, top: str, composition: str = "pass_through"
) -> dict[str, str]:
    """For one item sent from ``top``: every council below that votes on it, and the council
    its delegation votes in (§3.5).

    Under ``re_deliberation`` and ``pass_through`` every council below ``top`` votes and its
    delegation sits in its parent on the way to ``top``; under ``direct_base_representation``
    the intermediate levels are bypassed and every base's delegation votes at ``top``.

    >>> from konsilo.governance.graph import CouncilSpec
    >>> g = CouncilGraph.build(levels=("base", "region", "congress"), councils=[
    ...     CouncilSpec("congress", "congress"), CouncilSpec("r", "region", ("congress",)),
    ...     CouncilSpec("a", "base", ("r",))])
    >>> item_delegations(g, top="congress"), item_delegations(
    ...     g, top="congress", composition="direct_base_representation")
    ({'a': 'r', 'r': 'congress'}, {'a': 'congress'})
    """
    _check_composition(composition)
    order, parent_of = _subtree(graph, top)
    if composition == "direct_base_representation":
        return {k: top for k in sorted(order) if graph.is_base(k)}
    return dict(sorted(parent_of.items()))


def forwarded_weights(
    graph: CouncilGraph, *, top: str, weights: Mapping[str, Fraction]
) -> dict[str, Fraction]:
    """Delegation weights under ``pass_through``: an intermediate delegation forwards its
    delegations' tallies unchanged, so it carries exactly their weights summed (§3.5), and
    the higher census adds up to what can reach it. Bases' weights are kept.

    >>> from konsilo.governance.graph import CouncilSpec
    >>> g = CouncilGraph.build(levels=("base", "region", "congress"), councils=[
    ...     CouncilSpec("congress", "congress"), CouncilSpec("r", "region", ("congress",)),
    ...     CouncilSpec("a", "base", ("r",)), CouncilSpec("b", "base", ("r",))])
    >>> forwarded_weights(g, top="congress", weights={"a->r": Fraction(1), "b->r": Fraction(1),
    ...                                                "r->congress": Fraction(1)})["r->congress"]
    Fraction(2, 1)
    """
    plan = item_delegations(graph, top=top)
    out = {k: Fraction(v) for k, v in weights.items()}
    for lower in sorted(plan, key=lambda k: (graph.level_rank(k), k)):
        if graph.is_base(lower):
            continue
        out[delegation_key(lower, plan[lower])] = sum(
            (out[delegation_key(c, lower)] for c, up in plan.items() if up == lower),
            Fraction(0),
        )
    return dict(sorted(out.items()))


def schedule_graph(graph: CouncilGraph, *, top: str, composition: str) -> CouncilGraph:
    """The graph an item's cascading deadlines are computed on (:func:`cascade_deadlines`).

    The federation's own graph, except under ``direct_base_representation``: the bases then
    instruct delegations that vote at ``top`` itself, so they are scheduled directly below it.
    """
    if composition != "direct_base_representation":
        return graph
    specs = [CouncilSpec(top, graph.level_of(top))]
    specs.extend(
        CouncilSpec(base, graph.level_of(base), (top,))
        for base in sorted(item_delegations(graph, top=top, composition=composition))
    )
    return CouncilGraph.build(levels=graph.levels, councils=specs)


def position_vote(
    council: str,
    *,
    item: str,
    content_hash: str,
    method: str,
    votes: Sequence[WeightedBallot],
    rule: MotionRule | str = "simple_majority",
    result: Result | None = None,
    closed_at: datetime = _POSITION_TIME,
) -> BaseVote:
    """An intermediate council's vote on an item, made of its delegations' weighted votes.

    It is the input of its own delegation's mandate (:func:`derive_council_mandate`): no
    quorum of its own (its delegations' presence is a separate fact, §3.2), and everyone who
    voted is who could, so the count is that of the weights cast.
    """
    tally = group_ballots(votes)
    return BaseVote(
        base=council,
        item=item,
        content_hash=content_hash,
        method=method,
        ballots=tally,
        eligible=sum((w for _, w in tally), Fraction(0)),
        closed_at=closed_at,
        quorum=None,
        rule=rule,
        result=result,
    )


def derive_council_mandate(
    vote: BaseVote | None,
    *,
    composition: str,
    delegation: str,
    content_hash: str,
    weight: Fraction | int,
    policy: MandatePolicy,
    item: str,
    method: str = "motion",
    delegations: int | None = None,
    seed: str | None = None,
    previous: Mandate | None = None,
) -> Mandate:
    """The mandate of an intermediate council's delegation, from its :func:`position_vote`.

    ``re_deliberation``: the council's own outcome binds its whole weight (nested
    ``bound_majority``, whatever the delegation's mode; a tie gives no instruction).
    ``pass_through``: the delegation forwards the weighted tally of its delegations
    unchanged, the full profile for multi-option and ranked items. Consent always
    re-deliberates (§3.21). A vote on another text (another content hash) gives no
    instruction (§3.5, same-text requirement). ``delegations`` is how many delegations
    voted in the council (for the explanation only). Without an instruction the
    delegation follows its ``no_instruction_behavior``, as a base's does: under
    ``carry_previous_position`` it carries ``previous``, its last instructed mandate, if
    that was on the identical text (§3.2).
    """
    _check_composition(composition)
    if composition == "direct_base_representation":
        raise MandateError(
            "under direct_base_representation intermediate councils send no delegation on the "
            "item; the bases' delegations vote at the top",
            field="structure.composition",
            code="incompatible",
        )
    used = "re_deliberation" if method == "consent" else composition
    if used == "pass_through" and vote is not None and vote.content_hash == content_hash:
        return _pass_through_mandate(
            item,
            delegation,
            content_hash,
            method=method,
            weight=weight,
            tally=vote.ballots,
            delegations=delegations,
        )
    return derive_mandate(
        vote,
        delegation=delegation,
        content_hash=content_hash,
        weight=weight,
        policy=replace(policy, mode="bound_majority") if used == "re_deliberation" else policy,
        item=item,
        method=method,
        seed=seed,
        previous=previous,
    )


def _check_composition(composition: str) -> None:
    if composition not in COMPOSITIONS:
        raise MandateError(
            f"expected one of {', '.join(COMPOSITIONS)}, got {composition!r}",
            field="structure.composition",
            code="invalid_choice",
        )


def compose(
    graph: CouncilGraph,
    *,
    top: str,
    item: str,
    content_hash: str,
    votes: Mapping[str, BaseVote],
    weights: Mapping[str, Fraction | int],
    represented: Mapping[str, int],
    policies: Mapping[str, MandatePolicy] | None = None,
    composition: str = "pass_through",
    method: str = "motion",
    options: Sequence[str] = (),
    rule: MotionRule | str = "simple_majority",
    abstention_treatment: str = "excluded",
    tie_rule: str = "fails",
    invalid: Mapping[str, str] | None = None,
    cast: Mapping[str, Sequence[WeightedBallot]] | None = None,
    window: VoteWindow | None = None,
    min_instructed_share: Fraction | None = None,
    counter: Counter | None = None,
    seats: int | None = None,
    seed: str | None = None,
    method_rule: Mapping[str, Any] | None = None,
) -> FederationResult:
    """Carry one item from the bases' instruction votes to the top tally (module docstring).

    ``votes`` maps base keys to their instruction votes (missing: not voted by the deadline);
    ``weights`` maps each delegation key (``"lower->higher"``) to its weight W
    (:func:`~konsilo.governance.mandates.delegation_weight`); ``represented`` the frozen
    census counts per council. ``policies`` maps delegation keys to their mandate policies
    (default: the catalogue's, ``bound_majority`` from the bases, ``bound_proportional``
    above). ``cast`` gives the settled votes of delegations whose delegate votes (free,
    discretion, ``delegate_casts_*``); a delegation with neither binding votes nor a cast
    vote casts nothing. ``rule``, ``abstention_treatment`` and ``tie_rule`` are those of the
    councils that decide (the top, and intermediate councils under ``re_deliberation``).
    With ``min_instructed_share``, ``postponement_required`` says whether bases representing
    less than that share of the members instructed (§3.2).
    """
    composition_used = _composition_used(composition, method)
    order, parent_of = _subtree(graph, top)
    bases = [k for k in order if graph.is_base(k)]
    unknown = sorted(set(votes) - set(bases))
    if unknown:
        raise MandateError(
            f"votes given for {', '.join(unknown)}, which are not bases below {top!r}",
            field="votes",
        )
    if composition_used == "direct_base_representation":
        parent_of = dict.fromkeys(bases, top)
        order = bases
    pols = dict(policies or {})
    delegate_cast = dict(cast or {})

    def count(key: str, tally: Sequence[WeightedBallot], stances: Any) -> Result:
        if counter is not None and method != "consent":
            return counter(method, tally)
        return count_votes(
            method,
            tally,
            options=options,
            rule=rule,
            abstention_treatment=abstention_treatment,
            tie_rule=tie_rule,
            invalid=invalid,
            stances=stances,
            seats=seats,
            seed=seed,
            method_rule=method_rule,
        )

    mandates: dict[str, Mandate] = {}
    inbox: dict[str, list[tuple[str, WeightedBallot]]] = {}
    councils: dict[str, CouncilTally] = {}
    base_status: dict[str, bool] = {}
    summaries = _support_summaries(votes, content_hash)

    def deliver(lower: str, mandate: Mandate) -> None:
        mandates[mandate.delegation] = mandate
        policy = pols.get(mandate.delegation) or _default_policy(graph, lower)
        if mandate.binding and policy.enforcement == "system_casts":
            sent: Sequence[WeightedBallot] = mandate.votes if mandate.counted else ()
        else:
            sent = delegate_cast.get(mandate.delegation, ())
        bucket = inbox.setdefault(parent_of[lower], [])
        bucket.extend((mandate.delegation, vote) for vote in sent)

    for key in order:
        higher = parent_of[key]
        dkey = delegation_key(key, higher)
        if dkey not in weights:
            raise MandateError(f"no weight given for delegation {dkey!r}", field="weights")
        weight = weights[dkey]
        policy = pols.get(dkey) or _default_policy(graph, key)
        if graph.is_base(key):
            mandate = derive_mandate(
                votes.get(key),
                delegation=dkey,
                content_hash=content_hash,
                weight=weight,
                policy=policy,
                item=item,
                method=method,
                window=window,
                seed=seed,
            )
            base_status[key] = mandate.instructed
            deliver(key, mandate)
            continue
        received = inbox.get(key, [])
        tally = group_ballots(v for _, v in received)
        support = _member_support(
            graph,
            key,
            summaries=summaries,
            represented=represented,
            instructed=base_status,
        )
        own = None if composition_used == "pass_through" else count(key, tally, received)
        mandate = derive_council_mandate(
            position_vote(
                key,
                item=item,
                content_hash=content_hash,
                method=method,
                votes=tally,
                rule=rule,
                result=own,
            ),
            composition=composition_used,
            delegation=dkey,
            content_hash=content_hash,
            weight=weight,
            policy=policy,
            item=item,
            method=method,
            delegations=len({d for d, _ in received}),
            seed=seed,
        )
        if own is None:
            councils[key] = CouncilTally(
                key, tally, None, support, f"{key} forwards its delegations' weighted tallies."
            )
        else:
            councils[key] = CouncilTally(
                key, tally, own, support, f"{key} decides its own position: {own.summary}"
            )
        deliver(key, mandate)

    received = inbox.get(top, [])
    tally = group_ballots(v for _, v in received)
    result = count(top, tally, received)
    support = _member_support(
        graph,
        top,
        summaries=summaries,
        represented=represented,
        instructed=base_status,
    )
    councils[top] = CouncilTally(top, tally, result, support, result.summary)
    total = sum(represented.get(b, 0) for b in bases)
    instructed = sum(represented.get(b, 0) for b in bases if base_status.get(b))
    share = Fraction(instructed, total) if total else Fraction(0)
    postpone = min_instructed_share is not None and share < min_instructed_share
    explanation = (
        f"{top} ({composition_used.replace('_', ' ')}): {result.summary}. {support.explanation}"
    )
    if postpone:
        explanation += (
            f" Only {_n(share)} of the members' bases instructed, below the "
            f"{_n(Fraction(min_instructed_share or 0))} required: the item must be postponed."
        )
    return FederationResult(
        item=item,
        content_hash=content_hash,
        top=top,
        composition=composition_used,
        result=result,
        mandates=mandates,
        councils=councils,
        instructed_share=share,
        postponement_required=postpone,
        explanation=explanation,
    )


def _pass_through_mandate(
    item: str,
    delegation: str,
    content_hash: str,
    *,
    method: str,
    weight: Fraction | int,
    tally: tuple[WeightedBallot, ...],
    delegations: int | None,
) -> Mandate:
    lower = delegation.split("->", 1)[0]
    how_many = f"its {delegations} delegations" if delegations is not None else "its delegations"
    words = ", ".join(
        f"{b.get('choice', '…')} {_n(w)}" if "choice" in b else _n(w) for b, w in tally
    )
    return Mandate(
        item=item,
        delegation=delegation,
        content_hash=content_hash,
        method=method,
        mode="bound_proportional",
        status="instructed",
        reason="pass_through",
        weight=Fraction(weight),
        votes=tally,
        binding=True,
        counted=True,
        explanation=(
            f"{lower} forwards the weighted tallies of {how_many} unchanged: {words or 'nothing'}."
        ),
    )


def _composition_used(composition: str, method: str) -> str:
    """The composition an item is carried up by: the one chosen, except that consent is not
    weight-aggregable (§3.21), so every council consents over its delegations."""
    if composition not in COMPOSITIONS:
        raise MandateError(
            f"expected one of {', '.join(COMPOSITIONS)}, got {composition!r}",
            field="structure.composition",
            code="invalid_choice",
        )
    return "re_deliberation" if method == "consent" else composition


def member_support(
    graph: CouncilGraph,
    *,
    top: str,
    content_hash: str,
    votes: Mapping[str, BaseVote],
    represented: Mapping[str, int],
    instructed: Mapping[str, bool],
    composition: str = "pass_through",
    method: str = "motion",
) -> dict[str, MemberSupport]:
    """The member-level support of every council that :func:`compose` shows it for (the
    councils between the bases and ``top``, and ``top``), from the bases' votes and whether
    each base's delegation was instructed, its mandates derived already: what ``compose``
    puts in ``councils[key].members``, without counting or deriving anything again.

    The votes' ``result`` is not read: a base's ballots and participants are all it takes.
    """
    composition_used = _composition_used(composition, method)
    order, _ = _subtree(graph, top)
    shown = [] if composition_used == "direct_base_representation" else order
    summaries = _support_summaries(votes, content_hash)
    return {
        key: _member_support(
            graph,
            key,
            summaries=summaries,
            represented=represented,
            instructed=instructed,
        )
        for key in [*shown, top]
        if key == top or not graph.is_base(key)
    }


# A base's ballots on the text by canonical key (with whole weights as ints), and the weight
# of all its ballots: what the support of every council above it adds up.
_Summary = tuple[dict[str, tuple[Ballot, Fraction | int]], Fraction | int]


def _support_summaries(votes: Mapping[str, BaseVote], content_hash: str) -> dict[str, _Summary]:
    """Each base's vote on ``content_hash`` prepared once for every council above it: a
    vote's ballots are grouped already (`BaseVote`), so each needs only its key, and sums
    of whole numbers stay ints (adding Fractions is what a large federation's support took)."""
    keys: dict[tuple[tuple[str, str | None], ...], str] = {}
    out: dict[str, _Summary] = {}
    for base, vote in votes.items():
        if vote.content_hash != content_hash:
            continue
        ballots: dict[str, tuple[Ballot, Fraction | int]] = {}
        total: Fraction | int = 0
        for ballot, weight in vote.ballots:
            items = canonical.string_items(ballot)
            key = keys.get(items) if items is not None else None
            if key is None:
                key = ballot_key(ballot)
                if items is not None:
                    keys[items] = key
            w: Fraction | int = weight.numerator if weight.denominator == 1 else weight
            ballots[key] = (ballot, w)
            total += w
        out[base] = (ballots, total)
    return out


def _member_support(
    graph: CouncilGraph,
    council: str,
    *,
    summaries: Mapping[str, _Summary],
    represented: Mapping[str, int],
    instructed: Mapping[str, bool],
) -> MemberSupport:
    below = sorted(graph.bases_below(council))
    sums: dict[str, list[Any]] = {}
    voted: Fraction | int = 0
    for base in below:
        summary = summaries.get(base)
        if summary is None:
            continue
        for key, (ballot, weight) in summary[0].items():
            slot = sums.get(key)
            if slot is None:
                sums[key] = [ballot, weight]
            else:
                slot[1] += weight
        voted += summary[1]
    ballots = tuple((dict(b), Fraction(w)) for _, (b, w) in sorted(sums.items()) if w)
    eligible = sum(represented.get(b, 0) for b in below)
    missing = [b for b in below if not instructed.get(b, False)]
    return MemberSupport(
        council=council,
        ballots=ballots,
        voted=int(voted),
        eligible=eligible,
        bases=len(below),
        uninstructed_members=sum(represented.get(b, 0) for b in missing),
        uninstructed_bases=len(missing),
    )


# -- the array path -------------------------------------------------------------------------


def _int64(name: str, values: Any, n: int | None = None) -> Int64Array:
    array = np.ascontiguousarray(values, dtype=np.int64)
    if array.ndim != 1 or (n is not None and array.shape[0] != n):
        raise MandateError(f"expected a 1-d array of {n} whole numbers", field=name)
    if array.size and int(array.min()) < 0:
        raise MandateError("expected whole numbers ≥ 0", field=name, code="negative")
    return array


@dataclass(frozen=True, eq=False)
class FederationArrays:
    """A tree of councils level by level, for the array path.

    ``councils[k]`` are the keys on level k (0: the bases; the last level holds only the
    top) and ``parents[k][i]`` the index on level k+1 of council i's parent. Every council's
    parent is exactly one level up; federations that skip levels use :func:`compose`.
    """

    levels: tuple[str, ...]
    councils: tuple[tuple[str, ...], ...]
    parents: tuple[Int64Array, ...]

    def __post_init__(self) -> None:
        if len(self.councils) != len(self.levels) or len(self.parents) != len(self.levels) - 1:
            raise MandateError("expected one council list per level and one parent map less")
        if len(self.councils[-1]) != 1:
            raise MandateError("expected exactly one council on the top level", field="councils")
        checked = []
        for k, parent in enumerate(self.parents):
            array = _int64(f"parents[{k}]", parent, len(self.councils[k]))
            if array.size and int(array.max()) >= len(self.councils[k + 1]):
                raise MandateError(
                    f"a parent index is out of range on level {k}", field=f"parents[{k}]"
                )
            checked.append(array)
        object.__setattr__(self, "parents", tuple(checked))

    @property
    def top(self) -> str:
        return self.councils[-1][0]

    def ancestors(self, level: int) -> Int64Array:
        """For every base, the index of the council above it on ``level``."""
        index = np.arange(len(self.councils[0]), dtype=np.int64)
        for k in range(level):
            index = self.parents[k][index]
        return index

    @classmethod
    def from_graph(cls, graph: CouncilGraph, top: str) -> FederationArrays:
        """The tree below ``top`` in arrays; refused if a council skips a level."""
        order, parent_of = _subtree(graph, top)
        rank_top = graph.level_rank(top)
        rank0 = min((graph.level_rank(k) for k in order), default=rank_top)
        by_level: list[list[str]] = [[] for _ in range(rank_top - rank0 + 1)]
        for key in [*order, top]:
            by_level[graph.level_rank(key) - rank0].append(key)
        for key in order:
            if graph.level_rank(parent_of[key]) != graph.level_rank(key) + 1 or (
                graph.level_rank(key) == rank0
            ) != graph.is_base(key):
                raise MandateError(
                    f"council {key!r} skips a level or is a base above the lowest level; the "
                    "array path needs one council per level on every path, use compose()",
                    field=f"councils.{key}",
                    code="skipped_level",
                )
        councils = tuple(tuple(sorted(keys)) for keys in by_level)
        index = [{k: i for i, k in enumerate(keys)} for keys in councils]
        parents = tuple(
            np.array([index[k + 1][parent_of[c]] for c in councils[k]], dtype=np.int64)
            for k in range(len(councils) - 1)
        )
        return cls(graph.levels[rank0 : rank_top + 1], councils, parents)


@dataclass(frozen=True, eq=False)
class BaseTallies:
    """Every base's yes/no/abstain instruction tally as ``int64`` arrays, one row per base.

    ``voted`` is False for a base that held no instruction vote by the deadline;
    ``eligible`` who could vote and ``represented`` whom the base represents (census).
    """

    yes: Int64Array
    no: Int64Array
    abstain: Int64Array
    eligible: Int64Array
    represented: Int64Array
    voted: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        n = len(self.yes)
        for name in ("yes", "no", "abstain", "eligible", "represented"):
            object.__setattr__(self, name, _int64(name, getattr(self, name), n))
        voted = np.ascontiguousarray(self.voted, dtype=np.bool_)
        if voted.shape != (n,):
            raise MandateError(f"expected {n} voted flags", field="voted")
        object.__setattr__(self, "voted", voted)
        if bool(((self.yes + self.no + self.abstain) > self.eligible).any()):
            raise MandateError("a base has more ballots than eligible members", field="eligible")

    def __len__(self) -> int:
        return len(self.yes)


STATUS_NAMES = ("instructed", "not_voted", "no_quorum", "tie")


@dataclass(frozen=True, eq=False)
class MandateArrays:
    """Every base delegation's mandate: yes/no/abstain shares as ``num / den`` per row.

    ``status`` indexes :data:`STATUS_NAMES`; ``counted`` is False for delegations
    ``not_counted`` without an instruction. The shares of a row sum exactly to its weight.
    """

    status: npt.NDArray[np.int8]
    yes: npt.NDArray[Any]
    no: npt.NDArray[Any]
    abstain: npt.NDArray[Any]
    den: npt.NDArray[Any]
    counted: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.status)

    def status_of(self, i: int) -> str:
        return STATUS_NAMES[int(self.status[i])]

    def votes(self, i: int) -> tuple[WeightedBallot, ...]:
        """Row ``i`` as the weighted ballots :func:`derive_mandate` gives, in the same order."""
        if not self.counted[i]:
            return ()
        den = int(self.den[i])
        out: list[WeightedBallot] = []
        for choice, array in (("abstain", self.abstain), ("no", self.no), ("yes", self.yes)):
            num = int(array[i])
            if num:
                out.append(({"choice": choice}, Fraction(num, den)))
        return tuple(out)


def derive_mandate_arrays(
    tallies: BaseTallies,
    weights: Any,
    *,
    policy: MandatePolicy,
    quorum: Fraction | None = Fraction(1, 2),
) -> MandateArrays:
    """:func:`~konsilo.governance.mandates.derive_mandate` for every base at once.

    Same rules, for yes/no/abstain items decided in the base by simple majority, with bound
    modes, ``abstain`` or ``not_counted`` without instruction, and fractional weights: a
    base that did not vote, missed ``quorum`` (participants ≥ quorum × eligible) or, under
    ``bound_majority``, tied, gives no instruction. Shares stay exact: ``W·y / (y+n)`` is
    kept as the integer numerator ``W·y`` over the denominator ``y+n``.
    """
    n = len(tallies)
    w = _int64("weights", weights, n)
    if policy.mode not in ("bound_majority", "bound_proportional"):
        raise MandateError(
            f"the array path derives bound mandates only, got {policy.mode}; use derive_mandate",
            field="mandate.mode",
            code="unsupported",
        )
    if policy.no_instruction_behavior not in ("abstain", "not_counted") or (
        policy.weights != "fractional"
    ):
        raise MandateError(
            "the array path supports no_instruction_behavior abstain or not_counted with "
            "fractional weights; use derive_mandate",
            field="mandate.no_instruction_behavior",
            code="unsupported",
        )
    y, no_, a = tallies.yes, tallies.no, tallies.abstain
    participants = y + no_ + a
    biggest = int(w.max(initial=0)) * int(participants.max(initial=0))
    exact_ints = biggest < (1 << 62) // max(n, 1)  # sums of any group stay within int64
    dtype: Any = np.int64 if exact_ints else object
    if not exact_ints:
        w, y, no_, a = (x.astype(object) for x in (w, y, no_, a))
        participants = y + no_ + a
    status = np.zeros(n, dtype=np.int8)
    if quorum is not None:
        q = Fraction(quorum)
        missed = participants * q.denominator < tallies.eligible.astype(dtype) * q.numerator
        status[missed] = 2
    if policy.mode == "bound_majority":
        status[(status == 0) & (y == no_)] = 3
    status[~tallies.voted] = 1
    instructed = status == 0
    zero = np.zeros(n, dtype=dtype)
    one = np.ones(n, dtype=dtype)
    if policy.mode == "bound_majority":
        yes_num = np.where(instructed & (y > no_), w, zero)
        no_num = np.where(instructed & (y < no_), w, zero)
        abs_num = zero.copy()
        den = one.copy()
    else:
        carried = policy.abstentions == "counts_against"
        den = y + no_ + (a if carried else zero)
        empty = instructed & (den == 0)
        yes_num = np.where(instructed, w * y, zero)
        no_num = np.where(instructed, w * no_, zero)
        abs_num = np.where(instructed & ~empty, w * a, zero) if carried else zero.copy()
        abs_num = np.where(empty, w, abs_num)
        den = np.where(instructed & ~empty, den, one)
    counted = np.ones(n, dtype=np.bool_)
    if policy.no_instruction_behavior == "abstain":
        abs_num = np.where(instructed, abs_num, w)
    else:
        counted = instructed.copy()
    return MandateArrays(status, yes_num, no_num, abs_num, den, counted)


def _group_sum(group: Int64Array, values: Int64Array, size: int) -> Int64Array:
    """Integer sums of ``values`` per group index (exact, no float weights)."""
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, group, values.astype(np.int64))
    return out


def _exact_sums(
    group: Int64Array, num: npt.NDArray[Any], den: npt.NDArray[Any], groups: int
) -> list[Fraction]:
    """``Σ num[i] / den[i]`` per group, exactly: equal denominators are added as integers."""
    out = [Fraction(0)] * groups
    keep = np.flatnonzero(num != 0)
    if not keep.size:
        return out
    g, d, x = group[keep], den[keep], num[keep]
    order = np.lexsort((d.astype(np.int64) if d.dtype != object else d.astype(np.float64), g))
    g, d, x = g[order], d[order], x[order]
    change = np.flatnonzero((g[1:] != g[:-1]) | (d[1:] != d[:-1])) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    sums = np.add.reduceat(x, starts)
    for gi, total, dd in zip(g[starts].tolist(), sums.tolist(), d[starts].tolist(), strict=True):
        out[gi] += Fraction(int(total), int(dd))
    return out


@dataclass(frozen=True, eq=False)
class ArrayFederationResult:
    """:func:`compose_arrays`' answer: the top count, every mandate, member-level support.

    ``base_mandates`` holds the bases' mandates as arrays; ``mandates`` the delegations
    above the bases as objects; ``tallies`` each council's exact (yes, no, abstain) weight;
    ``members`` each council above the bases' member-level support.
    """

    composition: str
    result: Result
    base_mandates: MandateArrays
    mandates: Mapping[str, Mandate]
    tallies: Mapping[str, tuple[Fraction, Fraction, Fraction]]
    members: Mapping[str, MemberSupport]
    explanation: str = field(default="")


def compose_arrays(
    tree: FederationArrays,
    tallies: BaseTallies,
    *,
    weights: Sequence[Any],
    policies: Sequence[MandatePolicy],
    item: str,
    content_hash: str,
    composition: str = "pass_through",
    quorum: Fraction | None = Fraction(1, 2),
    rule: MotionRule | str = "simple_majority",
    abstention_treatment: str = "excluded",
    tie_rule: str = "fails",
) -> ArrayFederationResult:
    """:func:`compose` for a yes/no/abstain item over a federation held in arrays.

    ``weights[k]`` are the weights of level k's delegations (level 0: the bases; under
    ``direct_base_representation`` only ``weights[0]``, the bases' delegations to the top)
    and ``policies[k]`` their mandate policy. Intermediate delegations forward their tallies
    unchanged (``pass_through``) or cast their council's own majority (``re_deliberation``).
    """
    if composition not in COMPOSITIONS:
        raise MandateError(
            f"expected one of {', '.join(COMPOSITIONS)}, got {composition!r}",
            field="structure.composition",
            code="invalid_choice",
        )
    levels = len(tree.councils)
    if len(tallies) != len(tree.councils[0]):
        raise MandateError("expected one tally row per base", field="tallies")
    base = derive_mandate_arrays(tallies, weights[0], policy=policies[0], quorum=quorum)
    top_level = levels - 1
    uninstructed = tallies.represented * (base.status != 0)
    # A base that did not vote has no member ballots, whatever its rows hold.
    held = tallies.voted.astype(np.int64)
    member_yes, member_no, member_abstain = (
        tallies.yes * held,
        tallies.no * held,
        tallies.abstain * held,
    )
    members: dict[str, MemberSupport] = {}
    for level in range(1, levels):
        anc = tree.ancestors(level)
        size = len(tree.councils[level])
        sums = {
            name: _group_sum(anc, array, size)
            for name, array in (
                ("yes", member_yes),
                ("no", member_no),
                ("abstain", member_abstain),
                ("eligible", tallies.represented),
                ("bases", np.ones(len(anc), np.int64)),
                ("missing", uninstructed),
                ("missing_bases", (base.status != 0).astype(np.int64)),
            )
        }
        as_int = {k: v.tolist() for k, v in sums.items()}
        for i, key in enumerate(tree.councils[level]):
            ballots = group_ballots(
                ({"choice": c}, Fraction(as_int[c][i])) for c in ("yes", "no", "abstain")
            )
            members[key] = MemberSupport(
                council=key,
                ballots=ballots,
                voted=int(sum(w for _, w in ballots)),
                eligible=as_int["eligible"][i],
                bases=as_int["bases"][i],
                uninstructed_members=as_int["missing"][i],
                uninstructed_bases=as_int["missing_bases"][i],
            )
    counted = base.counted
    target_level = top_level if composition == "direct_base_representation" else 1
    group = tree.ancestors(target_level)
    size = len(tree.councils[target_level])
    current = [
        _exact_sums(group[counted], array[counted], base.den[counted], size)
        for array in (base.yes, base.no, base.abstain)
    ]
    tally: dict[str, tuple[Fraction, Fraction, Fraction]] = {}
    mandates: dict[str, Mandate] = {}
    level = target_level
    the_rule = rule if isinstance(rule, MotionRule) else MotionRule(rule)
    while level < top_level:
        keys = tree.councils[level]
        for i, key in enumerate(keys):
            tally[key] = (current[0][i], current[1][i], current[2][i])
        w_level = _int64(f"weights[{level}]", weights[level], len(keys)).tolist()
        policy = policies[level]
        parent = tree.parents[level].tolist()
        nxt = [[Fraction(0)] * len(tree.councils[level + 1]) for _ in range(3)]
        for i, key in enumerate(keys):
            dkey = delegation_key(key, tree.councils[level + 1][parent[i]])
            y, n_, a = tally[key]
            if composition == "pass_through":
                votes = tuple(
                    ({"choice": c}, v) for c, v in (("abstain", a), ("no", n_), ("yes", y)) if v
                )
                mandate = _pass_through_mandate(
                    item,
                    dkey,
                    content_hash,
                    method="motion",
                    weight=w_level[i],
                    tally=votes,
                    delegations=None,
                )
            else:
                vote = BaseVote.motion(
                    key,
                    item=item,
                    content_hash=content_hash,
                    yes=y,
                    no=n_,
                    abstain=a,
                    eligible=y + n_ + a,
                    closed_at=_POSITION_TIME,
                    quorum=None,
                    rule=the_rule,
                )
                mandate = derive_mandate(
                    vote,
                    delegation=dkey,
                    content_hash=content_hash,
                    weight=w_level[i],
                    policy=replace(policy, mode="bound_majority"),
                    item=item,
                )
            mandates[dkey] = mandate
            if not mandate.counted:
                continue
            for ballot, weight in mandate.votes:
                nxt[("yes", "no", "abstain").index(ballot["choice"])][parent[i]] += weight
        current = nxt
        level += 1
    yes, no, abstain = current[0][0], current[1][0], current[2][0]
    tally[tree.top] = (yes, no, abstain)
    result = count_motion(
        MotionBallots(yes=yes, no=no, abstain=abstain),
        rule=the_rule,
        abstention_treatment="counts_against"
        if abstention_treatment == "counts_against"
        else "excluded",
        tie_rule="revote" if tie_rule == "revote_once" else "fails",
    )
    top_members = members[tree.top]
    return ArrayFederationResult(
        composition=composition,
        result=result,
        base_mandates=base,
        mandates=MappingProxyType(mandates),
        tallies=MappingProxyType(tally),
        members=MappingProxyType(members),
        explanation=f"{tree.top} ({composition.replace('_', ' ')}): {result.summary}. "
        f"{top_members.explanation}",
    )
