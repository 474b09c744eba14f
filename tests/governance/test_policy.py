"""Tests for konsilo.governance.policy: parameters, presets, resolution, checks, versions."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.governance.apportionment import Apportioned, ApportionmentMethod, Fixed, PerMembers
from konsilo.governance.errors import GovernanceError, PolicyError
from konsilo.governance.policy import (
    DECISION_TYPES,
    PARAMETERS,
    PRESETS,
    Choice,
    PolicyLayer,
    PolicyVersion,
    check,
    dump_value,
    dump_values,
    next_version,
    parse_value,
    resolve,
    validate,
)

# Names the web layer relies on (the brief's list); each must exist in the catalogue.
REQUIRED = [
    "structure.delegation_seats",
    "structure.apportionment_method",
    "structure.parent_rule",
    "membership.multi_base_membership",
    "mandate.mode",
    "mandate.enforcement",
    "mandate.no_instruction_behavior",
    "mandate.late_instruction",
    "mandate.out_of_mandate_amendment",
    "recall.petition_threshold",
    "recall.immediate_recall_threshold",
    "terms.term_length",
    "terms.max_consecutive_terms",
    "terms.max_concurrent_offices",
    "representation.co_chairs",
    "representation.group_min_share",
    "quorum.basis",
    "quorum.fraction",
    "decision_rule.rule",
    "decision_rule.abstention_treatment",
    "decision_rule.tie_rule_motion",
    "consent.stand_aside_limit",
    "agenda.member_item_right",
    "agenda.base_deliberation_window",
    "secrecy.ballot",
    "secrecy.small_n_disclosure_floor",
    "minority.minority_report",
    "timing.vote_window",
    "timing.timezone",
    "elections.method_single",
    "elections.method_multi",
]


def test_catalogue_has_every_required_parameter_in_its_section() -> None:
    missing = [name for name in REQUIRED if name not in PARAMETERS]
    assert missing == []
    for name, param in PARAMETERS.items():
        assert param.name == name
        assert name.startswith(param.section + ".")
        assert param.description


def test_the_catalogue_describes_itself_in_canonical_json() -> None:
    data = canonical.loads(canonical.dumps({n: p.to_canonical() for n, p in PARAMETERS.items()}))
    assert data["quorum.fraction"]["default"] == "1/2"
    assert data["quorum.fraction"]["minimum"] == "0"
    assert data["quorum.fraction"]["min_open"] is True
    assert data["mandate.mode"]["default_above_base"] == "bound_proportional"
    assert data["decision_rule.rule"]["forms"]["supermajority"] == ["p"]
    assert data["timing.vote_window"]["minimum"] == "PT0S"


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_default_is_valid_and_round_trips_through_canonical_json(name: str) -> None:
    param = PARAMETERS[name]
    dumped = dump_value(name, param.default)
    wire = canonical.loads(canonical.dumps({name: dumped}))[name]
    assert parse_value(name, wire) == param.default
    assert parse_value(name, param.default) == param.default
    if param.default_above_base is not None:
        assert parse_value(name, param.default_above_base) == param.default_above_base


# Known answers for the platform defaults of domain-rules §2 (values copied from the tables).
DEFAULTS = {
    "structure.delegation_seats": Fixed(1),
    "structure.apportionment_method": "sainte_lague",
    "structure.parent_rule": "tree",
    "membership.multi_base_membership": "allow_with_primary",
    "mandate.mode": "bound_majority",
    "mandate.enforcement": "system_casts",
    "mandate.no_instruction_behavior": "abstain",
    "mandate.late_instruction": "accept_until_vote_opens",
    "recall.petition_threshold": Fraction(1, 5),
    "recall.immediate_recall_threshold": Fraction(1, 2),
    "terms.term_length": timedelta(days=365),
    "terms.max_consecutive_terms": 3,
    "terms.max_concurrent_offices": 2,
    "representation.co_chairs": Choice("off"),
    "quorum.basis": "members",
    "quorum.fraction": Fraction(1, 2),
    "decision_rule.rule": Choice("simple_majority"),
    "decision_rule.abstention_treatment": "excluded",
    "decision_rule.tie_rule_motion": "fails",
    "consent.stand_aside_limit": None,
    "agenda.member_item_right": Choice("seconded", (2,)),
    "agenda.base_deliberation_window": timedelta(days=14),
    "secrecy.small_n_disclosure_floor": 5,
    "minority.minority_report": True,
    "timing.vote_window": timedelta(hours=72),
    "elections.method_single": "irv",
    "elections.method_multi": "stv",
}


@pytest.mark.parametrize(("name", "expected"), sorted(DEFAULTS.items()))
def test_platform_defaults_follow_the_domain_rules(name: str, expected: Any) -> None:
    assert PARAMETERS[name].default == expected
    assert resolve([], preset=None).value(name) == expected


# -- parsing ----------------------------------------------------------------------------------

PARSES: list[tuple[str, Any, Any, Any]] = [
    # (parameter, raw input, parsed value, dumped value)
    ("quorum.fraction", "2/3", Fraction(2, 3), "2/3"),
    ("quorum.fraction", "0.4", Fraction(2, 5), "2/5"),
    ("quorum.fraction", "40%", Fraction(2, 5), "2/5"),
    ("quorum.fraction", 1, Fraction(1), "1"),
    ("quorum.fraction", 0.4, Fraction(2, 5), "2/5"),
    ("quorum.fraction", Fraction(1, 3), Fraction(1, 3), "1/3"),
    ("timing.vote_window", "PT72H", timedelta(days=3), "P3D"),
    ("timing.vote_window", "P2W", timedelta(days=14), "P14D"),
    ("timing.vote_window", "pt90m", timedelta(minutes=90), "PT1H30M"),
    ("timing.vote_window", "P1DT12H", timedelta(days=1, hours=12), "P1DT12H"),
    ("timing.vote_window", timedelta(hours=5), timedelta(hours=5), "PT5H"),
    ("structure.delegation_seats", "per_members(25000)", PerMembers(25000), "per_members(25000)"),
    (
        "structure.delegation_seats",
        "apportioned(50, dhondt, min=2)",
        Apportioned(50, ApportionmentMethod.DHONDT, 2),
        "apportioned(50, dhondt, min=2)",
    ),
    ("structure.apportionment_method", "none", None, None),
    ("mandate.mode", "bound_proportional", "bound_proportional", "bound_proportional"),
    ("terms.max_consecutive_terms", "2", 2, 2),
    ("terms.max_consecutive_terms", None, None, None),
    ("minority.minority_report", "false", False, False),
    ("recall.triggers", ["petition", "inactivity", "petition"], ("inactivity", "petition"), None),
    (
        "structure.levels",
        ["commune", "district", "region"],
        ("commune", "district", "region"),
        None,
    ),
    (
        "representation.group_min_share",
        {"woman": "0.4"},
        {"woman": Fraction(2, 5)},
        {"woman": "2/5"},
    ),
    (
        "membership.incompatible_offices",
        [["command", "civil_office"]],
        (("civil_office", "command"),),
        [["civil_office", "command"]],
    ),
    (
        "decision_rule.rule",
        "supermajority(0.75)",
        Choice("supermajority", (Fraction(3, 4),)),
        "supermajority(3/4)",
    ),
    ("decision_rule.rule", "preferential(stv)", Choice("preferential", ("stv",)), None),
    (
        "representation.co_chairs",
        "pair_required( woman , man )",
        Choice("pair_required", ("woman", "man")),
        "pair_required(woman, man)",
    ),
    ("agenda.member_item_right", "petition(1/10)", Choice("petition", (Fraction(1, 10),)), None),
    (
        "quorum.on_failure",
        ["second_call(1/3, P1D)", "adjourn"],
        (Choice("second_call", (Fraction(1, 3), timedelta(days=1))), Choice("adjourn")),
        ["second_call(1/3, P1D)", "adjourn"],
    ),
    ("quorum.on_failure", "adjourn", (Choice("adjourn"),), ["adjourn"]),
    ("timing.timezone", "Europe/Madrid", "Europe/Madrid", "Europe/Madrid"),
]


@pytest.mark.parametrize(("name", "raw", "parsed", "dumped"), PARSES)
def test_values_parse_exactly_and_dump_without_floats(
    name: str, raw: Any, parsed: Any, dumped: Any
) -> None:
    value = parse_value(name, raw)
    assert value == parsed
    wire = dump_value(name, value)
    if dumped is not None or parsed is None:
        assert wire == dumped
    assert parse_value(name, canonical.loads(canonical.dumps(wire))) == value


REFUSALS: list[tuple[str, Any, str]] = [
    # (parameter, raw input, words the message must contain)
    ("quorum.fraction", 0, "(0, 1]"),
    ("quorum.fraction", "3/2", "(0, 1]"),
    ("quorum.fraction", 1.5, "(0, 1]"),
    ("quorum.fraction", float("nan"), "finite"),
    ("quorum.fraction", True, "fraction"),
    ("quorum.fraction", "half", "2/3, 0.4 or 40%"),
    ("decision_rule.rule", "supermajority(1/2)", "p: expected a value in (1/2, 1]"),
    ("decision_rule.rule", "supermajority(11/10)", "(1/2, 1]"),
    ("decision_rule.rule", "supermajority", "supermajority(p)"),
    ("decision_rule.rule", "plurality_of_vibes", "simple_majority | absolute_majority"),
    ("decision_rule.rule", "preferential(borda)", "irv, stv"),
    ("timing.vote_window", "P1M", "years and months vary"),
    ("timing.vote_window", "P1Y", "years and months vary"),
    ("timing.vote_window", "PT0S", "> PT0S"),
    ("timing.vote_window", "72 hours", "P14D or PT72H"),
    ("timing.vote_window", timedelta(hours=-1), "≥ 0"),
    ("mandate.mode", "liquid", "bound_majority, bound_proportional"),
    ("structure.delegation_seats", "per_members(0)", "≥ 1"),
    ("structure.delegation_seats", "weighted(2)", "unknown form"),
    ("terms.max_consecutive_terms", 0, "≥ 1"),
    ("terms.alternates", "two", "whole number"),
    ("terms.term_length", None, "P14D or PT72H, got None"),
    ("minority.minority_report", "yes", "true or false"),
    ("recall.triggers", ["petition", "vibes"], "petition, base_vote_motion"),
    ("recall.triggers", "petition", "list of names"),
    ("structure.levels", ["a", "a"], "distinct"),
    ("structure.levels", [], "at least 1"),
    ("representation.group_min_share", {"woman": "0"}, "woman: expected a value in (0, 1]"),
    ("representation.group_min_share", ["woman"], "map"),
    ("membership.incompatible_offices", [["a", "a"]], "two different roles"),
    ("representation.co_chairs", "pair_required(woman)", "pair_required(first, second)"),
    ("agenda.member_item_right", "seconded(0)", "k: expected a value ≥ 1"),
    ("quorum.on_failure", [], "a list of adjourn"),
    ("timing.timezone", "Mars time", "a name"),
    ("mandate.delegate_vote_public", False, "cannot be changed"),
    ("quorum.fractoin", "1/2", "unknown parameter 'quorum.fractoin'"),
]


@pytest.mark.parametrize(("name", "raw", "words"), REFUSALS)
def test_bad_values_are_refused_naming_the_parameter_and_what_was_expected(
    name: str, raw: Any, words: str
) -> None:
    with pytest.raises(GovernanceError) as err:
        parse_value(name, raw)
    assert err.value.field == name
    assert words in err.value.message


# -- presets --------------------------------------------------------------------------------

PRESET_NAMES = [
    "council_communist",
    "soviet_1918",
    "paris_commune",
    "yugoslav_1950",
    "rojava",
    "zapatista",
    "mondragon",
    "cnt",
    "iww",
    "sociocracy",
]


def test_all_ten_presets_of_section_2_18_exist() -> None:
    assert sorted(PRESETS) == sorted(PRESET_NAMES)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_each_preset_is_valid_and_canonical(name: str) -> None:
    preset = PRESETS[name]
    assert preset.name == name
    assert preset.title
    assert preset.values
    assert validate({}, preset=name) == []
    assert set(preset.values) <= set(PARAMETERS)
    data = canonical.loads(canonical.dumps(preset))
    assert {k: parse_value(k, v) for k, v in data["values"].items()} == dict(preset.values)


# Values §2.18 gives, one or two per preset.
PRESET_VALUES = [
    ("council_communist", "recall.petition_threshold", Fraction(1, 5)),
    ("council_communist", "terms.max_consecutive_terms", None),
    ("soviet_1918", "structure.delegation_seats", PerMembers(25_000)),
    ("soviet_1918", "agenda.extraordinary_session_threshold", Fraction(1, 3)),
    ("paris_commune", "mandate.scope", "listed_items"),
    ("yugoslav_1950", "mandate.mode", "instructed_with_discretion"),
    ("yugoslav_1950", "representation.functional_representation", True),
    ("rojava", "representation.co_chairs", Choice("pair_required", ("woman", "man"))),
    ("rojava", "representation.group_min_share", {"woman": Fraction(2, 5)}),
    ("rojava", "terms.max_consecutive_terms", 2),
    ("zapatista", "terms.term_length", timedelta(days=14)),
    ("zapatista", "membership.incompatible_offices", (("civil_office", "command"),)),
    ("mondragon", "pay.org_pay_ratio_max", Fraction(6)),
    ("cnt", "structure.direct_base_representation_at_top", True),
    ("cnt", "agenda.member_item_right", Choice("any_member")),
    ("iww", "terms.max_consecutive_terms", 3),
    ("iww", "referendum.officer_elections_by_referendum", True),
    ("sociocracy", "decision_rule.rule", Choice("consent")),
    ("sociocracy", "structure.down_link_seat", True),
]


@pytest.mark.parametrize(("preset", "name", "expected"), PRESET_VALUES)
def test_presets_carry_the_documented_values(preset: str, name: str, expected: Any) -> None:
    assert PRESETS[preset].values[name] == expected
    resolved = resolve([], preset=preset)[name]
    assert (resolved.value, resolved.source, resolved.label) == (expected, "preset", preset)


# -- resolution -----------------------------------------------------------------------------


def test_resolution_order_is_item_type_council_organisation_preset_default() -> None:
    name = "quorum.fraction"
    layers = [
        PolicyLayer("item", "item 42", {name: "9/10"}),
        PolicyLayer("decision_type", "statutes", {name: "4/5", "timing.vote_window": "P10D"}),
        PolicyLayer("council", "Mill", {name: "3/5", "agenda.min_notice": "P3D"}),
        PolicyLayer("organisation", "Union", {name: "1/3", "terms.alternates": 2}),
    ]
    policy = resolve(layers, preset="rojava")
    assert policy[name].value == Fraction(9, 10)
    assert (policy[name].source, policy[name].label) == ("item", "item 42")
    assert policy["timing.vote_window"].source == "decision_type"
    assert policy["agenda.min_notice"].label == "Mill"
    assert policy["terms.alternates"].source == "organisation"
    assert policy["decision_rule.rule"].source == "preset"
    assert policy["secrecy.ballot"].source == "default"
    assert set(policy) == set(PARAMETERS)
    for depth in range(len(layers)):
        assert resolve(layers[depth:], preset=None).value(name) == parse_value(
            name, layers[depth].values[name]
        )


def test_defaults_depend_on_level_decision_type_and_rule() -> None:
    base = resolve([], preset=None, level_rank=0)
    above = resolve([], preset=None, level_rank=2)
    assert base.value("mandate.mode") == "bound_majority"
    assert above.value("mandate.mode") == "bound_proportional"
    assert above["mandate.mode"].label == "above the base level"
    assert base.value("quorum.basis") == "members"
    assert above.value("quorum.basis") == "enrolled_delegates"
    assert above.value("quorum.double_quorum_represented") == Fraction(1, 2)
    statutes = resolve([], preset=None, decision_type="statutes")
    assert statutes.value("decision_rule.rule") == Choice("supermajority", (Fraction(2, 3),))
    assert statutes.value("agenda.min_notice") == timedelta(days=30)
    assert statutes.value("timing.vote_window") == timedelta(days=7)
    assert resolve([], preset=None, decision_type="election_single").value("secrecy.ballot") == (
        "secret"
    )
    consensus = resolve(
        [PolicyLayer("council", "c", {"decision_rule.rule": "consensus"})], preset=None
    )
    assert consensus.value("consent.stand_aside_limit") == Fraction(1, 3)
    set_limit = resolve(
        [PolicyLayer("council", "c", {"decision_rule.rule": "consensus",
                                      "consent.stand_aside_limit": "1/4"})],
        preset=None,
    )  # fmt: skip
    assert set_limit.value("consent.stand_aside_limit") == Fraction(1, 4)


@pytest.mark.parametrize("preset", [None, *PRESET_NAMES])
def test_every_preset_resolves_to_a_workable_policy_for_every_decision_type(
    preset: str | None,
) -> None:
    for decision_type in [None, *DECISION_TYPES]:
        for level_rank in (0, 1):
            policy = resolve([], preset=preset, decision_type=decision_type, level_rank=level_rank)
            assert policy.problems() == [], (decision_type, level_rank)
            assert validate({}, preset=preset, decision_type=decision_type) == []


def test_type_specific_values_beat_a_presets_general_rule() -> None:
    """A preset's "simple majority" is for ordinary decisions: statutes still need 2/3."""
    statutes = resolve([], preset="council_communist", decision_type="statutes")
    assert statutes["decision_rule.rule"].value == Choice("supermajority", (Fraction(2, 3),))
    assert statutes["decision_rule.rule"].label == "decision type statutes"
    ordinary = resolve([], preset="council_communist", decision_type="ordinary_motion")
    assert ordinary["decision_rule.rule"].source == "preset"
    election = resolve([], preset="rojava", decision_type="election_single")
    assert election.value("decision_rule.rule") == Choice("preferential", ("irv",))
    assert election.value("secrecy.ballot") == "secret"
    circle = resolve([], preset="sociocracy", decision_type="election_single")
    assert circle.value("secrecy.ballot") == "open"
    assert circle["secrecy.ballot"].label == "sociocracy (election_single)"
    overridden = resolve(
        [PolicyLayer("organisation", "Union", {"decision_rule.rule": "simple_majority"})],
        preset="sociocracy",
        decision_type="election_single",
    )
    assert overridden["decision_rule.rule"].source == "organisation"


