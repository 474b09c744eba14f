"""Policies: the parameters of domain-rules §2, their presets, resolution, checks and versions.

A policy is data. Each parameter is named ``"section.key"`` (``"quorum.fraction"``) and has
a kind, a platform default and, where it is a number, a range (:data:`PARAMETERS`). Values
are exact: ``Fraction`` for fractions, ``timedelta`` for durations, strings for enums,
:class:`Choice` for options with arguments such as ``supermajority(2/3)``, seat policies
from :mod:`konsilo.governance.apportionment`.

Resolution (§2.0.1): item → decision type → council → organisation → preset → platform
default (per decision type, then per level, then global). Every resolved value says where it
came from, so the interface can show "preset rojava" or "council Mill".

Validation (§2.0.3) refuses unknown names, out-of-range values and combinations that cannot
work, listing every problem at once. Versions are immutable; :func:`next_version` makes the
next one.

>>> policy = resolve(
...     [PolicyLayer("council", "Mill", {"quorum.fraction": "1/3"})], preset="rojava"
... )
>>> policy.value("quorum.fraction"), policy["quorum.fraction"].source
(Fraction(1, 3), 'council')
>>> str(policy.value("decision_rule.rule")), policy["decision_rule.rule"].label
('consensus', 'rojava')
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo.governance._catalogue import (
    DECISION_TYPE_DEFAULTS,
    DECISION_TYPES,
    PARAMETERS,
)
from konsilo.governance._values import (
    ArgSpec,
    Choice,
    Parameter,
    format_duration,
    parse_duration,
    parse_fraction,
)
from konsilo.governance.apportionment import Apportioned, PerMembers, format_seat_policy
from konsilo.governance.errors import GovernanceError, PolicyError

__all__ = [
    "DECISION_TYPES",
    "DECISION_TYPE_DEFAULTS",
    "LAYER_SOURCES",
    "PARAMETERS",
    "PRESETS",
    "SOURCES",
    "ArgSpec",
    "Choice",
    "Parameter",
    "PolicyLayer",
    "PolicyVersion",
    "Preset",
    "ResolvedPolicy",
    "ResolvedValue",
    "check",
    "dump_value",
    "dump_values",
    "format_duration",
    "next_version",
    "parse_duration",
    "parse_fraction",
    "parse_value",
    "parse_values",
    "resolve",
    "validate",
]

LAYER_SOURCES = ("item", "decision_type", "council", "organisation")
SOURCES = (*LAYER_SOURCES, "preset", "default")


def _parameter(name: str) -> Parameter:
    try:
        return PARAMETERS[name]
    except (KeyError, TypeError):
        raise GovernanceError(
            f"unknown parameter {name!r}; expected a name such as 'quorum.fraction' "
            "(section.key) from the policy catalogue",
            field=str(name),
            code="unknown_parameter",
        ) from None


def parse_value(name: str, raw: Any) -> Any:
    """Read and check one value of parameter ``name``.

    Accepts the written form (``"2/3"``, ``"P14D"``, ``"seconded(2)"``) and the parsed form
    alike. Raises :class:`GovernanceError` (``field`` = the parameter) on an unknown name, a
    value of the wrong kind or a value out of range.

    >>> parse_value("quorum.fraction", "0.4"), parse_value("timing.vote_window", "PT72H")
    (Fraction(2, 5), datetime.timedelta(days=3))
    """
    return _parameter(name).parse(raw)


def dump_value(name: str, value: Any) -> Any:
    """The JSON-able form of a value (no floats); ``parse_value`` reads it back.

    The value is checked first, so a written form is normalised (``"0.75"`` → ``"3/4"``)
    and an invalid value raises instead of reaching the record.

    >>> dump_value("decision_rule.rule", parse_value("decision_rule.rule", "supermajority(0.75)"))
    'supermajority(3/4)'
    """
    param = _parameter(name)
    return param.dump(param.parse(value))


def parse_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Parse a whole mapping, raising one :class:`PolicyError` that lists every problem."""
    values, problems = _parse_all(raw)
    if problems:
        raise PolicyError.from_problems(problems)
    return values


