"""The catalogue of policy parameters (domain-rules §2.1–§2.17) and their platform defaults.

Free-text and open-ended structured parameters (``discretion_bounds``,
``eligibility_exclusions``, ``competence``, ``autonomous_caucus``, ``category_source``)
are not here: they are records, not values with a definite set.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from konsilo.governance._values import ArgSpec, Choice, Parameter
from konsilo.governance.apportionment import ApportionmentMethod, Fixed

HALF = Fraction(1, 2)
DAY = timedelta(days=1)
ZERO = timedelta(0)

DECISION_TYPES = (
    "ordinary_motion",
    "instruction",
    "election_single",
    "election_multi",
    "recall",
    "amend_or_rescind",
    "policy",
    "statutes",
    "referendum",
    "constitutional",
    "expulsion",
    "dissolution",
)
PREFERENTIAL_METHODS = ("irv", "stv", "schulze")
METHODS = tuple(m.value for m in ApportionmentMethod)

_P_MAJORITY = ArgSpec("p", "fraction", minimum=HALF, maximum=Fraction(1), min_open=True)

DECISION_RULE_FORMS: dict[str, tuple[ArgSpec, ...]] = {
    "simple_majority": (),
    "absolute_majority": (),
    "supermajority": (_P_MAJORITY,),
    "supermajority_of_members": (_P_MAJORITY,),
    "unanimity": (),
    "consent": (),
    "consensus": (),
    "preferential": (ArgSpec("method", "enum", choices=PREFERENTIAL_METHODS),),
}

_UNIT: dict[str, Any] = {"minimum": Fraction(0), "maximum": Fraction(1), "min_open": True}

_PARAMS: list[Parameter] = []


def _p(name: str, kind: str, default: Any, description: str, **extra: Any) -> None:
    section = name.split(".", 1)[0]
    _PARAMS.append(Parameter(name=name, section=section, kind=kind, default=default,
                             description=description, **extra))  # fmt: skip


def _enum(name: str, choices: str, default: Any, description: str, **extra: Any) -> None:
    _p(name, "enum", default, description, choices=tuple(choices.split()), **extra)


# §2.1 structure ---------------------------------------------------------------------------
_p(
    "structure.levels",
    "list",
    ("assembly", "council", "congress"),
    "Ordered level names, lowest (base) first.",
    minimum=1,
    source="§2.1",
)
_enum(
    "structure.parent_rule",
    "tree dag",
    "tree",
    "Whether a council has one parent (tree) or may have several (DAG, cross-cutting "
    "federations; double counting is then prevented by primary bases, §3.4).",
    source="§2.1",
)
_p(
    "structure.delegation_seats",
    "seat_policy",
    Fixed(1),
    "Seats of each delegation: fixed(n), per_members(k) (one per full k represented) or "
    "apportioned(total, method). 1918: 1 per 25,000 voters; Rojava 2014: 1 per 15,000 votes.",
    source="§2.1",
)
_enum(
    "structure.apportionment_method",
    " ".join(METHODS),
    "sainte_lague",
    "Rounding method for seats and for whole-vote splits of a delegation (§3.6); none "
    "means no rounding method is configured.",
    nullable=True,
    source="§2.1",
)
_p(
    "structure.min_seats_per_base",
    "int",
    1,
    "Minimum seats per base; stops small bases from vanishing. Must equal the min=m of a "
    "per_members or apportioned delegation_seats, which is the minimum actually applied.",
    minimum=0,
    source="§2.1",
)
_enum(
    "structure.vote_weight",
    "per_delegate represented_members equal_per_base",
    "per_delegate",
    "How a delegation's votes are weighted: per delegate, by represented "
    "members (card vote) or one weight per base.",
    source="§2.1",
)
_enum(
    "structure.represented_count_basis",
    "members members_in_good_standing voters_in_instruction_vote",
    "members_in_good_standing",
    "Who counts as represented, frozen at the census date.",
    source="§2.1",
)
_p(
    "structure.census_date_offset",
    "duration",
    30 * DAY,
    "How long before a session the census is frozen; stops mass joining before a vote.",
    minimum=ZERO,
    source="§2.1",
)
_p(
    "structure.skip_level_if_absent",
    "bool",
    True,
    "If a level's council is absent, the councils below send delegates to the next one up.",
    source="§2.1",
)
_p(
    "structure.direct_base_representation_at_top",
    "bool",
    False,
    "The top council seats the bases directly (CNT Congress).",
    source="§2.1",
)
_enum(
    "structure.composition",
    "re_deliberation pass_through direct_base_representation",
    "pass_through",
    "How mandates compose across levels (§3.5): intermediate councils re-deliberate (nested "
    "bound_majority), pass their bases' weighted tallies through, or are bypassed for the item "
    "(direct base representation). Set per federation, overridable per item; when left at the "
    "default, direct_base_representation_at_top true means direct_base_representation.",
    source="§3.5",
)
_p(
    "structure.reserved_seats_for_organizations",
    "map",
    MappingProxyType({}),
    "Seats reserved for organisations by type (Rojava district councils, TEV-DEM).",
    item_kind="int",
    minimum=1,
    source="§2.1",
)
_p(
    "structure.down_link_seat",
    "bool",
    False,
    "Sociocratic double link: the lower circle's leader also sits in the higher circle.",
    source="§2.1",
)
_enum(
    "structure.leader_selected_by",
    "lower_circle higher_circle",
    "lower_circle",
    "Who selects the leader linking a lower circle to the higher one.",
    source="§2.1",
)

# §2.2 membership --------------------------------------------------------------------------
_p(
    "membership.min_age_vote",
    "int",
    None,
    "Minimum age to vote; none means the organisation sets no minimum.",
    minimum=0,
    nullable=True,
    source="§2.2",
)
_p(
    "membership.min_age_office",
    "int",
    None,
    "Minimum age to hold office.",
    minimum=0,
    nullable=True,
    source="§2.2",
)
_p(
    "membership.probation_period",
    "duration",
    ZERO,
    "Probation before full membership.",
    minimum=ZERO,
    source="§2.2",
)
_enum(
    "membership.multi_base_membership",
    "forbid allow_with_primary allow_full",
    "allow_with_primary",
    "Whether members may belong to several bases; weight always "
    "goes through the primary base (§3.4).",
    source="§2.2",
)
_p(
    "membership.primary_base_change_cooldown",
    "duration",
    90 * DAY,
    "Delay before a change of primary base takes effect; stops base shopping.",
    minimum=ZERO,
    source="§2.2",
)
_p(
    "membership.incompatible_offices",
    "pairs",
    (),
    "Pairs of roles one person may not hold together (EZLN: command and civil authority).",
    source="§2.2",
)

# §2.3 mandate -----------------------------------------------------------------------------
_enum(
    "mandate.mode",
    "bound_majority bound_proportional instructed_with_discretion free",
    "bound_majority",
    "How a delegation's vote follows its base: bound_majority at the base "
    "level, bound_proportional above it (avoids the majority-of-majorities distortion, "
    "§3.5).",
    default_above_base="bound_proportional",
    source="§2.3",
)
_enum(
    "mandate.enforcement",
    "system_casts delegate_casts_checked delegate_casts_unchecked",
    "system_casts",
    "Who casts a bound delegation's vote; with system_casts a breach is "
    "impossible. Applies to bound modes only.",
    source="§2.3",
)
_enum(
    "mandate.scope",
    "all_items listed_items items_with_instructions",
    "items_with_instructions",
    "Which items the mandate covers.",
    source="§2.3",
)
_enum(
    "mandate.instruction_source",
    "base_vote base_consent base_council_decision",
    "base_vote",
    "How the base decides its instruction.",
    source="§2.3",
)
_p(
    "mandate.instruction_quorum",
    "fraction",
    None,
    "Quorum of the base's instruction vote; none means the base's own quorum (§2.8).",
    nullable=True,
    **_UNIT,
    source="§2.3",
)
_p(
    "mandate.instruction_deadline",
    "duration",
    timedelta(hours=24),
    "Offset before the higher session or vote opens by which instructions are due.",
    minimum=ZERO,
    source="§2.3",
)
_enum(
    "mandate.late_instruction",
    "ignore accept_until_vote_opens accept_until_vote_closes",
    "accept_until_vote_opens",
    "What happens to an instruction that arrives late.",
    source="§2.3",
)
_enum(
    "mandate.no_instruction_behavior",
    "abstain discretion not_counted carry_previous_position",
    "abstain",
    "What a bound delegation does without an instruction (§3.2).",
    source="§2.3",
)
_p(
    "mandate.out_of_mandate_amendment",
    "choice_list",
    (Choice("request_postponement"), Choice("abstain")),
    "What a delegation does on an amendment outside its mandate, in order of fallback (§3.10).",
    forms=dict.fromkeys(("abstain", "discretion", "request_postponement", "refer_back"), ()),
    source="§2.3",
)
_p(
    "mandate.postponement_threshold",
    "fraction",
    Fraction(1, 5),
    "A vote on a version outside the mandates is postponed automatically when delegations "
    "representing at least this fraction of the members ask (§3.10).",
    **_UNIT,
    source="§3.10",
)
_p(
    "mandate.min_instructed_share",
    "fraction",
    None,
    "Postponement guard: if bases representing less than this fraction of the members have "
    "instructed, the higher council must postpone the item; none is off (§3.2).",
    nullable=True,
    **_UNIT,
    source="§3.2",
)
_enum(
    "mandate.ballot_shape",
    "yes_no_abstain ranked score multi_option",
    "yes_no_abstain",
    "The shape of instructions; multi-option items need ranked or multi-option ones.",
    source="§2.3",
)
_enum(
    "mandate.weights",
    "fractional whole_votes",
    "fractional",
    "Whether a proportional delegation's vote is split in exact fractions (card-vote "
    "principle) or rounded to whole votes per delegate by the apportionment method (§3.6).",
    source="§3.6",
)
_p(
    "mandate.report_back_required",
    "bool",
    True,
    "Delegates must report back to their base.",
    source="§2.3",
)
_p(
    "mandate.report_back_deadline",
    "duration",
    14 * DAY,
    "Deadline for the report back.",
    minimum=ZERO,
    source="§2.3",
)
_p(
    "mandate.delegate_vote_public",
    "bool",
    True,
    "Each delegation's vote at a higher council is recorded by name; not overridable.",
    fixed=True,
    source="§2.3",
)

# §2.4 recall ------------------------------------------------------------------------------
_p(
    "recall.triggers",
    "set",
    ("base_vote_motion", "mandate_breach", "petition"),
    "What can start a recall.",
    choices=(
        "petition",
        "base_vote_motion",
        "continuous_withdrawal",
        "mandate_breach",
        "inactivity",
    ),
    source="§2.4",
)
_enum(
    "recall.who_may_trigger",
    "electorate_only electorate_or_higher_body",
    "electorate_only",
    "Who may start a recall; higher bodies are excluded by default.",
    source="§2.4",
)
_p(
    "recall.petition_threshold",
    "fraction",
    Fraction(1, 5),
    "A petition signed by at least "
    "this fraction of the delegate's electorate starts a recall ballot.",
    **_UNIT,
    source="§2.4",
)
_p(
    "recall.immediate_recall_threshold",
    "fraction",
    HALF,
    "When strictly more than this "
    "fraction of the electorate signs, the recall needs no ballot (1917 decree).",
    minimum=Fraction(0),
    maximum=Fraction(1),
    max_open=True,
    source="§2.4",
)
_p(
    "recall.recall_ballot_rule",
    "choice",
    Choice("simple_majority"),
    "Decision rule of a recall ballot (§2.9).",
    forms=DECISION_RULE_FORMS,
    source="§2.4",
)
_p(
    "recall.recall_ballot_window",
    "duration",
    14 * DAY,
    "How long a recall ballot is open.",
    minimum=ZERO,
    min_open=True,
    source="§2.4",
)
_p(
    "recall.continuous_withdrawal",
    "bool",
    False,
    "Electors may withdraw support at any time; the recall fires below the withdrawal threshold.",
    source="§2.4",
)
_p(
    "recall.withdrawal_threshold",
    "fraction",
    HALF,
    "Support below which a continuous withdrawal recall fires.",
    **_UNIT,
    source="§2.4",
)
_enum(
    "recall.mandate_breach_action",
    "flag auto_suspend auto_recall",
    "flag",
    "What a mandate breach causes (moot with system_casts).",
    source="§2.4",
)
_p(
    "recall.inactivity_missed_sessions",
    "int",
    None,
    "Missed sessions that open a petition-free recall ballot; none is off.",
    minimum=1,
    nullable=True,
    source="§2.4",
)
_enum(
    "recall.effective_at",
    "certification end_of_session",
    "certification",
    "When a recall takes effect (§3.1).",
    source="§2.4",
)
_p(
    "recall.failed_petition_cooldown",
    "duration",
    30 * DAY,
    "Wait after a failed petition against the same office-holder.",
    minimum=ZERO,
    source="§2.4",
)
_p("recall.recall_ballot_secret", "bool", True, "Recall ballots are secret.", source="§2.4")
_enum(
    "recall.successor",
    "alternate by_election base_decides",
    "alternate",
    "Who takes a recalled seat (§3.7).",
    source="§2.4",
)
_p(
    "recall.by_election_deadline",
    "duration",
    30 * DAY,
    "A by-election is held within this time when no alternate takes the seat.",
    minimum=ZERO,
    source="§2.4",
)

# §2.5 terms -------------------------------------------------------------------------------
_p(
    "terms.term_length",
    "duration",
    365 * DAY,
    "Length of a term (a year of 365 days by default; durations are exact days).",
    minimum=ZERO,
    min_open=True,
    source="§2.5",
)
_p(
    "terms.max_consecutive_terms",
    "int",
    3,
    "Consecutive terms allowed; none is no limit.",
    minimum=1,
    nullable=True,
    source="§2.5",
)
_p(
    "terms.cooldown_after_limit",
    "int",
    1,
    "Terms to wait after reaching the limit.",
    minimum=0,
    source="§2.5",
)
_p(
    "terms.lifetime_max_terms",
    "int",
    None,
    "Terms allowed in a lifetime; none is no limit.",
    minimum=1,
    nullable=True,
    source="§2.5",
)
_enum(
    "terms.selection_mode",
    "election consent_selection rotation_roster sortition",
    "election",
    "How offices are filled.",
    source="§2.5",
)
_enum(
    "terms.roster_order",
    "alphabetical random_seeded least_recently_served",
    "least_recently_served",
    "Order of a rotation roster.",
    source="§2.5",
)
_p(
    "terms.opt_out_allowed",
    "bool",
    True,
    "A person may decline an office, with a recorded reason.",
    source="§2.5",
)
_p(
    "terms.staggered_renewal",
    "fraction",
    Fraction(0),
    "Fraction of seats renewed per half-term.",
    minimum=Fraction(0),
    maximum=Fraction(1),
    source="§2.5",
)
_p(
    "terms.max_concurrent_offices",
    "int",
    2,
    "Offices one person may hold at once; none is no limit.",
    minimum=1,
    nullable=True,
    source="§2.5",
)
_p(
    "terms.max_seats_per_council",
    "int",
    1,
    "Seats one person may hold in one council (§3.18).",
    minimum=1,
    source="§2.5",
)
_p("terms.alternates", "int", 1, "Alternates elected per seat.", minimum=0, source="§2.5")

# §2.6 pay ---------------------------------------------------------------------------------
_enum(
    "pay.delegate_pay_mode",
    "unpaid_community_support expenses_only wage_replacement stipend",
    "expenses_only",
    "How delegates are paid.",
    source="§2.6",
)
_p(
    "pay.pay_cap",
    "fraction",
    Fraction(1),
    "Pay cap as a multiple of the reference wage "
    "(median member wage or a set amount); none is no cap.",
    minimum=Fraction(0),
    nullable=True,
    source="§2.6",
)
_p(
    "pay.org_pay_ratio_max",
    "fraction",
    None,
    "Highest to lowest pay ratio; none is no limit.",
    minimum=Fraction(1),
    nullable=True,
    source="§2.6",
)
_enum(
    "pay.pay_decisions_type",
    " ".join(DECISION_TYPES),
    "statutes",
    "The decision type under which pay is decided.",
    source="§2.6",
)

# §2.7 representation ----------------------------------------------------------------------
_p(
    "representation.co_chairs",
    "choice",
    Choice("off"),
    "Co-chairs: off, or a pair that must cover two categories, e.g. pair_required(woman, man).",
    forms={"off": (), "pair_required": (ArgSpec("first", "name"), ArgSpec("second", "name"))},
    source="§2.7",
)
_p(
    "representation.group_min_share",
    "map",
    MappingProxyType({}),
    "Minimum share of seats "
    "per category, e.g. woman: 2/5. Each minimum must be achievable with the body's seats.",
    item_kind="fraction",
    **_UNIT,
    source="§2.7",
)
_p(
    "representation.reserved_share",
    "map",
    MappingProxyType({}),
    "Share of seats reserved per constituency (Rojava components 2/5).",
    item_kind="fraction",
    **_UNIT,
    source="§2.7",
)
_p(
    "representation.functional_representation",
    "bool",
    False,
    "Every work category holds at least one seat (Yugoslav BOAL).",
    source="§2.7",
)
_enum(
    "representation.enforcement",
    "reject_slate zipper_list reserved_seats top_up_seats warn_only",
    "reserved_seats",
    "How representation constraints are enforced.",
    source="§2.7",
)
_enum(
    "representation.infeasible_quota",
    "leave_seat_vacant temporary_waiver_with_record widen_eligibility",
    "temporary_waiver_with_record",
    "What happens when a quota cannot be filled (§3.12).",
    source="§2.7",
)

# §2.8 quorum ------------------------------------------------------------------------------
_enum(
    "quorum.basis",
    "members enrolled_delegates represented_members bases",
    "members",
    "What the quorum counts: members in assemblies, enrolled delegates in councils of delegates.",
    default_above_base="enrolled_delegates",
    source="§2.8",
)
_p(
    "quorum.fraction",
    "fraction",
    HALF,
    "Fraction of the basis needed to decide.",
    **_UNIT,
    source="§2.8",
)
_p(
    "quorum.double_quorum_delegations",
    "fraction",
    None,
    "Also require this fraction of delegations present (higher councils: 1/2).",
    default_above_base=HALF,
    nullable=True,
    **_UNIT,
    source="§2.8",
)
_p(
    "quorum.double_quorum_represented",
    "fraction",
    None,
    "Also require delegations representing this fraction of members (higher councils: 1/2).",
    default_above_base=HALF,
    nullable=True,
    **_UNIT,
    source="§2.8",
)
_enum(
    "quorum.check_at",
    "opening each_vote",
    "each_vote",
    "When the quorum is checked.",
    source="§2.8",
)
_p(
    "quorum.online_counts",
    "bool",
    True,
    "Online participants count towards the quorum.",
    source="§2.8",
)
_p(
    "quorum.on_failure",
    "choice_list",
    (Choice("adjourn"), Choice("convert_to_async_ballot")),
    "What happens without a quorum, in order (§3.8).",
    forms={
        "adjourn": (),
        "second_call": (
            ArgSpec("reduced_fraction", "fraction", **_UNIT),
            ArgSpec("delay", "duration", minimum=ZERO),
        ),
        "convert_to_async_ballot": (),
        "emergency_with_ratification": (),
    },
    source="§2.8",
)

# §2.9 decision rules ----------------------------------------------------------------------
_p(
    "decision_rule.rule",
    "choice",
    Choice("simple_majority"),
    "The decision rule: "
    "simple_majority, absolute_majority, supermajority(p), supermajority_of_members(p), "
    "unanimity, consent, consensus or preferential(method).",
    forms=DECISION_RULE_FORMS,
    source="§2.9",
)
_enum(
    "decision_rule.abstention_treatment",
    "excluded counts_against",
    "excluded",
    "Whether abstentions are left out or count against.",
    source="§2.9",
)
_enum(
    "decision_rule.tie_rule_motion",
    "fails revote_once chair_casting_vote",
    "fails",
    "What a tied motion does.",
    source="§2.9",
)
_p(
    "decision_rule.tie_rule_election",
    "list",
    ("new_round", "lot"),
    "How an election tie is settled, in order.",
    choices=("new_round", "lot", "seniority"),
    minimum=1,
    source="§2.9",
)
_p(
    "decision_rule.suspend_rights_motions",
    "fraction",
    Fraction(2, 3),
    "Threshold for motions that limit members' rights (closing debate).",
    minimum=HALF,
    maximum=Fraction(1),
    min_open=True,
    source="§2.9",
)

# §2.10 consent ----------------------------------------------------------------------------
_p("consent.objection_requires_reason", "bool", True, "Objections must be argued.", source="§2.10")
_enum(
    "consent.objection_validity_test",
    "paramount_to_aim any_reasoned any",
    "paramount_to_aim",
    "When an objection is valid.",
    source="§2.10",
)
_enum(
    "consent.validity_judged_by",
    "objector facilitator circle_consent",
    "circle_consent",
    "Who judges an objection's validity; rulings are recorded.",
    source="§2.10",
)
_p(
    "consent.stances",
    "set",
    ("block", "consent", "consent_with_concern", "object", "stand_aside"),
    "Stances offered in consent rounds (block only in the consensus variant).",
    choices=("consent", "consent_with_concern", "stand_aside", "object", "block"),
    minimum=1,
    source="§2.10",
)
_p(
    "consent.stand_aside_binds_implementation",
    "bool",
    True,
    "Those who stand aside are bound by the decision.",
    source="§2.10",
)
_p(
    "consent.stand_aside_limit",
    "fraction",
    None,
    "Above this fraction of stand-asides the "
    "proposal fails; none is no limit (1/3 under the consensus rule).",
    nullable=True,
    default_if=(("decision_rule.rule", "consensus", Fraction(1, 3)),),
    **_UNIT,
    source="§2.10",
)
_p(
    "consent.integration_rounds_max",
    "int",
    3,
    "Rounds to integrate objections.",
    minimum=1,
    source="§2.10",
)
_p(
    "consent.timebox",
    "duration",
    7 * DAY,
    "How long an online consent round is open.",
    minimum=ZERO,
    min_open=True,
    source="§2.10",
)
_p(
    "consent.fallback_on_deadlock",
    "choice",
    Choice("status_quo"),
    "What happens when consent cannot be reached.",
    forms={
        "status_quo": (),
        "majority_vote": (),
        "supermajority_vote": (_P_MAJORITY,),
        "escalate_to_parent": (),
        "consensus_minus_one": (),
    },
    source="§2.10",
)
_enum(
    "consent.silence_after_deadline",
    "no_stance counts_as_consent",
    "no_stance",
    "What silence after the deadline means.",
    source="§2.10",
)
_p(
    "consent.review_date_required",
    "bool",
    True,
    "Consent decisions carry a review date.",
    source="§2.10",
)
_p(
    "consent.review_interval",
    "duration",
    182 * DAY,
    "Default time to the review (26 weeks, about six months).",
    minimum=ZERO,
    min_open=True,
    source="§2.10",
)
_p(
    "consent.consent_scope",
    "set",
    (),
    "Decision types decided by consent.",
    choices=DECISION_TYPES,
    source="§2.10",
)
_enum(
    "consent.delegate_objection_mode",
    "own_judgement only_base_mandated_objections",
    "only_base_mandated_objections",
    "Which objections a bound delegate may raise (§3.21).",
    source="§2.10",
)

# §2.11 agenda -----------------------------------------------------------------------------
_p(
    "agenda.member_item_right",
    "choice",
    Choice("seconded", (2,)),
    "Who may put an item on the agenda.",
    forms={
        "any_member": (),
        "seconded": (ArgSpec("k", "int", minimum=1),),
        "petition": (ArgSpec("fraction", "fraction", **_UNIT),),
    },
    source="§2.11",
)
_p(
    "agenda.base_to_higher_item_threshold_bases",
    "fraction",
    Fraction(1, 5),
    "Fraction of bases that puts an item before the higher council.",
    **_UNIT,
    source="§2.11",
)
_p(
    "agenda.base_to_higher_item_threshold_members",
    "fraction",
    Fraction(1, 5),
    "Fraction of represented members that puts an item before the higher council.",
    **_UNIT,
    source="§2.11",
)
_p(
    "agenda.extraordinary_session_threshold",
    "fraction",
    Fraction(1, 3),
    "Fraction of the represented members whose councils can call an extraordinary session (1918).",
    **_UNIT,
    source="§2.11",
)
_p(
    "agenda.min_notice",
    "duration",
    7 * DAY,
    "Notice before a decision (statutes: 30 days).",
    minimum=ZERO,
    source="§2.11",
)
_p(
    "agenda.base_deliberation_window",
    "duration",
    14 * DAY,
    "Time between publishing a higher-council item and the instruction deadline.",
    minimum=ZERO,
    min_open=True,
    source="§2.11",
)
_p(
    "agenda.protected_items",
    "bool",
    True,
    "Items put by bases may be tabled or removed only by 2/3.",
    source="§2.11",
)
_enum(
    "agenda.executive_agenda_power",
    "propose_only set_agenda",
    "propose_only",
    "Whether the executive may set the agenda or only propose.",
    source="§2.11",
)

# §2.12 secrecy ----------------------------------------------------------------------------
_enum(
    "secrecy.ballot",
    "open secret",
    "open",
    "Ballot secrecy per decision type (elections "
    "and recalls secret by default; delegation votes are always open).",
    source="§2.12",
)
_p(
    "secrecy.small_n_disclosure_floor",
    "int",
    5,
    "Below this many voters only the outcome is published (§3.16).",
    minimum=0,
    source="§2.12",
)

# §2.13 minority ---------------------------------------------------------------------------
_p(
    "minority.minority_report",
    "bool",
    True,
    "Members who did not prevail may file a minority report.",
    source="§2.13",
)
_p(
    "minority.minority_report_min_signatories",
    "int",
    1,
    "Signatories needed to file a minority report.",
    minimum=1,
    source="§2.13",
)
_p(
    "minority.minority_report_travels_up",
    "bool",
    True,
    "The report goes with the delegation's mandate to the higher council.",
    source="§2.13",
)
_p(
    "minority.record_named_dissent",
    "bool",
    True,
    "Open ballots record who dissented.",
    source="§2.13",
)
_p(
    "minority.proportional_aggregation_levels",
    "int",
    2,
    "From this level (1 = base) minorities are carried upward as weights.",
    minimum=1,
    source="§2.13",
)
_p(
    "minority.right_to_be_heard",
    "bool",
    True,
    "An organised minority gets a speaking slot on items that affect it.",
    source="§2.13",
)
_p(
    "minority.information_parity",
    "bool",
    True,
    "Council members see every document the executive sees.",
    source="§2.13",
)
_p(
    "minority.protected_group_consent",
    "set",
    (),
    "Decision types that need the consent of a named group.",
    choices=DECISION_TYPES,
    source="§2.13",
)

# §2.14 timing -----------------------------------------------------------------------------
_p(
    "timing.timezone",
    "text",
    "UTC",
    "The organisation's time zone (IANA name); deadlines are stored as UTC instants.",
    choices=(r"UTC|[A-Z][A-Za-z_+\-]*(/[A-Za-z0-9_+\-]+){1,2}|Etc/GMT[+\-]\d{1,2}",),
    source="§2.14",
)
_p(
    "timing.vote_window",
    "duration",
    timedelta(hours=72),
    "How long an asynchronous vote is open (statutes: 7 days).",
    minimum=ZERO,
    min_open=True,
    source="§2.14",
)
_p(
    "timing.session_minimum_gap",
    "duration",
    None,
    "Minimum gap between sessions; none means the base deliberation window.",
    minimum=ZERO,
    nullable=True,
    source="§2.14",
)

# §2.16 referendum -------------------------------------------------------------------------
_p(
    "referendum.trigger_members",
    "fraction",
    Fraction(1, 10),
    "Fraction of all members whose petition calls a referendum.",
    **_UNIT,
    source="§2.16",
)
_p(
    "referendum.trigger_bases",
    "fraction",
    Fraction(1, 3),
    "Fraction of bases that calls a referendum.",
    **_UNIT,
    source="§2.16",
)
_p(
    "referendum.precedence",
    "bool",
    True,
    "A referendum result binds all councils until rescinded by referendum.",
    source="§2.16",
)
_p(
    "referendum.officer_elections_by_referendum",
    "bool",
    False,
    "Officers are elected by referendum of all members (IWW).",
    source="§2.16",
)

# §2.17 elections --------------------------------------------------------------------------
_enum(
    "elections.method_single",
    "plurality majority_runoff irv approval consent_selection sortition roster",
    "irv",
    "Method for single-seat elections.",
    source="§2.17",
)
_enum(
    "elections.method_multi",
    "stv block_approval list_pr",
    "stv",
    "Method for multi-seat elections.",
    source="§2.17",
)
_enum("elections.nominations", "self others both", "both", "Who may nominate.", source="§2.17")
_p(
    "elections.candidate_statement_required",
    "bool",
    True,
    "Candidates publish a statement.",
    source="§2.17",
)
_p(
    "elections.quota_aware_counting",
    "bool",
    True,
    "STV respects representation constraints (§2.7) when they exist.",
    source="§2.17",
)

PARAMETERS: MappingProxyType[str, Parameter] = MappingProxyType(
    {p.name: p for p in sorted(_PARAMS, key=lambda p: p.name)}
)

# Platform defaults per decision type (§2.9, §2.11, §2.12, §2.14), applied below the preset.
DECISION_TYPE_DEFAULTS: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType({
    "ordinary_motion": MappingProxyType({}),
    "instruction": MappingProxyType({}),
    "election_single": MappingProxyType({
        "decision_rule.rule": Choice("preferential", ("irv",)), "secrecy.ballot": "secret"}),
    "election_multi": MappingProxyType({
        "decision_rule.rule": Choice("preferential", ("stv",)), "secrecy.ballot": "secret"}),
    "recall": MappingProxyType(
        {"decision_rule.rule": Choice("simple_majority"), "secrecy.ballot": "secret"}
    ),
    "amend_or_rescind": MappingProxyType({
        "decision_rule.rule": Choice("supermajority", (Fraction(2, 3),))}),
    "policy": MappingProxyType({}),
    "statutes": MappingProxyType({
        "decision_rule.rule": Choice("supermajority", (Fraction(2, 3),)),
        "agenda.min_notice": 30 * DAY, "timing.vote_window": 7 * DAY}),
    "referendum": MappingProxyType({}),
    "constitutional": MappingProxyType({"decision_rule.rule": Choice("unanimity")}),
    "expulsion": MappingProxyType({
        "decision_rule.rule": Choice("supermajority", (Fraction(2, 3),))}),
    "dissolution": MappingProxyType({
        "decision_rule.rule": Choice("supermajority_of_members", (Fraction(3, 4),))}),
})  # fmt: skip