def test_resolve_reports_every_bad_layer_value_at_once() -> None:
    layers = [
        PolicyLayer("council", "Mill", {"quorum.fraction": "2", "nonsense.key": 1}),
        PolicyLayer("organisation", "Union", {"mandate.mode": "liquid"}),
    ]
    with pytest.raises(PolicyError) as err:
        resolve(layers, preset=None)
    assert len(err.value.problems) == 3
    assert "council 'Mill'" in str(err.value)
    assert "organisation 'Union'" in str(err.value)
    with pytest.raises(GovernanceError, match="unknown preset 'atlantis'"):
        resolve([], preset="atlantis")
    with pytest.raises(GovernanceError, match="unknown decision type"):
        resolve([], preset=None, decision_type="coup")
    with pytest.raises(GovernanceError, match="item, decision_type, council, organisation"):
        PolicyLayer("federation", "x", {})


def test_validate_applies_decision_type_defaults() -> None:
    """An election's ballot is secret by default, so a consent rule there is refused."""
    assert validate({"decision_rule.rule": "consent"}) == []
    problems = validate({"decision_rule.rule": "consent"}, decision_type="election_single")
    assert [p.field for p in problems] == ["decision_rule.rule"]
    assert "secrecy.ballot" in problems[0].message
    assert [p.code for p in validate({}, decision_type="coup")] == ["unknown_decision_type"]
    policy = resolve(
        [PolicyLayer("decision_type", "election_single", {"decision_rule.rule": "consent"})],
        preset=None,
        decision_type="election_single",
    )
    assert [p.field for p in policy.problems()] == ["decision_rule.rule"]