def dump_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dump a mapping of parsed values, sorted by name."""
    return {name: dump_value(name, values[name]) for name in sorted(values)}


def _parse_all(raw: object) -> tuple[dict[str, Any], list[GovernanceError]]:
    values: dict[str, Any] = {}
    problems: list[GovernanceError] = []
    if not isinstance(raw, Mapping):
        return {}, [GovernanceError(f"expected a map of parameter to value, got {raw!r}")]
    for name in sorted(raw, key=str):
        try:
            values[name] = parse_value(name, raw[name])
        except GovernanceError as err:
            problems.append(err)
    return values, problems


# -- presets --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Preset:
    """A documented model (domain-rules §2.18): only the values §2.18 gives; the rest default.

    ``values`` hold for every decision; ``by_decision_type`` holds values for one decision
    type only (a sociocratic election is open), which take precedence over ``values`` and
    over the platform's defaults for that type.
    """

    name: str
    title: str
    description: str
    values: Mapping[str, Any] = field(default_factory=dict)
    by_decision_type: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(parse_values(self.values)))
        unknown = sorted(set(self.by_decision_type) - set(DECISION_TYPES))
        if unknown:
            raise GovernanceError(
                f"unknown decision types {', '.join(unknown)}; expected some of "
                f"{', '.join(DECISION_TYPES)}",
                field=f"presets.{self.name}.by_decision_type",
                code="unknown_decision_type",
            )
        object.__setattr__(
            self,
            "by_decision_type",
            MappingProxyType(
                {
                    kind: MappingProxyType(parse_values(values))
                    for kind, values in sorted(self.by_decision_type.items())
                }
            ),
        )

    def to_canonical(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "values": dump_values(self.values),
            "by_decision_type": {
                kind: dump_values(values) for kind, values in self.by_decision_type.items()
            },
        }


_YEAR = "P365D"

_PRESET_LIST = [
    Preset(
        "council_communist",
        "Council communism",
        "Pannekoek's workers' councils: bound delegates, recall by petition or immediately "
        "by more than half of the electorate, yearly terms without limit, delegates paid at "
        "most the reference wage (§1.1).",
        {
            "mandate.mode": "bound_majority",
            "recall.petition_threshold": "1/5",
            "recall.immediate_recall_threshold": "1/2",
            "terms.term_length": _YEAR,
            "terms.max_consecutive_terms": None,
            "pay.pay_cap": "1",
            "decision_rule.rule": "simple_majority",
        },
    ),
    Preset(
        "soviet_1918",
        "Soviets (RSFSR 1918)",
        "Bound delegates; re-election on the demand of more than half of the electorate; "
        "one delegate per 25,000 voters (urban soviets; provincial congresses use 1 per "
        "125,000 inhabitants, set on their councils); an extraordinary congress on the "
        "request of councils representing 1/3; absent levels are skipped (§1.2).",
        {
            "mandate.mode": "bound_majority",
            "recall.immediate_recall_threshold": "1/2",
            "decision_rule.rule": "simple_majority",
            "structure.delegation_seats": "per_members(25000)",
            "agenda.extraordinary_session_threshold": "1/3",
            "structure.skip_level_if_absent": True,
        },
    ),
    Preset(
        "paris_commune",
        "Paris Commune (1871)",
        "Imperative mandates limited to listed items, recall at any time by petition, short "
        "terms (26 weeks, about six months), pay capped at a workman's wage (§1.3).",
        {
            "mandate.mode": "bound_majority",
            "mandate.scope": "listed_items",
            "recall.petition_threshold": "1/5",
            "terms.term_length": "P182D",
            "pay.pay_cap": "1",
            "decision_rule.rule": "simple_majority",
        },
    ),
    Preset(
        "yugoslav_1950",
        "Yugoslav self-management (1950)",
        "Workers' councils with instructed delegates and discretion, yearly terms and "
        "functional representation of every work unit (§1.4).",
        {
            "mandate.mode": "instructed_with_discretion",
            "terms.term_length": _YEAR,
            "decision_rule.rule": "simple_majority",
            "representation.functional_representation": True,
        },
    ),
    Preset(
        "rojava",
        "Democratic confederalism (Rojava)",
        "Consensus seeking with a majority fallback, co-chairs (one woman, one man), women "
        "at least 2/5 of every body, 2/5 of seats for components, at most two terms, recall "
        "by petition. Mandates are bound_majority at the commune and bound_proportional "
        "above, which is the platform default (§1.5).",
        {
            "recall.petition_threshold": "1/5",
            "terms.max_consecutive_terms": 2,
            "decision_rule.rule": "consensus",
            "consent.fallback_on_deadlock": "majority_vote",
            "representation.co_chairs": "pair_required(woman, man)",
            "representation.group_min_share": {"woman": "2/5"},
            "representation.reserved_share": {"components": "2/5"},
        },
    ),
    Preset(
        "zapatista",
        "Zapatista autonomous government",
        "The assembly decides and delegates carry it; offices rotate on a two-week roster, "
        "unpaid and supported by the community; consensus with the status quo on deadlock; "
        "military command and civil office are incompatible (§1.6).",
        {
            "mandate.mode": "bound_majority",
            "terms.selection_mode": "rotation_roster",
            "terms.term_length": "P14D",
            "pay.delegate_pay_mode": "unpaid_community_support",
            "decision_rule.rule": "consensus",
            "consent.fallback_on_deadlock": "status_quo",
            "membership.incompatible_offices": [["command", "civil_office"]],
        },
    ),
    Preset(
        "mondragon",
        "Mondragon cooperatives",
        "A governing council acting freely under the sovereign general assembly, four-year "
        "terms renewed by halves (unverified in the sources), highest to lowest pay at most "
        "6 to 1, simple majority with statutes at 2/3 (§1.7).",
        {
            "mandate.mode": "free",
            "terms.term_length": "P1461D",
            "terms.staggered_renewal": "1/2",
            "pay.org_pay_ratio_max": "6",
            "decision_rule.rule": "simple_majority",
        },
    ),
    Preset(
        "cnt",
        "CNT (anarcho-syndicalist union)",
        "Delegates carry exactly the agreements (the platform casts their vote) and report "
        "back; recall by petition; yearly terms; expenses only; unions seated directly at "
        "the congress; any member may put an item on the agenda (§1.8).",
        {
            "mandate.mode": "bound_majority",
            "mandate.enforcement": "system_casts",
            "mandate.report_back_required": True,
            "recall.petition_threshold": "1/5",
            "terms.term_length": _YEAR,
            "pay.delegate_pay_mode": "expenses_only",
            "decision_rule.rule": "simple_majority",
            "structure.direct_base_representation_at_top": True,
            "agenda.member_item_right": "any_member",
        },
    ),
    Preset(
        "iww",
        "IWW (Industrial Workers of the World)",
        "Instructed delegates with discretion, recall by majority vote, terms of at most a "
        "year and at most three in a row, officers elected by referendum of the whole "
        "membership (§1.8).",
        {
            "mandate.mode": "instructed_with_discretion",
            "recall.recall_ballot_rule": "simple_majority",
            "terms.term_length": _YEAR,
            "terms.max_consecutive_terms": 3,
            "decision_rule.rule": "simple_majority",
            "referendum.officer_elections_by_referendum": True,
        },
    ),
    Preset(
        "sociocracy",
        "Sociocracy",
        "Circles decide policy by consent; representatives are full members of the higher "
        "circle (double link); the leader is selected by the lower circle; role terms are "
        "renewable; recall and elections are open consent processes (§1.9, §2.12).",
        {
            "mandate.mode": "free",
            "decision_rule.rule": "consent",
            "consent.consent_scope": ["policy"],
            "terms.max_consecutive_terms": None,
            "structure.down_link_seat": True,
            "structure.leader_selected_by": "lower_circle",
            "recall.recall_ballot_rule": "consent",
            "recall.recall_ballot_secret": False,
        },
        by_decision_type={
            # §2.12: elections in the sociocracy preset are open selection processes.
            "election_single": {"decision_rule.rule": "consent", "secrecy.ballot": "open"},
            "election_multi": {"secrecy.ballot": "open"},
            # §2.18: recall by circle consent, open like every consent round.
            "recall": {"decision_rule.rule": "consent", "secrecy.ballot": "open"},
        },
    ),
]

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _PRESET_LIST})


def _preset(name: str | None) -> Preset | None:
    if name is None:
        return None
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise GovernanceError(
            f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}",
            field="preset",
            code="unknown_preset",
        ) from None


# -- resolution -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyLayer:
    """Values set at one level of resolution.

    ``source`` is ``"item"``, ``"decision_type"``, ``"council"`` or ``"organisation"``;
    ``label`` says which one (a council's name, a decision type); ``values`` may be written
    or parsed values.
    """

    source: str
    label: str
    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.source not in LAYER_SOURCES:
            raise GovernanceError(
                f"expected a layer source among {', '.join(LAYER_SOURCES)}, got {self.source!r}",
                field="source",
                code="invalid_choice",
            )
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


@dataclass(frozen=True, slots=True)
class ResolvedValue:
    """One effective value and where it came from (``source`` in :data:`SOURCES`)."""

    name: str
    value: Any
    source: str
    label: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": dump_value(self.name, self.value),
            "source": self.source,
            "label": self.label,
        }


class ResolvedPolicy(Mapping[str, ResolvedValue]):
    """The effective policy: every parameter name mapped to its :class:`ResolvedValue`."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, ResolvedValue]) -> None:
        self._items = MappingProxyType(dict(sorted(items.items())))

    def __getitem__(self, name: str) -> ResolvedValue:
        try:
            return self._items[name]
        except KeyError:
            _parameter(name)  # raises the unknown-parameter error
            raise

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def get(self, name: str, default: Any = None) -> Any:
        """The resolved value record for ``name``, or ``default`` if there is no such parameter."""
        return self._items.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"ResolvedPolicy({len(self._items)} parameters)"

    def value(self, name: str) -> Any:
        """The effective value of parameter ``name``."""
        return self[name].value

    def as_values(self) -> dict[str, Any]:
        """Every effective value by name."""
        return {name: item.value for name, item in self._items.items()}

    def problems(self, *, seats: int | None = None) -> list[GovernanceError]:
        """Combinations that cannot work in the effective policy (see :func:`validate`)."""
        return _combination_problems(self.as_values(), seats=seats)

    def to_canonical(self) -> dict[str, Any]:
        """Every value with its source, sorted by name."""
        return {name: item.to_canonical() for name, item in self._items.items()}


def resolve(
    layers: Sequence[PolicyLayer],
    *,
    preset: str | None,
    level_rank: int | None = None,
    decision_type: str | None = None,
) -> ResolvedPolicy:
    """Resolve every parameter through the layers, the preset and the defaults (§2.0.1).

    ``layers`` come highest precedence first: item, decision type, council, organisation.
    Then the ``preset``, then the platform default. When ``decision_type`` is given, values
    specific to it come before general ones within each of those two: the preset's values
    for the type, the platform's defaults for the type (statutes need 2/3 and 30 days'
    notice, elections are secret, ...), then the preset's general values (the "simple
    majority" of a preset is for ordinary decisions, not for statutes). ``level_rank`` 0 is
    the base level; above it mandates default to ``bound_proportional`` and quorums to
    enrolled delegates.
    Defaults that depend on another value (a 1/3 stand-aside limit under consensus) follow
    the resolved value. Every layer value is parsed; all problems are raised together as a
    :class:`PolicyError`. Combination checks are left to :meth:`ResolvedPolicy.problems`.
    """
    chosen = _preset(preset)
    if decision_type is not None and decision_type not in DECISION_TYPES:
        raise GovernanceError(
            f"unknown decision type {decision_type!r}; expected one of {', '.join(DECISION_TYPES)}",
            field="decision_type",
            code="unknown_decision_type",
        )
    parsed_layers: list[tuple[PolicyLayer, dict[str, Any]]] = []
    problems: list[GovernanceError] = []
    for layer in layers:
        if not isinstance(layer, PolicyLayer):
            raise GovernanceError(
                f"expected PolicyLayer objects, got {type(layer).__name__}", field="layers"
            )
        values, found = _parse_all(layer.values)
        problems.extend(
            GovernanceError(
                f"{layer.source} {layer.label!r}: {p.message}", field=p.field, code=p.code
            )
            for p in found
        )
        parsed_layers.append((layer, values))
    if problems:
        raise PolicyError.from_problems(problems)
    fallback = _fallbacks(chosen, decision_type=decision_type, level_rank=level_rank)
    resolved: dict[str, ResolvedValue] = {}
    for name in PARAMETERS:
        for layer, values in parsed_layers:
            if name in values:
                resolved[name] = ResolvedValue(name, values[name], layer.source, layer.label)
                break
        else:
            resolved[name] = fallback[name]
    for name, param in PARAMETERS.items():
        if resolved[name].source != "default":
            continue
        for other, when, default in param.default_if:
            if _matches(resolved[other].value, when):
                resolved[name] = ResolvedValue(name, default, "default", f"{other} {when}")
                break
    return ResolvedPolicy(resolved)


def _fallbacks(
    preset: Preset | None, *, decision_type: str | None, level_rank: int | None
) -> dict[str, ResolvedValue]:
    """What each parameter is when no layer sets it: the more specific source wins.

    Order: the preset's value for the decision type, the platform default for the decision
    type, the preset's general value, the platform default above the base level, the
    platform default.
    """
    kind = decision_type or ""
    preset_typed: Mapping[str, Any] = (
        preset.by_decision_type.get(kind, {}) if preset is not None else {}
    )
    platform_typed: Mapping[str, Any] = DECISION_TYPE_DEFAULTS.get(kind, {})
    out: dict[str, ResolvedValue] = {}
    for name, param in PARAMETERS.items():
        if preset is not None and name in preset_typed:
            out[name] = ResolvedValue(
                name, preset_typed[name], "preset", f"{preset.name} ({decision_type})"
            )
        elif name in platform_typed:
            out[name] = ResolvedValue(
                name, platform_typed[name], "default", f"decision type {decision_type}"
            )
        elif preset is not None and name in preset.values:
            out[name] = ResolvedValue(name, preset.values[name], "preset", preset.name)
        elif level_rank is not None and level_rank > 0 and param.default_above_base is not None:
            out[name] = ResolvedValue(
                name, param.default_above_base, "default", "above the base level"
            )
        else:
            out[name] = ResolvedValue(name, param.default, "default", "platform")
    return out


def _matches(value: Any, when: str) -> bool:
    if isinstance(value, Choice):
        return value.name == when
    return bool(value == when)


# -- validation -----------------------------------------------------------------------------


def validate(
    values: Mapping[str, Any],
    *,
    seats: int | None = None,
    preset: str | None = None,
    decision_type: str | None = None,
    level_rank: int | None = None,
) -> list[GovernanceError]:
    """Every problem with a set of policy values; an empty list means they can work.

    Each value is parsed (unknown names, wrong kinds and out-of-range values are problems).
    Then the combinations are checked on the values over the ``preset`` and the platform
    defaults (for ``decision_type`` and ``level_rank`` when given, as :func:`resolve`
    would), so that a value which conflicts with a default is caught too (§2.0.3):

    * ``representation.co_chairs`` ``pair_required`` on a body of fewer than 2 seats;
    * ``representation.group_min_share``: the shares must sum to at most 1 and, for a body
      of ``seats`` seats, each minimum needs ``ceil(share × seats)`` seats, which must be
      fewer than ``seats`` (a minimum below 1 must leave room for the other categories:
      2/5 of one seat would be the whole seat) and together at most ``seats``;
    * ``representation.reserved_share`` summing to more than 1;
    * a ``consent`` or ``consensus`` rule with ``secrecy.ballot`` secret (a consent round is
      open by nature; also checked for ``recall.recall_ballot_rule`` with
      ``recall.recall_ballot_secret``);
    * a ``bound_proportional`` mandate with ``mandate.weights`` ``whole_votes`` and no
      ``structure.apportionment_method`` to round with;
    * ``recall.immediate_recall_threshold`` below ``recall.petition_threshold``;
    * a ``second_call`` quorum not lower than ``quorum.fraction``;
    * ``structure.min_seats_per_base`` different from the ``min=`` of a ``per_members`` or
      ``apportioned`` ``structure.delegation_seats`` (the seat policy's own minimum is the
      one :func:`~konsilo.governance.apportionment.delegation_seats` applies);
    * ``seats`` (when given) not a whole number ≥ 1.

    Ranges checked by the parameters themselves include ``quorum.fraction`` in (0, 1] and a
    supermajority ``p`` in (1/2, 1].
    """
    problems: list[GovernanceError] = []
    if seats is not None and (isinstance(seats, bool) or not isinstance(seats, int) or seats < 1):
        problems.append(
            GovernanceError(
                f"expected the body's seats as a whole number ≥ 1, got {seats!r}",
                field="seats",
                code="out_of_range",
            )
        )
        seats = None
    try:
        chosen = _preset(preset)
    except GovernanceError as err:
        problems.append(err)
        chosen = None
    if decision_type is not None and decision_type not in DECISION_TYPES:
        problems.append(
            GovernanceError(
                f"unknown decision type {decision_type!r}; expected one of "
                f"{', '.join(DECISION_TYPES)}",
                field="decision_type",
                code="unknown_decision_type",
            )
        )
        decision_type = None
    parsed, found = _parse_all(values)
    problems.extend(found)
    fallback = _fallbacks(chosen, decision_type=decision_type, level_rank=level_rank)
    merged = {name: item.value for name, item in fallback.items()}
    merged.update(parsed)
    problems.extend(_combination_problems(merged, seats=seats))
    return problems


def check(
    values: Mapping[str, Any],
    *,
    seats: int | None = None,
    preset: str | None = None,
    decision_type: str | None = None,
    level_rank: int | None = None,
) -> None:
    """Raise one :class:`PolicyError` listing every problem :func:`validate` finds."""
    problems = validate(
        values, seats=seats, preset=preset, decision_type=decision_type, level_rank=level_rank
    )
    if problems:
        raise PolicyError.from_problems(problems)


def _combination_problems(v: Mapping[str, Any], *, seats: int | None) -> list[GovernanceError]:
    """Combination checks over a full set of values (every preset passes them, tested)."""
    problems: list[GovernanceError] = []

    def add(message: str, names: Sequence[str], code: str = "incompatible") -> None:
        # The field is the first parameter named (the one to change); the message names all.
        problems.append(GovernanceError(message, field=names[0], code=code))

    co_chairs = v.get("representation.co_chairs")
    if (
        seats is not None
        and isinstance(co_chairs, Choice)
        and co_chairs.name == "pair_required"
        and seats < 2
    ):
        add(
            f"representation.co_chairs is {co_chairs} but the body has {seats} seat; a co-chair "
            "pair needs at least 2 seats",
            ["representation.co_chairs", "seats"],
        )

    shares: Mapping[str, Fraction] = v.get("representation.group_min_share") or {}
    if shares:
        total = sum(shares.values(), Fraction(0))
        if total > 1:
            add(
                f"representation.group_min_share minimums sum to {total}, more than all seats; "
                "expected a sum ≤ 1",
                ["representation.group_min_share"],
            )
        if seats is not None:
            need = {c: math.ceil(s * seats) for c, s in shares.items()}
            for category in sorted(need):
                share = shares[category]
                if share < 1 and need[category] >= seats:
                    add(
                        f"representation.group_min_share {category} ≥ {share} needs "
                        f"{need[category]} of {seats} seat(s), leaving none for anyone else; "
                        f"expected a body of at least {_min_seats_for(share)} seats or a "
                        "lower share",
                        ["representation.group_min_share", "seats"],
                    )
            if sum(need.values()) > seats:
                add(
                    f"representation.group_min_share minimums need {sum(need.values())} seats "
                    f"together but the body has {seats}",
                    ["representation.group_min_share", "seats"],
                )

    reserved: Mapping[str, Fraction] = v.get("representation.reserved_share") or {}
    total_reserved = sum(reserved.values(), Fraction(0))
    if total_reserved > 1:
        add(
            f"representation.reserved_share reserves {total_reserved} of the seats; expected "
            "a sum ≤ 1",
            ["representation.reserved_share"],
        )

    rule = v.get("decision_rule.rule")
    if (
        isinstance(rule, Choice)
        and rule.name in {"consent", "consensus"}
        and v.get("secrecy.ballot") == "secret"
    ):
        add(
            f"decision_rule.rule {rule} needs open stances and objections, but secrecy.ballot "
            "is secret; expected an open ballot or a voting rule",
            ["decision_rule.rule", "secrecy.ballot"],
        )
    recall_rule = v.get("recall.recall_ballot_rule")
    if (
        isinstance(recall_rule, Choice)
        and recall_rule.name in {"consent", "consensus"}
        and v.get("recall.recall_ballot_secret") is True
    ):
        add(
            f"recall.recall_ballot_rule {recall_rule} needs open stances, but "
            "recall.recall_ballot_secret is true; expected an open recall ballot or a voting "
            "rule",
            ["recall.recall_ballot_rule", "recall.recall_ballot_secret"],
        )

    if (
        v.get("mandate.mode") == "bound_proportional"
        and v.get("mandate.weights") == "whole_votes"
        and v.get("structure.apportionment_method") is None
    ):
        add(
            "mandate.mode bound_proportional with mandate.weights whole_votes must round the "
            "split to whole votes, but structure.apportionment_method is none; expected a "
            "method (sainte_lague, dhondt, largest_remainder_hare) or fractional weights",
            ["mandate.mode", "mandate.weights", "structure.apportionment_method"],
        )

    petition = v.get("recall.petition_threshold")
    immediate = v.get("recall.immediate_recall_threshold")
    if isinstance(petition, Fraction) and isinstance(immediate, Fraction) and immediate < petition:
        add(
            f"recall.immediate_recall_threshold {immediate} is below "
            f"recall.petition_threshold {petition}: a petition would recall at once before it "
            "could start a ballot; expected immediate ≥ petition",
            ["recall.immediate_recall_threshold", "recall.petition_threshold"],
        )

    quorum = v.get("quorum.fraction")
    for step in v.get("quorum.on_failure") or ():
        if (
            isinstance(step, Choice)
            and step.name == "second_call"
            and isinstance(quorum, Fraction)
            and step.args[0] >= quorum
        ):
            add(
                f"quorum.on_failure {step} is not a reduced quorum: expected a fraction below "
                f"quorum.fraction {quorum}",
                ["quorum.on_failure", "quorum.fraction"],
            )
    seat_policy = v.get("structure.delegation_seats")
    min_per_base = v.get("structure.min_seats_per_base")
    if (
        isinstance(seat_policy, PerMembers | Apportioned)
        and isinstance(min_per_base, int)
        and seat_policy.min_seats != min_per_base
    ):
        add(
            f"structure.min_seats_per_base is {min_per_base} but structure.delegation_seats "
            f"{format_seat_policy(seat_policy)} guarantees min={seat_policy.min_seats}; "
            "expected the same minimum in both",
            ["structure.min_seats_per_base", "structure.delegation_seats"],
        )
    return problems


def _min_seats_for(share: Fraction) -> int:
    """The smallest body in which ``ceil(share × seats) < seats`` (room for others)."""
    seats = 2
    while math.ceil(share * seats) >= seats:
        seats += 1
    return seats


# -- versions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One immutable version of a policy: the values set explicitly and the preset.

    Values not set here come from the preset and the defaults when resolved.
    """

    number: int
    values: Mapping[str, Any]
    preset: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(sorted(self.values.items()))))

    def layer(self, source: str = "organisation", label: str = "") -> PolicyLayer:
        """This version's values as a resolution layer."""
        return PolicyLayer(source, label, self.values)

    def to_canonical(self) -> dict[str, Any]:
        return {"number": self.number, "preset": self.preset, "values": dump_values(self.values)}

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> PolicyVersion:
        """Rebuild a version from :meth:`to_canonical` data (for replay)."""
        try:
            number, preset, raw = data["number"], data["preset"], data["values"]
        except (KeyError, TypeError):
            raise GovernanceError(
                "expected policy version data with number, preset and values",
                field="policy_version",
            ) from None
        _preset(preset)
        return cls(number=int(number), values=parse_values(raw), preset=preset)


def next_version(
    previous: PolicyVersion | None,
    *,
    preset: str | None,
    set_values: Mapping[str, Any],
    unset: Collection[str] = (),
    seats: int | None = None,
) -> PolicyVersion:
    """The next policy version: the previous values, minus ``unset``, plus ``set_values``.

    The result is validated as a whole (:func:`validate` with ``seats`` and ``preset``) and
    every problem is raised together as a :class:`PolicyError`. Numbering starts at 1. The
    previous version is never changed.
    """
    problems: list[GovernanceError] = []
    base: dict[str, Any] = dict(previous.values) if previous is not None else {}
    for name in sorted(unset):
        if name not in PARAMETERS:
            problems.append(
                GovernanceError(
                    f"cannot unset unknown parameter {name!r}",
                    field=str(name),
                    code="unknown_parameter",
                )
            )
        elif name in set_values:
            problems.append(
                GovernanceError(
                    f"{name} is both set and unset in one change; expected one or the other",
                    field=name,
                    code="conflict",
                )
            )
        base.pop(name, None)
    parsed, found = _parse_all(set_values)
    problems.extend(found)
    base.update(parsed)
    if not found:
        problems.extend(validate(base, seats=seats, preset=preset))
    else:
        try:
            _preset(preset)
        except GovernanceError as err:
            problems.append(err)
    if problems:
        raise PolicyError.from_problems(problems)
    number = 1 if previous is None else previous.number + 1
    return PolicyVersion(number=number, values=base, preset=preset)
