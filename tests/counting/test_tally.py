"""count_ballots: every method, bad shapes refused, exact weights, stable result bytes."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import budget, cardinal, consent, motion, schulze
from konsilo.counting.profile import RankedProfile
from konsilo.counting.tally import (
    BALLOT_KEYS,
    METHODS,
    TallyError,
    count_ballots,
    did_not_prevail,
    normalise_ballot,
)

ONE = Fraction(1)
OPTIONS = ["Ana", "Bea", "Cem"]


def _recount_from_record(method: str, rule: dict[str, Any], ballots: list[Any]) -> bytes:
    """Round-trip rule and ballots through canonical JSON, as a verifier reads the record."""
    stored_rule = canonical.loads(canonical.dumps(rule))
    stored = canonical.loads(canonical.dumps([[b, w] for b, w in ballots]))
    return count_ballots(method, stored_rule, [(b, w) for b, w in stored]).to_json()


# -- every method agrees with its count function -----------------------------------------------


def test_motion_sums_exact_weights_and_applies_quorum_from_the_census() -> None:
    ballots = [
        ({"choice": "yes"}, Fraction(14, 11)),
        ({"choice": "no"}, Fraction(8, 11)),
        ({"choice": "yes"}, ONE),
        ({"choice": "abstain"}, ONE),
    ]
    rule = {
        "rule": "simple_majority",
        "quorum": {"fraction": "1/2", "basis": "members", "strict": False},
        "eligible": 6,
        "eligible_weight": "6",
        "abstention_treatment": "excluded",
        "tie_rule": "fails",
    }
    result = count_ballots("motion", rule, ballots)
    expected = motion.count(
        motion.MotionBallots(
            yes=Fraction(25, 11), no=Fraction(8, 11), abstain=1, eligible=6, participants=4
        ),
        rule="simple_majority",
        quorum=motion.Quorum(Fraction(1, 2)),
    )
    assert result.to_json() == expected.to_json()
    assert result.outcome == "adopted"
    assert result.rounds[0].tallies["yes"] == Fraction(25, 11)


def test_motion_below_quorum_is_no_decision() -> None:
    rule = {"rule": "simple_majority", "quorum": {"fraction": "1/2"}, "eligible": 10}
    result = count_ballots("motion", rule, [({"choice": "yes"}, 1)] * 4)
    assert result.outcome == "no_quorum"
    assert result.winners == ()


def test_motion_supermajority_takes_its_fraction_from_the_rule() -> None:
    ballots = [({"choice": "yes"}, 2), ({"choice": "no"}, 1)]
    result = count_ballots("motion", {"rule": "supermajority", "fraction": "2/3"}, ballots)
    assert result.outcome == "adopted"
    assert result.rounds[0].threshold == 2


def test_motion_tie_fails_by_default_and_revotes_when_the_rule_says() -> None:
    ballots = [({"choice": "yes"}, 1), ({"choice": "no"}, 1)]
    assert count_ballots("motion", {"rule": "simple_majority"}, ballots).outcome == "rejected"
    revote = count_ballots("motion", {"rule": "simple_majority", "tie_rule": "revote"}, ballots)
    assert revote.outcome == "tie"


def test_consent_names_members_of_open_rounds_and_keeps_objections() -> None:
    ballots = [
        ({"stance": "consent", "reason": "", "member": "m-1"}, ONE),
        ({"stance": "object", "reason": "no budget line", "member": "m-2"}, ONE),
    ]
    result = count_ballots("consent", {"variant": "consent"}, ballots)
    expected = consent.count(
        [consent.Stance("m-1", "consent"), consent.Stance("m-2", "object", "no budget line")]
    )
    assert result.to_json() == expected.to_json()
    assert result.outcome == "objected"


def test_consent_with_a_judged_objection_is_adopted() -> None:
    judgement = {"valid": False, "judged_by": "circle", "reason": "not paramount"}
    ballots = [
        ({"stance": "consent", "reason": ""}, ONE),
        ({"stance": "object", "reason": "taste", "judgement": judgement}, ONE),
    ]
    assert count_ballots("consent", {}, ballots).outcome == "adopted"


def test_consent_refuses_a_weight_other_than_one() -> None:
    with pytest.raises(TallyError, match=r"ballot 1: weight: consent is not weighted"):
        count_ballots("consent", {}, [({"stance": "consent", "reason": ""}, Fraction(3))])


def test_plurality_counts_weighted_choices_and_blanks() -> None:
    ballots = [
        ({"choice": "Ana"}, Fraction(3, 2)),
        ({"choice": "Bea"}, ONE),
        ({"choice": None}, ONE),
    ]
    result = count_ballots("plurality", {"options": OPTIONS}, ballots)
    expected = cardinal.plurality(
        ["Ana", "Bea", None], candidates=OPTIONS, weights=[Fraction(3, 2), 1, 1]
    )
    assert result.to_json() == expected.to_json()
    assert result.rounds[0].exhausted == 1


def test_approval_elects_two_seats() -> None:
    ballots = [({"approve": ["Bea", "Ana"]}, 2), ({"approve": ["Cem"]}, 1), ({"approve": []}, 1)]
    result = count_ballots("approval", {"options": OPTIONS, "seats": 2}, ballots)
    assert result.winners == ("Ana", "Bea")
    assert result.rounds[0].exhausted == 1


def test_score_treats_unscored_options_as_the_minimum() -> None:
    ballots = [({"scores": {"Ana": 9, "Bea": 5}}, 1), ({"scores": {"Bea": 10}}, 1)]
    rule = {"options": ["Ana", "Bea"], "min_score": 0, "max_score": 10}
    result = count_ballots("score", rule, ballots)
    expected = cardinal.score(
        [{"Ana": 9, "Bea": 5}, {"Bea": 10}], candidates=["Ana", "Bea"], max_score=10
    )
    assert result.to_json() == expected.to_json()
    assert result.winners == ("Bea",)


def test_dot_vote_adds_dots_times_weight() -> None:
    ballots = [({"dots": {"Ana": 2, "Bea": 1}}, 1), ({"dots": {"Bea": 3}}, Fraction(1, 2))]
    result = count_ballots("dot_vote", {"options": ["Ana", "Bea"], "dots": 3}, ballots)
    assert result.rounds[0].tallies == {"Ana": 2, "Bea": Fraction(5, 2)}


def test_schulze_ranks_amendments_against_the_status_quo() -> None:
    # LiquidFeedback: an initiative must beat the status quo to win.
    rule = {"options": ["status quo", "A", "B"], "status_quo": "status quo"}
    ballots = [
        ({"ranking": [["A"], ["status quo"], ["B"]]}, 3),
        ({"ranking": [["status quo"], ["B", "A"]]}, 2),
        ({"ranking": [["B"], ["A"]]}, 1),
    ]
    result = count_ballots("schulze", rule, ballots)
    profile = RankedProfile.from_rankings(
        ["status quo", "A", "B"],
        [[{"A"}, {"status quo"}, {"B"}], [{"status quo"}, {"A", "B"}], [{"B"}, {"A"}]],
        [3, 2, 1],
    )
    expected = schulze.count(profile, status_quo="status quo")
    assert result.to_json() == expected.to_json()
    assert result.winners == ("A",)


def test_schulze_status_quo_stands_when_no_initiative_beats_it() -> None:
    rule = {"options": ["sq", "A"], "status_quo": "sq"}
    result = count_ballots("schulze", rule, [({"ranking": [["sq"], ["A"]]}, 2)])
    assert result.outcome == "status_quo"


def test_budget_replicates_whole_weights_as_voters() -> None:
    rule = {"projects": {"Park": 40, "Library": 50, "Bikes": 30}, "budget": 100}
    ballots = [
        ({"approve": ["Park"]}, 1),
        ({"approve": ["Park", "Library"]}, 1),
        ({"approve": ["Library"]}, 1),
        ({"approve": ["Bikes"]}, 1),
    ]
    result = count_ballots("budget", rule, ballots)
    expected = budget.equal_shares(
        [{"Park"}, {"Park", "Library"}, {"Library"}, {"Bikes"}],
        projects={"Park": 40, "Library": 50, "Bikes": 30},
        budget=100,
    )
    assert result.to_json() == expected.to_json()
    doubled = count_ballots("budget", rule, [(ballots[0][0], 2), *ballots[1:]])
    spelled_out = count_ballots("budget", rule, [ballots[0], *ballots])
    assert doubled.to_json() == spelled_out.to_json()


def test_budget_greedy_method_is_chosen_by_the_rule() -> None:
    rule = {"projects": {"A": 60, "B": 50, "C": 40}, "budget": 100, "budget_method": "greedy"}
    ballots = [({"approve": ["A"]}, 1), ({"approve": ["A", "B"]}, 1), ({"approve": ["C"]}, 1)]
    assert count_ballots("budget", rule, ballots).winners == ("A", "C")


def test_budget_refuses_fractional_weights() -> None:
    rule = {"projects": {"A": 1}, "budget": 1}
    with pytest.raises(TallyError, match="equal shares counts whole voters"):
        count_ballots("budget", rule, [({"approve": ["A"]}, Fraction(1, 2))])


def test_every_method_is_listed_with_its_ballot_keys() -> None:
    assert set(METHODS) == set(BALLOT_KEYS)


# -- every bad shape -------------------------------------------------------------------------

RULES: dict[str, dict[str, Any]] = {
    "motion": {"rule": "simple_majority"},
    "consent": {},
    "plurality": {"options": OPTIONS},
    "approval": {"options": OPTIONS},
    "score": {"options": OPTIONS, "max_score": 5},
    "dot_vote": {"options": OPTIONS, "dots": 3},
    "schulze": {"options": OPTIONS},
    "budget": {"projects": {"Ana": 1, "Bea": 2}, "budget": 2},
}

BAD_BALLOTS = [
    ("motion", ["yes"], r"ballot 1: expected a mapping, got list"),
    ("motion", {}, r"ballot 1: a motion ballot has keys choice; missing choice"),
    ("motion", {"choice": "yes", "voter": "x"}, r"unexpected voter"),
    ("motion", {"choice": "maybe"}, r"choice: expected yes, no or abstain, got 'maybe'"),
    ("motion", {"choice": 1}, r"choice: expected yes, no or abstain, got 1"),
    ("consent", {"stance": "consent"}, r"missing reason"),
    ("consent", {"stance": "love", "reason": ""}, r"stance: expected one of consent"),
    ("consent", {"stance": "object", "reason": 3}, r"reason: expected a string"),
    ("consent", {"stance": "object", "reason": "", "judgement": {}}, r"judgement: expected"),
    ("plurality", {"choice": "Dan"}, r"choice: unknown option 'Dan'"),
    ("plurality", {"choice": ["Ana"]}, r"choice: expected an option name"),
    ("approval", {"approve": "Ana"}, r"approve: expected a list of options"),
    ("approval", {"approve": ["Ana", "Ana"]}, r"approve: an option is listed twice"),
    ("approval", {"approve": ["Zoe"]}, r"approve: unknown option 'Zoe'"),
    ("score", {"scores": ["Ana"]}, r"scores: expected a mapping"),
    ("score", {"scores": {"Ana": 6}}, r"scores\['Ana'\]: expected 0 to 5, got 6"),
    ("score", {"scores": {"Ana": "5"}}, r"scores\['Ana'\]: expected a whole number"),
    ("score", {"scores": {"Dan": 1}}, r"scores: unknown option 'Dan'"),
    ("dot_vote", {"dots": {"Ana": 2, "Bea": 2}}, r"places 4 dots, but each voter has 3"),
    ("dot_vote", {"dots": {"Ana": -1}}, r"dots\['Ana'\]: expected ≥ 0"),
    ("schulze", {"ranking": ["Ana"]}, r"ranking place 1: expected a non-empty list"),
    ("schulze", {"ranking": [[]]}, r"ranking place 1: expected a non-empty list"),
    ("schulze", {"ranking": [["Ana"], ["Ana"]]}, r"'Ana' is ranked twice"),
    ("schulze", {"ranking": [["Dan"]]}, r"ranking place 1: unknown option 'Dan'"),
    ("schulze", {"ranking": "Ana"}, r"ranking: expected a list of groups"),
    ("budget", {"approve": ["Cem"]}, r"approve: unknown option 'Cem'"),
]


@pytest.mark.parametrize(("method", "ballot", "message"), BAD_BALLOTS)
def test_a_ballot_of_the_wrong_shape_is_refused_naming_ballot_and_problem(
    method: str, ballot: Any, message: str
) -> None:
    with pytest.raises(TallyError, match=message):
        count_ballots(method, RULES[method], [(ballot, ONE)])
    with pytest.raises(TallyError, match=message):
        normalise_ballot(method, RULES[method], ballot)


def test_the_error_names_the_position_of_the_bad_ballot() -> None:
    ballots = [({"choice": "yes"}, 1), ({"choice": "yes"}, 1), ({"choice": "nope"}, 1)]
    with pytest.raises(TallyError, match=r"^ballot 3: choice"):
        count_ballots("motion", {"rule": "simple_majority"}, ballots)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (0, r"weight: expected a positive number, got 0"),
        (-1, r"weight: expected a positive number"),
        (0.5, r"weight: expected an integer or an exact fraction"),
        ("1.5", r"weight: expected an integer or an exact fraction"),
        ("1/0", r"weight: '1/0' divides by zero"),
        (True, r"weight: expected an exact number"),
    ],
)
def test_a_weight_must_be_exact_and_positive(weight: Any, message: str) -> None:
    with pytest.raises(TallyError, match=message):
        count_ballots("motion", {"rule": "simple_majority"}, [({"choice": "yes"}, weight)])


def test_a_ballot_that_is_not_a_pair_is_refused() -> None:
    with pytest.raises(TallyError, match=r"ballot 1: expected a \(ballot, weight\) pair"):
        count_ballots("motion", {}, [({"choice": "yes"},)])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("method", "rule", "message"),
    [
        ("instant", {}, r"method: expected one of motion"),
        ("motion", {"rule": "simple_majority", "colour": "red"}, r"unknown key\(s\) colour"),
        ("motion", {"rule": "most"}, r"motion: rule: expected one of"),
        ("motion", {"rule": "supermajority"}, r"use supermajority\(p\)"),
        ("motion", {"quorum": {"fraction": "1/2"}}, r"a members quorum needs the number"),
        ("motion", {"quorum": {"share": "1/2"}}, r"rule.quorum: expected"),
        ("motion", {"abstention_treatment": "ignored"}, r"abstention_treatment: expected"),
        ("plurality", {}, r"rule.options: expected a non-empty list"),
        ("plurality", {"options": ["A", "A"]}, r"rule.options: an option appears twice"),
        ("plurality", {"options": ["A"], "seats": 0}, r"rule.seats: expected a whole number ≥ 1"),
        ("approval", {"options": ["A", "B"], "seats": 3}, r"seats: expected a whole number"),
        ("score", {"options": ["A"], "min_score": 5, "max_score": 5}, r"expected more than"),
        ("dot_vote", {"options": ["A"]}, r"rule.dots: expected a whole number ≥ 1"),
        ("schulze", {"options": ["A"], "status_quo": "Z"}, r"status_quo: 'Z' is not"),
        ("budget", {"budget": 3}, r"rule.projects: expected a mapping"),
        ("budget", {"projects": {"A": 1}, "budget": 3, "budget_method": "x"}, r"method: expected"),
        ("consent", {"variant": "vibes"}, r"variant: expected consent or consensus"),
    ],
)
def test_a_rule_that_does_not_fit_the_method_is_refused(
    method: str, rule: dict[str, Any], message: str
) -> None:
    ballot = {
        "motion": {"choice": "yes"},
        "plurality": {"choice": "A"},
        "approval": {"approve": []},
        "score": {"scores": {}},
        "dot_vote": {"dots": {}},
        "schulze": {"ranking": [["A"]]},
        "budget": {"approve": []},
        "consent": {"stance": "consent", "reason": ""},
    }.get(method, {})
    with pytest.raises(TallyError, match=message):
        count_ballots(method, rule, [(ballot, ONE)])


def test_a_tie_settled_by_lot_needs_the_published_seed() -> None:
    ballots = [({"choice": "A"}, 1), ({"choice": "B"}, 1)]
    rule = {"options": ["A", "B"], "settle_ties_by_lot": True}
    with pytest.raises(TallyError, match="seed"):
        count_ballots("plurality", rule, ballots)
    seeded = count_ballots("plurality", {**rule, "seed": "2026-12-01 public"}, ballots)
    assert len(seeded.draws) == 1
    assert seeded.winners == (seeded.draws[0].chosen,)


# -- exact weights, order and stable bytes --------------------------------------------------


def test_identical_ballots_are_added_into_one_exact_weight() -> None:
    thirds = [({"choice": "yes"}, Fraction(1, 3))] * 3 + [({"choice": "no"}, ONE)]
    result = count_ballots("motion", {"rule": "simple_majority"}, thirds)
    assert result.rounds[0].tallies == {"yes": 1, "no": 1, "abstain": 0}
    assert result.outcome == "rejected"  # a weighted tie is a tie


def test_a_repeated_ballot_counts_the_same_whatever_its_weight_objects() -> None:
    """Equal ballots are checked and keyed once per count; the weights still all add up."""
    rule = {"rule": "simple_majority"}
    shared = [({"choice": "yes"}, ONE)] * 5 + [({"choice": "no"}, Fraction(1, 2))] * 7
    fresh = [({"choice": "yes"}, Fraction(1)) for _ in range(5)] + [
        ({"choice": "no"}, w) for w in ("1/2", Fraction(1, 2), "1/2", "1/2", "1/2", "1/2", "1/2")
    ]
    assert count_ballots("motion", rule, shared).to_json() == (
        count_ballots("motion", rule, fresh).to_json()
    )
    assert count_ballots("motion", rule, shared).rounds[0].tallies == {
        "yes": 5,
        "no": Fraction(7, 2),
        "abstain": 0,
    }


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"choice": "maybe"}, "ballot 41: choice: expected yes, no or abstain"),
        ({"choice": "yes", "note": "x"}, "ballot 41: a motion ballot has keys choice; unexpected"),
        ({"choice": True}, "ballot 41: choice: expected yes, no or abstain"),
    ],
)
def test_a_bad_ballot_after_many_good_ones_is_still_refused(
    bad: dict[str, Any], message: str
) -> None:
    ballots = [({"choice": "yes"}, ONE)] * 40 + [(bad, ONE)]
    with pytest.raises(TallyError, match=message):
        count_ballots("motion", {"rule": "simple_majority"}, ballots)


def test_canonical_string_weights_from_the_record_count_as_fractions() -> None:
    stored = [({"choice": "yes"}, "14/11"), ({"choice": "no"}, "8/11")]
    result = count_ballots("motion", {"rule": "simple_majority"}, stored)
    assert result.rounds[0].tallies["yes"] == Fraction(14, 11)


def test_a_recount_from_the_canonical_record_gives_the_same_bytes() -> None:
    rule = {"options": ["sq", "A", "B"], "status_quo": "sq"}
    ballots = [
        ({"ranking": [["A"], ["sq"]]}, Fraction(3, 7)),
        ({"ranking": [["B", "A"], ["sq"]]}, 2),
        ({"ranking": [["sq"]]}, 1),
    ]
    assert count_ballots("schulze", rule, ballots).to_json() == _recount_from_record(
        "schulze", rule, ballots
    )


def test_equal_groups_are_canonical_whatever_order_the_member_listed_them() -> None:
    rule = {"options": OPTIONS}
    a = count_ballots("schulze", rule, [({"ranking": [["Bea", "Ana"], ["Cem"]]}, 1)])
    b = count_ballots("schulze", rule, [({"ranking": [["Ana", "Bea"], ["Cem"]]}, 1)])
    assert a.to_json() == b.to_json()


_CHOICE = st.sampled_from(["yes", "no", "abstain"])
_WEIGHT = st.fractions(min_value=Fraction(1, 10), max_value=5, max_denominator=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_CHOICE, _WEIGHT), min_size=1, max_size=12), st.randoms())
def test_motion_result_bytes_do_not_depend_on_ballot_order(
    raw: list[tuple[str, Fraction]], rng: Any
) -> None:
    ballots = [({"choice": c}, w) for c, w in raw]
    shuffled = list(ballots)
    rng.shuffle(shuffled)
    rule = {"rule": "simple_majority", "quorum": None}
    first = count_ballots("motion", rule, ballots).to_json()
    assert count_ballots("motion", rule, shuffled).to_json() == first
    assert _recount_from_record("motion", rule, shuffled) == first


_RANKING = st.permutations(OPTIONS).flatmap(
    lambda order: st.integers(min_value=0, max_value=3).map(lambda k: [[o] for o in order[:k]])
)


def _added_together(ballots: list[tuple[dict[str, Any], Fraction]]) -> list[Any]:
    """Equal ballots as one, their weights added: what the database hands a close."""
    totals: dict[bytes, list[Any]] = {}
    for ballot, weight in ballots:
        key = canonical.dumps(ballot)
        totals.setdefault(key, [ballot, Fraction(0)])[1] += weight
    return [(ballot, weight) for ballot, weight in totals.values()]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_CHOICE, _WEIGHT), min_size=1, max_size=12),
    st.lists(st.tuples(_RANKING, _WEIGHT), min_size=1, max_size=12),
)
def test_ballots_added_together_count_the_same_given_their_heads(
    choices: list[tuple[str, Fraction]], rankings: list[tuple[list[list[str]], Fraction]]
) -> None:
    for method, rule, ballots in (
        (
            "motion",
            {
                "rule": "simple_majority",
                "quorum": {"fraction": "1/2", "basis": "members", "strict": False},
                "eligible": 12,
                "eligible_weight": "60",
            },
            [({"choice": c}, w) for c, w in choices],
        ),
        ("schulze", {"options": OPTIONS}, [({"ranking": r}, w) for r, w in rankings]),
        (
            "plurality",
            {"options": ["yes", "no", "abstain"]},
            [({"choice": c}, w) for c, w in choices],
        ),
    ):
        one_by_one = count_ballots(method, rule, ballots).to_json()
        added = _added_together(ballots)
        assert count_ballots(method, rule, added, heads=len(ballots)).to_json() == one_by_one


def test_heads_must_cover_the_ballots_given_and_consent_takes_none() -> None:
    ballots = [({"choice": "yes"}, ONE), ({"choice": "no"}, Fraction(2))]
    with pytest.raises(TallyError, match="heads: expected at least the 2 ballots given, got 1"):
        count_ballots("motion", {}, ballots, heads=1)
    with pytest.raises(TallyError, match="heads"):
        count_ballots("motion", {}, ballots, heads=True)
    consent = [({"stance": "consent", "reason": ""}, ONE)]
    with pytest.raises(TallyError, match="consent round counts every ballot"):
        count_ballots("consent", {}, consent, heads=2)
    assert count_ballots("consent", {}, consent, heads=1).outcome == (
        count_ballots("consent", {}, consent).outcome
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_RANKING, _WEIGHT), min_size=1, max_size=10), st.randoms())
def test_ranked_result_bytes_do_not_depend_on_ballot_order(
    raw: list[tuple[list[list[str]], Fraction]], rng: Any
) -> None:
    ballots = [({"ranking": r}, w) for r, w in raw]
    shuffled = list(ballots)
    rng.shuffle(shuffled)
    rule = {"options": OPTIONS}
    assert (
        count_ballots("schulze", rule, ballots).to_json()
        == count_ballots("schulze", rule, shuffled).to_json()
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["consent", "consent_with_concern", "stand_aside", "object"]),
            st.sampled_from(["a reason", "because"]),
        ),
        min_size=1,
        max_size=8,
    ),
    st.randoms(),
)
def test_consent_result_bytes_do_not_depend_on_ballot_order(
    raw: list[tuple[str, str]], rng: Any
) -> None:
    ballots = [({"stance": s, "reason": r}, ONE) for s, r in raw]
    shuffled = list(ballots)
    rng.shuffle(shuffled)
    assert (
        count_ballots("consent", {}, ballots).to_json()
        == count_ballots("consent", {}, shuffled).to_json()
    )


# -- quorum for every method (§3.8) ----------------------------------------------------------


def test_a_ranked_vote_below_its_turnout_quorum_is_no_decision() -> None:
    rule = {"options": OPTIONS, "quorum": {"fraction": "1/2", "basis": "members"}, "eligible": 7}
    result = count_ballots("schulze", rule, [({"ranking": [["Ana"]]}, 1)] * 3)
    assert result.outcome == "no_quorum"
    assert result.winners == ()
    assert result.rounds[0].explanation.startswith("3 of 7 members took part")


def test_a_consent_round_at_its_quorum_is_counted_and_says_so() -> None:
    rule = {"quorum": {"fraction": "1/2"}, "eligible": 4}
    ballots = [({"stance": "consent", "reason": ""}, ONE)] * 2
    result = count_ballots("consent", rule, ballots)
    assert result.outcome == "adopted"
    assert result.details["quorum"]["met"] is True


def test_a_weight_quorum_counts_the_weight_that_took_part() -> None:
    rule = {
        "options": ["A", "B"],
        "quorum": {"fraction": "1/2", "basis": "weight"},
        "eligible_weight": "10",
    }
    assert count_ballots("plurality", rule, [({"choice": "A"}, 5)]).outcome == "elected"
    assert count_ballots("plurality", rule, [({"choice": "A"}, "49/10")]).outcome == "no_quorum"


def test_a_votes_cast_quorum_is_refused_outside_motions() -> None:
    rule = {"options": ["A"], "quorum": {"fraction": "1/2", "basis": "votes_cast"}}
    with pytest.raises(TallyError, match="takes members or weight"):
        count_ballots("approval", rule, [({"approve": ["A"]}, 1)])


# -- who did not prevail (§2.13) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "ballot", "outcome", "winners", "expected"),
    [
        ("motion", {"choice": "no"}, "adopted", ["yes"], True),
        ("motion", {"choice": "yes"}, "adopted", ["yes"], False),
        ("motion", {"choice": "yes"}, "rejected", ["no"], True),
        ("motion", {"choice": "no"}, "rejected", ["no"], False),
        ("motion", {"choice": "abstain"}, "adopted", ["yes"], True),
        ("motion", {"choice": "yes"}, "no_quorum", [], True),
        ("consent", {"stance": "object"}, "adopted", [], True),
        ("consent", {"stance": "stand_aside"}, "adopted", [], True),
        ("consent", {"stance": "consent"}, "adopted", [], False),
        ("consent", {"stance": "object"}, "objected", [], False),
        ("consent", {"stance": "consent"}, "objected", [], True),
        ("plurality", {"choice": "A"}, "elected", ["A"], False),
        ("plurality", {"choice": None}, "elected", ["A"], True),
        ("approval", {"approve": ["B", "A"]}, "elected", ["A"], False),
        ("budget", {"approve": ["B"]}, "elected", ["A"], True),
        ("dot_vote", {"dots": {"A": 0, "B": 3}}, "elected", ["A"], True),
        ("score", {"scores": {"A": 9, "B": 9}}, "elected", ["A"], False),
        ("score", {"scores": {"A": 2, "B": 9}}, "elected", ["A"], True),
        ("schulze", {"ranking": [["A", "B"], ["C"]]}, "elected", ["B"], False),
        ("schulze", {"ranking": [["C"], ["A"]]}, "status_quo", ["sq"], True),
    ],
)
def test_who_did_not_prevail_may_file_a_minority_report(
    method: str, ballot: dict[str, Any], outcome: str, winners: list[str], expected: bool
) -> None:
    assert did_not_prevail(method, ballot, outcome=outcome, winners=winners) is expected


# -- the transferable votes, counted through the method registry ------------------------------

PREFERENTIAL = [
    ("irv", {"seed": "2026-12-01 public"}),
    ("stv", {"seats": 2, "rule": "scottish", "seed": "2026-12-01 public"}),
    ("meek", {"seats": 2, "seed": "2026-12-01 public"}),
]


@pytest.mark.parametrize(("method", "extra"), PREFERENTIAL)
def test_a_transferable_vote_counts_as_its_registry_method(
    method: str, extra: dict[str, Any]
) -> None:
    from konsilo.counting import methods

    rankings = [["Ana", "Bea"], ["Bea", "Cem"], ["Cem"], ["Ana", "Cem"], ["Bea"]]
    weights = [3, 2, 2, 1, 2]
    ballots = [({"ranking": [[o] for o in r]}, w) for r, w in zip(rankings, weights, strict=True)]
    result = count_ballots(method, {"options": OPTIONS, **extra}, ballots)
    profile = RankedProfile.from_rankings(OPTIONS, rankings, weights)
    assert result.to_json() == methods.count_by_name(method, profile, **extra).to_json()


@pytest.mark.parametrize(("method", "extra"), PREFERENTIAL)
def test_a_transferable_vote_refuses_equal_rankings(method: str, extra: dict[str, Any]) -> None:
    with pytest.raises(TallyError):
        count_ballots(method, {"options": OPTIONS, **extra}, [({"ranking": [["Ana", "Bea"]]}, 1)])