def test_resolved_policy_is_canonical_and_refuses_unknown_names() -> None:
    policy = resolve([], preset="cnt")
    data = canonical.loads(canonical.dumps(policy))
    assert data["agenda.member_item_right"] == {
        "label": "cnt",
        "name": "agenda.member_item_right",
        "source": "preset",
        "value": "any_member",
    }
    with pytest.raises(GovernanceError, match="unknown parameter"):
        policy.value("quorum.nope")
    assert "quorum.nope" not in policy
    assert policy.get("quorum.nope") is None
    assert "quorum.fraction" in policy


# -- validation -----------------------------------------------------------------------------

COMBINATIONS: list[tuple[dict[str, Any], int | None, list[str]]] = [
    # (values, seats, parameters the problem must name); each is refused.
    ({"representation.co_chairs": "pair_required(woman, man)"}, 1, ["representation.co_chairs"]),
    ({"representation.group_min_share": {"woman": "1/2"}}, 1, ["group_min_share", "1 of 1"]),
    ({"representation.group_min_share": {"woman": "2/5"}}, 1, ["at least 2 seats"]),
    ({"representation.group_min_share": {"woman": "3/5"}}, 2, ["at least 3 seats"]),
    (
        {"representation.group_min_share": {"woman": "1/2", "man": "1/2"}},
        3,
        ["need 4 seats together"],
    ),
    ({"representation.group_min_share": {"a": "3/5", "b": "3/5"}}, None, ["sum to 6/5"]),
    ({"representation.reserved_share": {"a": "3/5", "b": "1/2"}}, None, ["reserved_share"]),
    ({"decision_rule.rule": "consent", "secrecy.ballot": "secret"}, None, ["secrecy.ballot"]),
    ({"decision_rule.rule": "consensus", "secrecy.ballot": "secret"}, None, ["consensus"]),
    (
        {"recall.recall_ballot_rule": "consent"},
        None,
        ["recall.recall_ballot_rule", "recall.recall_ballot_secret"],
    ),
    (
        {
            "mandate.mode": "bound_proportional",
            "mandate.weights": "whole_votes",
            "structure.apportionment_method": None,
        },
        None,
        ["mandate.weights", "structure.apportionment_method"],
    ),
    (
        {"recall.petition_threshold": "0.3", "recall.immediate_recall_threshold": "0.25"},
        None,
        ["recall.immediate_recall_threshold", "recall.petition_threshold"],
    ),
    ({"recall.petition_threshold": "3/5"}, None, ["below recall.petition_threshold 3/5"]),
    ({"quorum.on_failure": ["second_call(1/2, P1D)"]}, None, ["quorum.fraction 1/2"]),
    (
        {"structure.delegation_seats": "apportioned(50, dhondt, min=2)"},
        None,
        ["structure.min_seats_per_base is 1", "min=2"],
    ),
]


@pytest.mark.parametrize(("values", "seats", "words"), COMBINATIONS)
def test_impossible_combinations_are_refused_naming_the_parameters(
    values: dict[str, Any], seats: int | None, words: list[str]
) -> None:
    problems = validate(values, seats=seats)
    assert len(problems) == 1
    text = str(problems[0])
    for word in words:
        assert word in text
    with pytest.raises(PolicyError):
        check(values, seats=seats)


WORKABLE: list[tuple[dict[str, Any], int | None]] = [
    ({"representation.co_chairs": "pair_required(woman, man)"}, 2),
    ({"representation.group_min_share": {"woman": "2/5"}}, 2),
    ({"representation.group_min_share": {"woman": "2/5"}}, 101),
    ({"representation.group_min_share": {"woman": "1/2", "man": "1/2"}}, 4),
    ({"representation.group_min_share": {"delegates": "1"}}, 1),
    ({"decision_rule.rule": "simple_majority", "secrecy.ballot": "secret"}, None),
    ({"decision_rule.rule": "consent", "secrecy.ballot": "open"}, None),
    ({"mandate.mode": "bound_proportional", "mandate.weights": "whole_votes"}, None),
    ({"mandate.mode": "bound_proportional", "structure.apportionment_method": None}, None),
    ({"recall.petition_threshold": "1/2", "recall.immediate_recall_threshold": "1/2"}, None),
    ({"quorum.on_failure": ["second_call(1/3, P1D)", "adjourn"]}, None),
    ({"decision_rule.rule": "supermajority(1)"}, None),
    ({}, 1),
    (
        {
            "structure.delegation_seats": "apportioned(50, dhondt, min=2)",
            "structure.min_seats_per_base": 2,
        },
        None,
    ),
    ({"structure.delegation_seats": "fixed(3)", "structure.min_seats_per_base": 0}, None),
]


@pytest.mark.parametrize(("values", "seats"), WORKABLE)
def test_workable_combinations_pass(values: dict[str, Any], seats: int | None) -> None:
    assert validate(values, seats=seats) == []
    check(values, seats=seats)


def test_rojava_preset_on_a_one_seat_delegation_lists_both_problems() -> None:
    with pytest.raises(PolicyError) as err:
        check({}, seats=1, preset="rojava")
    fields = {p.field for p in err.value.problems}
    assert fields == {"representation.co_chairs", "representation.group_min_share"}
    assert all(p.code == "incompatible" for p in err.value.problems)
    assert str(err.value).startswith("2 policy problems:")


def test_check_lists_every_problem_in_one_error() -> None:
    with pytest.raises(PolicyError) as err:
        check(
            {
                "quorum.fraction": "0",
                "decision_rule.rule": "supermajority(1/2)",
                "quorum.fractoin": "1/2",
                "recall.petition_threshold": "0.6",
            },
            seats=0,
        )
    fields = [p.field for p in err.value.problems]
    assert fields == [
        "seats",
        "decision_rule.rule",
        "quorum.fraction",
        "quorum.fractoin",
        "recall.immediate_recall_threshold",
    ]
    for problem in err.value.problems:
        assert str(problem) in str(err.value)


def test_a_single_problem_keeps_its_field_and_code() -> None:
    with pytest.raises(PolicyError) as err:
        check({"quorum.fraction": "2"})
    assert err.value.field == "quorum.fraction"
    assert err.value.code == "out_of_range"


# -- versions -------------------------------------------------------------------------------


def test_versions_number_up_and_never_change_the_previous_one() -> None:
    first = next_version(None, preset="cnt", set_values={"quorum.fraction": "1/3"})
    assert first.number == 1
    assert first.values == {"quorum.fraction": Fraction(1, 3)}
    second = next_version(
        first,
        preset="cnt",
        set_values={"timing.vote_window": "P5D"},
        unset=["quorum.fraction"],
    )
    assert second.number == 2
    assert second.values == {"timing.vote_window": timedelta(days=5)}
    assert first.values == {"quorum.fraction": Fraction(1, 3)}
    third = next_version(second, preset=None, set_values={})
    assert (third.number, third.preset, dict(third.values)) == (3, None, dict(second.values))


def test_version_changes_are_validated_as_a_whole() -> None:
    first = next_version(None, preset=None, set_values={"recall.petition_threshold": "1/5"})
    with pytest.raises(PolicyError, match="immediate_recall_threshold"):
        next_version(first, preset=None, set_values={"recall.immediate_recall_threshold": "1/10"})
    with pytest.raises(PolicyError, match="co-chair pair needs at least 2 seats"):
        next_version(first, preset="rojava", set_values={"representation.group_min_share": {}},
                     seats=1)  # fmt: skip
    with pytest.raises(PolicyError) as err:
        next_version(
            first,
            preset="atlantis",
            set_values={"quorum.fraction": "1/2", "x.y": 1},
            unset=["quorum.fraction", "nope.nope"],
        )
    codes = sorted(p.code for p in err.value.problems)
    assert codes == ["conflict", "unknown_parameter", "unknown_parameter", "unknown_preset"]


def test_version_canonical_form_replays() -> None:
    version = next_version(
        None,
        preset="rojava",
        set_values={
            "decision_rule.rule": "supermajority(3/4)",
            "timing.vote_window": "PT48H",
            "structure.delegation_seats": "apportioned(101, sainte_lague)",
        },
        seats=101,
    )
    data = canonical.loads(canonical.dumps(version))
    assert data == {
        "number": 1,
        "preset": "rojava",
        "values": {
            "decision_rule.rule": "supermajority(3/4)",
            "structure.delegation_seats": "apportioned(101, sainte_lague)",
            "timing.vote_window": "P2D",
        },
    }
    assert PolicyVersion.from_canonical(data) == version
    layered = resolve([version.layer(label="Union")], preset=version.preset)
    assert layered["decision_rule.rule"].source == "organisation"
    assert dump_values(version.values) == data["values"]


# -- invariants -----------------------------------------------------------------------------


@settings(max_examples=100)
@given(st.fractions(min_value=0, max_value=1).filter(lambda f: f > 0))
def test_fractions_in_range_round_trip_exactly(value: Fraction) -> None:
    for text in (str(value), dump_value("quorum.fraction", value)):
        assert parse_value("quorum.fraction", text) == value


@settings(max_examples=100)
@given(st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=4000)))
def test_durations_round_trip_through_iso_8601(value: timedelta) -> None:
    value = timedelta(seconds=int(value.total_seconds()))
    dumped = dump_value("timing.vote_window", value)
    assert dumped.startswith("P")
    assert parse_value("timing.vote_window", dumped) == value


LAYER_SOURCES = ["item", "decision_type", "council", "organisation"]


@settings(max_examples=60)
@given(
    st.lists(
        st.one_of(st.none(), st.fractions(min_value=0, max_value=1).filter(lambda f: f > 0)),
        min_size=4,
        max_size=4,
    ),
    st.sampled_from([None, *PRESET_NAMES]),
)
def test_the_highest_layer_that_sets_a_value_wins(
    settings_by_layer: list[Fraction | None], preset: str | None
) -> None:
    layers = [
        PolicyLayer(src, f"{src} label", {} if v is None else {"quorum.fraction": v})
        for src, v in zip(LAYER_SOURCES, settings_by_layer, strict=True)
    ]
    resolved = resolve(layers, preset=preset)["quorum.fraction"]
    winners = [(s, v) for s, v in zip(LAYER_SOURCES, settings_by_layer, strict=True) if v]
    if winners:
        assert (resolved.source, resolved.value) == winners[0]
    else:
        assert resolved.source == "default"
        assert resolved.value == Fraction(1, 2)


def test_dump_value_normalises_written_forms_and_refuses_invalid_ones() -> None:
    assert dump_value("quorum.fraction", "0.75") == "3/4"
    assert dump_value("timing.vote_window", "PT168H") == "P7D"
    with pytest.raises(GovernanceError, match=r"\(0, 1\]"):
        dump_value("quorum.fraction", "5/4")
