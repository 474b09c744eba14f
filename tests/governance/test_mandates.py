"""Tests for konsilo.governance.mandates: a base's result becomes its delegation's mandate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting import schulze
from konsilo.counting.cardinal import plurality
from konsilo.counting.profile import RankedProfile
from konsilo.governance import PARAMETERS, resolve
from konsilo.governance.mandates import (
    BallotRejected,
    BaseVote,
    DelegateBallot,
    DiscretionUsed,
    LateInstructionApplied,
    LateInstructionNotApplied,
    Mandate,
    MandateBreached,
    MandateDeparted,
    MandateError,
    MandatePolicy,
    PostponementRequested,
    ReferredBack,
    Tenure,
    VoteWindow,
    assign_whole_votes,
    cast_votes,
    check_delegate_vote,
    check_out_of_mandate_vote,
    delegation_weight,
    derive_mandate,
    flag_instruction_conflicts,
    instruction_quorum,
    mandate_derived_data,
    mandate_on_text,
    out_of_mandate,
    postponement_granted,
    proportional_split,
    revise_mandate,
    settle_delegation_vote,
    settle_out_of_mandate,
    split_delegation,
)

DEADLINE = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
OPENS = DEADLINE + timedelta(hours=24)
CLOSES = OPENS + timedelta(hours=72)
WINDOW = VoteWindow(DEADLINE, OPENS, CLOSES)
BEFORE = DEADLINE - timedelta(days=1)

BOUND = MandatePolicy()
PROPORTIONAL = MandatePolicy(mode="bound_proportional")


def motion(
    yes: int, no: int, abstain: int = 0, *, eligible: int | None = None, **kw: Any
) -> BaseVote:
    closed = kw.pop("closed_at", BEFORE)
    return BaseVote.motion(
        kw.pop("base", "mill"),
        item="item-1",
        content_hash=kw.pop("content_hash", "v1"),
        yes=yes,
        no=no,
        abstain=abstain,
        eligible=eligible if eligible is not None else yes + no + abstain,
        closed_at=closed,
        **kw,
    )


def derive(vote: BaseVote | None, policy: MandatePolicy = BOUND, **kw: Any) -> Mandate:
    kw.setdefault("content_hash", "v1")
    kw.setdefault("weight", 1)
    kw.setdefault("item", "item-1")
    return derive_mandate(vote, delegation="mill->region", policy=policy, **kw)


def choices(m: Mandate) -> dict[str, Fraction]:
    return {b["choice"]: w for b, w in m.votes}


# -- bound_majority, ties (§3.3) -----------------------------------------------------------


def test_bound_majority_casts_the_whole_weight_for_the_base_majority() -> None:
    m = derive(motion(30, 20, 5), weight=3)
    assert (m.status, choices(m), m.binding) == ("instructed", {"yes": Fraction(3)}, True)
    assert derive(motion(20, 30)).votes == (({"choice": "no"}, Fraction(1)),)


def test_tied_bound_majority_base_gives_no_instruction() -> None:
    m = derive(motion(20, 20, 3))
    assert m.status == "no_instruction"
    assert m.reason == "tie"
    assert "no" not in choices(m)  # a tie is never a "no"
    assert choices(m) == {"abstain": Fraction(1)}
    assert "never a no" in m.explanation


def test_tied_bound_majority_base_under_discretion_leaves_the_vote_to_the_delegate() -> None:
    m = derive(motion(5, 5), MandatePolicy(no_instruction_behavior="discretion"))
    assert (m.status, m.mode, m.votes, m.binding) == (
        "no_instruction",
        "instructed_with_discretion",
        (),
        False,
    )
    assert "discretion_without_instruction" in m.flags


def test_tied_bound_proportional_base_is_an_exact_half_split() -> None:
    m = derive(motion(20, 20), PROPORTIONAL, weight=3)
    assert choices(m) == {"yes": Fraction(3, 2), "no": Fraction(3, 2)}
    assert m.status == "instructed"


# -- bound_proportional (§3.6) --------------------------------------------------------------


def test_seventy_forty_split_of_two_seats_is_fourteen_and_eight_elevenths() -> None:
    """§3.6: 120 members, 2 seats, 70 yes 40 no 10 abstain."""
    m = derive(motion(70, 40, 10, eligible=120), PROPORTIONAL, weight=2)
    assert choices(m) == {"yes": Fraction(14, 11), "no": Fraction(8, 11)}
    assert sum(choices(m).values()) == 2


def test_seventy_forty_split_carrying_abstentions_divides_by_all_votes() -> None:
    carried = MandatePolicy(mode="bound_proportional", abstentions="counts_against")
    m = derive(motion(70, 40, 10, eligible=120), carried, weight=2)
    assert choices(m) == {
        "yes": Fraction(7, 6),
        "no": Fraction(2, 3),
        "abstain": Fraction(1, 6),
    }


@pytest.mark.parametrize("method", ["largest_remainder_hare", "dhondt"])
def test_seventy_forty_in_whole_votes_is_one_one_with_the_rounding_loss_kept(method: str) -> None:
    policy = MandatePolicy(
        mode="bound_proportional", weights="whole_votes", apportionment_method=method
    )
    m = derive(motion(70, 40, 10, eligible=120), policy, weight=2, seats=2)
    assert choices(m) == {"yes": Fraction(1), "no": Fraction(1)}
    assert m.rounding_loss == {
        '{"choice":"no"}': Fraction(-3, 11),
        '{"choice":"yes"}': Fraction(3, 11),
    }
    assert "rounding loss" in m.explanation


def test_whole_votes_needs_an_apportionment_method() -> None:
    with pytest.raises(MandateError) as err:
        MandatePolicy(mode="bound_proportional", weights="whole_votes", apportionment_method=None)
    assert err.value.field == "structure.apportionment_method"


def test_card_vote_weight_comes_from_the_frozen_census() -> None:
    assert delegation_weight("represented_members", seats=2, represented=120) == 120
    assert delegation_weight("per_delegate", seats=2, represented=120) == 2
    assert delegation_weight("equal_per_base", seats=2, represented=120) == 1
    turnout = delegation_weight("represented_members", seats=2, represented=120, voters=80)
    assert turnout == 80


@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=6),
    st.fractions(min_value=0, max_value=10_000),
    st.sampled_from(["excluded", "counts_against"]),
)
def test_proportional_shares_of_a_delegation_sum_exactly_to_its_weight(
    counts: list[int], weight: Fraction, abstentions: str
) -> None:
    ballots = [({"choice": f"o{i}"}, Fraction(c)) for i, c in enumerate(counts)]
    ballots.append(({"choice": None}, Fraction(counts[0])))  # a blank
    shares = proportional_split(ballots, weight, abstentions=abstentions)
    if weight and any(counts):
        assert sum(w for _, w in shares) == weight
    assert all(isinstance(w, Fraction) and w >= 0 for _, w in shares)


@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 50), st.integers(1, 9))
def test_whole_vote_split_gives_out_every_seat_and_loss_sums_to_zero(
    yes: int, no: int, abstain: int, seats: int
) -> None:
    ballots = [
        ({"choice": "yes"}, Fraction(yes)),
        ({"choice": "no"}, Fraction(no)),
        ({"choice": "abstain"}, Fraction(abstain)),
    ]
    votes, loss, _ = split_delegation(ballots, seats, method="sainte_lague", seed="s")
    if yes + no + abstain:
        assert sum(w for _, w in votes) == seats
        assert sum(loss.values()) == 0


# -- quorum failure (§3.8) and bases that did not vote (§3.2) -------------------------------


def test_quorum_failure_at_the_base_gives_no_instruction() -> None:
    m = derive(motion(10, 2, eligible=100), PROPORTIONAL, weight=100)
    assert (m.status, m.reason) == ("no_instruction", "no_quorum")
    assert choices(m) == {"abstain": Fraction(100)}  # 0 yes and 0 no
    assert "missed its quorum" in m.explanation


def test_quorum_counts_abstentions_as_taking_part() -> None:
    m = derive(motion(10, 5, 35, eligible=100))
    assert m.status == "instructed"


def test_base_that_has_not_voted_by_the_deadline_abstains_by_default() -> None:
    m = derive(None, PROPORTIONAL, weight=40)
    assert (m.status, m.reason, m.counted) == ("no_instruction", "not_voted", True)
    assert choices(m) == {"abstain": Fraction(40)}


def test_base_that_has_not_voted_is_not_counted_under_not_counted() -> None:
    m = derive(None, MandatePolicy(no_instruction_behavior="not_counted"))
    assert (m.counted, m.votes) == (False, ())
    assert cast_votes(m, policy=MandatePolicy()) == ()


def test_carry_previous_position_needs_the_identical_text() -> None:
    policy = MandatePolicy(
        mode="bound_proportional", no_instruction_behavior="carry_previous_position"
    )
    earlier = derive(motion(3, 1), policy, weight=2)
    same = derive(None, policy, weight=4, previous=earlier)
    assert (same.status, same.reason) == ("instructed", "carried")
    assert choices(same) == {"yes": Fraction(3), "no": Fraction(1)}
    other = derive(None, policy, weight=4, previous=earlier, content_hash="v2")
    assert other.status == "no_instruction"
    assert choices(other) == {"abstain": Fraction(4)}
    assert "no_previous_position_on_identical_text" in other.flags


def test_a_vote_on_another_version_does_not_instruct_this_one() -> None:
    m = derive(motion(9, 1, content_hash="v0"))
    assert (m.status, m.reason) == ("no_instruction", "other_version")


# -- late instructions (§2.3, §3.2) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("late", "closed_at", "applied"),
    [
        ("ignore", DEADLINE + timedelta(hours=1), False),
        ("accept_until_vote_opens", DEADLINE + timedelta(hours=1), True),
        ("accept_until_vote_opens", OPENS + timedelta(hours=1), False),
        ("accept_until_vote_closes", OPENS + timedelta(hours=1), True),
        ("accept_until_vote_closes", CLOSES, False),
    ],
)
def test_late_instruction_applies_as_the_policy_says_and_never_after_close(
    late: str, closed_at: datetime, applied: bool
) -> None:
    m = derive(
        motion(5, 1, closed_at=closed_at), MandatePolicy(late_instruction=late), window=WINDOW
    )
    assert m.instructed is applied
    if applied:
        assert "late_instruction_applied" in m.flags
    else:
        assert m.reason == "late"


def test_instruction_on_time_is_not_late() -> None:
    m = derive(motion(5, 1), MandatePolicy(late_instruction="ignore"), window=WINDOW)
    assert m.instructed
    assert not m.flags


# -- a base changes its instruction after the delegation voted (§3.15) -----------------------


def test_base_changing_its_instruction_after_the_delegation_voted_is_recast_when_allowed() -> None:
    policy = MandatePolicy(late_instruction="accept_until_vote_closes")
    first = derive(motion(5, 1), policy, window=WINDOW)
    change = motion(1, 5, closed_at=OPENS + timedelta(hours=2))
    revision = revise_mandate(first, change, policy=policy, window=WINDOW, voted=True)
    assert choices(revision.mandate) == {"no": Fraction(1)}
    assert [v.ballot for v in revision.recast] == [{"choice": "no"}]
    (event,) = revision.events
    assert isinstance(event, LateInstructionApplied)
    assert event.recast


def test_base_changing_its_instruction_after_the_delegation_voted_is_recorded_not_applied() -> None:
    first = derive(motion(5, 1), BOUND, window=WINDOW)
    change = motion(1, 5, closed_at=OPENS + timedelta(hours=2))
    revision = revise_mandate(first, change, policy=BOUND, window=WINDOW, voted=True)
    assert revision.mandate is first
    assert revision.recast == ()
    (event,) = revision.events
    assert isinstance(event, LateInstructionNotApplied)
    assert "not applied" in event.explanation


def test_changed_instruction_is_never_applied_after_the_higher_vote_closed() -> None:
    policy = MandatePolicy(late_instruction="accept_until_vote_closes")
    first = derive(motion(5, 1), policy)
    revision = revise_mandate(
        first,
        motion(1, 5, closed_at=CLOSES + timedelta(seconds=1)),
        policy=policy,
        window=WINDOW,
        voted=True,
    )
    assert isinstance(revision.events[0], LateInstructionNotApplied)


# -- enforcement, breaches (§2.3, §2.4) ----------------------------------------------------


def test_system_casts_returns_the_bound_votes() -> None:
    m = derive(motion(70, 40, 10), PROPORTIONAL, weight=2)
    votes = cast_votes(m, policy=PROPORTIONAL)
    assert {(v.ballot["choice"], v.weight) for v in votes} == {
        ("yes", Fraction(14, 11)),
        ("no", Fraction(8, 11)),
    }
    assert all(v.cast_by == "system" and v.delegation == "mill->region" for v in votes)
    assert canonical.loads(canonical.dumps(votes[0]))["weight"] in {"14/11", "8/11"}


def test_a_base_vote_comes_back_whole_from_its_canonical_data() -> None:
    from konsilo.counting.motion import MotionRule

    for vote in (
        motion(70, 40, 10, eligible=150),
        motion(3, 2, rule=MotionRule("supermajority", Fraction(2, 3)), quorum=None),
    ):
        data = canonical.loads(canonical.dumps(vote))
        again = BaseVote.from_canonical(data)
        assert again == vote
        assert canonical.dumps(again) == canonical.dumps(vote)


def test_a_base_vote_from_bad_data_names_what_is_wrong() -> None:
    data = canonical.loads(canonical.dumps(motion(7, 3)))
    with pytest.raises(MandateError, match=r"ballots\.weight: expected an exact number, got 0\.5"):
        BaseVote.from_canonical({**data, "ballots": [{"ballot": {"choice": "yes"}, "weight": 0.5}]})
    with pytest.raises(MandateError, match="missing or wrong: 'eligible'"):
        BaseVote.from_canonical({k: v for k, v in data.items() if k != "eligible"})


def test_delegate_casts_checked_breach_is_an_event_for_the_recall_rules() -> None:
    policy = MandatePolicy(enforcement="delegate_casts_checked", breach_action="auto_suspend")
    m = derive(motion(30, 10), policy)
    assert cast_votes(m, policy=policy) == ()
    assert check_delegate_vote(m, [({"choice": "yes"}, 1)], delegate="ana", policy=policy) is None
    breach = check_delegate_vote(m, [({"choice": "no"}, 1)], delegate="ana", policy=policy)
    assert isinstance(breach, MandateBreached)
    assert (breach.delegate, breach.action) == ("ana", "auto_suspend")
    assert "mandate breached" in breach.explanation


def test_delegate_casts_unchecked_departure_counts_and_is_noted_not_breached() -> None:
    policy = MandatePolicy(enforcement="delegate_casts_unchecked")
    m = derive(motion(30, 10), policy)
    assert m.binding
    assert cast_votes(m, policy=policy) == ()
    assert check_delegate_vote(m, [({"choice": "yes"}, 1)], delegate="ana", policy=policy) is None
    note = check_delegate_vote(m, [({"choice": "no"}, 1)], delegate="ana", policy=policy)
    assert isinstance(note, MandateDeparted)
    assert note.mandated == (({"choice": "yes"}, Fraction(1)),)
    assert note.cast == (({"choice": "no"}, Fraction(1)),)
    assert "counts as cast" in note.explanation
    settled = settle_delegation_vote(
        m,
        policy=policy,
        ballots=[DelegateBallot("ana", OPENS + timedelta(hours=1), (({"choice": "no"}, 1),))],
        tenures=[Tenure("ana", BEFORE)],
        closes_at=CLOSES,
    )
    assert settled.votes == (({"choice": "no"}, Fraction(1)),)
    assert [type(e) for e in settled.events] == [MandateDeparted]
    encoded = canonical.loads(canonical.dumps(note))
    assert encoded["mandated"] == [{"ballot": {"choice": "yes"}, "weight": "1"}]


def test_proportional_breach_is_any_other_split() -> None:
    policy = MandatePolicy(mode="bound_proportional", enforcement="delegate_casts_checked")
    m = derive(motion(70, 40), policy, weight=2)
    fair = [({"choice": "no"}, Fraction(8, 11)), ({"choice": "yes"}, Fraction(14, 11))]
    assert check_delegate_vote(m, fair, delegate="ana", policy=policy) is None
    whole = [({"choice": "yes"}, 2)]
    assert isinstance(check_delegate_vote(m, whole, delegate="ana", policy=policy), MandateBreached)


def test_discretion_is_guidance_and_departing_from_it_is_noted_not_breached() -> None:
    policy = MandatePolicy(mode="instructed_with_discretion")
    m = derive(motion(30, 10), policy)
    assert (m.binding, choices(m)) == (False, {"yes": Fraction(1)})
    assert cast_votes(m, policy=policy) == ()
    note = check_delegate_vote(m, [({"choice": "no"}, 1)], delegate="ana", policy=policy)
    assert isinstance(note, DiscretionUsed)


def test_free_mandate_is_never_checked() -> None:
    policy = MandatePolicy(mode="free")
    m = derive(motion(30, 10), policy)
    assert (m.status, m.votes) == ("free", ())
    assert check_delegate_vote(m, [({"choice": "no"}, 1)], delegate="ana", policy=policy) is None


# -- a delegate recalled in the middle of a vote (§3.1) --------------------------------------


def test_delegate_recalled_mid_vote_does_not_change_system_cast_votes() -> None:
    m = derive(motion(30, 10), BOUND)
    recall = OPENS + timedelta(hours=5)
    settled = settle_delegation_vote(
        m,
        policy=BOUND,
        ballots=[DelegateBallot("ana", recall + timedelta(hours=1), (({"choice": "no"}, 1),))],
        tenures=[Tenure("ana", BEFORE, recall)],
        closes_at=CLOSES,
    )
    assert (settled.votes, settled.cast_by) == (m.votes, "system")


def test_delegate_recalled_mid_vote_ballot_before_recall_stands_later_ones_are_rejected() -> None:
    policy = MandatePolicy(mode="free")
    m = derive(None, policy)
    recall = OPENS + timedelta(hours=5)
    ballots = [
        DelegateBallot("ana", OPENS + timedelta(hours=1), (({"choice": "yes"}, 1),)),
        DelegateBallot("ana", recall + timedelta(minutes=1), (({"choice": "no"}, 1),)),
    ]
    settled = settle_delegation_vote(
        m,
        policy=policy,
        ballots=ballots,
        tenures=[Tenure("ana", BEFORE, recall)],
        closes_at=CLOSES,
    )
    assert settled.votes == (({"choice": "yes"}, Fraction(1)),)
    assert [type(e) for e in settled.events] == [BallotRejected]


def test_delegate_recalled_mid_vote_successor_may_change_the_ballot_before_close() -> None:
    policy = MandatePolicy(mode="free")
    m = derive(None, policy)
    recall = OPENS + timedelta(hours=5)
    ballots = [
        DelegateBallot("ana", OPENS + timedelta(hours=1), (({"choice": "yes"}, 1),)),
        DelegateBallot("bo", recall + timedelta(hours=1), (({"choice": "no"}, 1),)),
        DelegateBallot("bo", CLOSES, (({"choice": "yes"}, 1),)),  # after close
    ]
    tenures = [Tenure("ana", BEFORE, recall), Tenure("bo", recall)]
    settled = settle_delegation_vote(
        m, policy=policy, ballots=ballots, tenures=tenures, closes_at=CLOSES
    )
    assert (settled.votes, settled.cast_by) == ((({"choice": "no"}, Fraction(1)),), "bo")
    assert len(settled.events) == 1
    assert "after the vote closed" in settled.events[0].explanation


def test_checked_delegate_breach_found_at_settlement() -> None:
    policy = MandatePolicy(enforcement="delegate_casts_checked")
    m = derive(motion(30, 10), policy)
    settled = settle_delegation_vote(
        m,
        policy=policy,
        ballots=[DelegateBallot("ana", OPENS + timedelta(hours=1), (({"choice": "no"}, 1),))],
        tenures=[Tenure("ana", BEFORE)],
        closes_at=CLOSES,
    )
    assert [type(e) for e in settled.events] == [MandateBreached]


# -- multi-option and ranked items under bound mandates (§3.20) -----------------------------


def _ranked_vote() -> BaseVote:
    ballots = [
        ({"ranking": [["A"], ["B"], ["C"]]}, 4),
        ({"ranking": [["B"], ["C"], ["A"]]}, 3),
        ({"ranking": [["C"], ["B"], ["A"]]}, 2),
    ]
    profile = RankedProfile.from_rankings(
        ["A", "B", "C"], [b["ranking"] for b, _ in ballots], [w for _, w in ballots]
    )
    return BaseVote(
        base="mill",
        item="item-1",
        content_hash="v1",
        method="schulze",
        ballots=tuple((b, Fraction(w)) for b, w in ballots),
        eligible=9,
        closed_at=BEFORE,
        result=schulze.count(profile),
    )


def test_ranked_item_under_bound_proportional_passes_the_full_weighted_profile_up() -> None:
    m = derive(_ranked_vote(), PROPORTIONAL, weight=3, method="schulze")
    assert [(b["ranking"], w) for b, w in m.votes] == [
        ([["A"], ["B"], ["C"]], Fraction(4, 3)),
        ([["B"], ["C"], ["A"]], Fraction(1)),
        ([["C"], ["B"], ["A"]], Fraction(2, 3)),
    ]


def test_ranked_item_under_bound_majority_casts_the_base_winner_under_the_same_method() -> None:
    m = derive(_ranked_vote(), BOUND, weight=3, method="schulze")
    # Schulze elects B (a Condorcet winner: B beats A 5-4 and C 7-2) though A leads first choices.
    ((ballot, weight),) = m.votes
    assert ballot["ranking"][0] == ["B"]
    assert weight == 3


def test_multi_option_bound_majority_tie_gives_no_instruction() -> None:
    ballots = (({"choice": "A"}, Fraction(2)), ({"choice": "B"}, Fraction(2)))
    result = plurality(["A", "A", "B", "B"], candidates=["A", "B"])
    vote = BaseVote(
        base="mill",
        item="item-1",
        content_hash="v1",
        method="plurality",
        ballots=ballots,
        eligible=4,
        closed_at=BEFORE,
        result=result,
    )
    m = derive(vote, BOUND, method="plurality")
    assert (m.reason, m.votes) == ("tie", (({"choice": None}, Fraction(1)),))


def test_instruction_must_have_the_ballot_shape_of_the_higher_item() -> None:
    with pytest.raises(MandateError) as err:
        derive(motion(3, 1), PROPORTIONAL, method="schulze")
    assert err.value.code == "shape_mismatch"


# -- consent at a higher council with bound delegations (§3.21) -----------------------------


def _consent_vote(*stances: tuple[str, str]) -> BaseVote:
    return BaseVote(
        base="mill",
        item="item-1",
        content_hash="v1",
        method="consent",
        ballots=tuple(({"stance": s, "reason": r}, Fraction(1)) for s, r in stances),
        eligible=len(stances),
        closed_at=BEFORE,
        quorum=None,
    )


def test_consent_at_higher_council_bound_delegate_raises_only_base_mandated_objections() -> None:
    policy = MandatePolicy(enforcement="delegate_casts_checked")
    m = derive(
        _consent_vote(("consent", ""), ("object", "no budget line")),
        policy,
        method="consent",
        weight=500,
    )
    assert m.objections == ("no budget line",)
    assert m.votes[0][0] == {"stance": "object", "reason": "no budget line"}
    ok = [({"stance": "object", "reason": "no budget line"}, 500)]
    assert check_delegate_vote(m, ok, delegate="ana", policy=policy) is None
    own = [({"stance": "object", "reason": "my own concern"}, 500)]
    assert isinstance(check_delegate_vote(m, own, delegate="ana", policy=policy), MandateBreached)
    over = [({"stance": "consent", "reason": ""}, 500)]
    assert isinstance(check_delegate_vote(m, over, delegate="ana", policy=policy), MandateBreached)


def test_consent_at_higher_council_changed_proposal_means_consulting_the_base() -> None:
    m = derive(_consent_vote(("consent", "")), BOUND, method="consent")
    assert m.votes[0][0]["stance"] == "consent"
    action = out_of_mandate(m, voted_hash="v2", policy=BOUND)
    assert action is not None
    assert isinstance(action.events[0], PostponementRequested)
    assert action.votes == ()  # consent has no abstention: no stance beyond the mandate


def test_consent_is_not_weight_aggregable_one_objection_is_an_objection() -> None:
    small = derive(_consent_vote(("object", "unsafe")), BOUND, method="consent", weight=3)
    assert small.votes[0][0]["stance"] == "object"  # whatever the weight


# -- instruction conflicting with statutes (§3.11) ------------------------------------------


def test_instruction_conflicting_with_statutes_is_cast_but_flagged() -> None:
    ballots = (({"choice": "B"}, Fraction(3)), ({"choice": "A"}, Fraction(1)))
    result = plurality(["B", "B", "B", "A"], candidates=["A", "B"])
    vote = BaseVote(
        base="mill",
        item="item-1",
        content_hash="v1",
        method="plurality",
        ballots=ballots,
        eligible=4,
        closed_at=BEFORE,
        result=result,
    )
    m = derive(vote, BOUND, method="plurality")
    assert m.votes == (({"choice": "B"}, Fraction(1)),)  # cast as instructed
    (flag,) = flag_instruction_conflicts(m, {"B": "statute §4 (quota)"})
    assert (flag.option, flag.executed) == ("B", True)
    (act,) = flag_instruction_conflicts(m, {"B": "statute §4"}, acts=["B"])
    assert act.executed is False
    assert "not executed" in act.explanation


# -- amendments outside the mandate (§3.10) -------------------------------------------------


def test_amendment_outside_mandate_requests_postponement_then_abstains() -> None:
    m = derive(motion(30, 10), BOUND)
    assert out_of_mandate(m, voted_hash="v1", policy=BOUND) is None
    action = out_of_mandate(m, voted_hash="v2", policy=BOUND)
    assert action is not None
    assert [type(e) for e in action.events] == [PostponementRequested]
    assert (action.step, action.votes) == ("abstain", (({"choice": "abstain"}, Fraction(1)),))


def test_amendment_outside_mandate_postponed_casts_nothing() -> None:
    m = derive(motion(30, 10), BOUND)
    action = out_of_mandate(m, voted_hash="v2", policy=BOUND, postponed=True)
    assert action is not None
    assert action.votes == ()
    assert "postponed" in action.explanation


@pytest.mark.parametrize(
    ("steps", "events", "discretion"),
    [
        (("refer_back", "discretion"), [ReferredBack], True),
        (("discretion",), [], True),
        (("abstain",), [], False),
    ],
)
def test_amendment_outside_mandate_follows_the_configured_steps(
    steps: tuple[str, ...], events: list[type], discretion: bool
) -> None:
    policy = MandatePolicy(out_of_mandate_amendment=steps)
    action = out_of_mandate(derive(motion(3, 1), policy), voted_hash="v2", policy=policy)
    assert action is not None
    assert [type(e) for e in action.events] == events
    assert action.discretion is discretion


def test_pre_instructed_amendment_is_covered_by_its_own_mandate() -> None:
    amendment = derive(motion(8, 2, content_hash="amend-A"), BOUND, content_hash="amend-A")
    assert out_of_mandate(amendment, voted_hash="amend-A", policy=BOUND) is None
    assert choices(amendment) == {"yes": Fraction(1)}


def test_postponement_is_granted_at_one_fifth_of_the_members() -> None:
    assert postponement_granted(200, 1000)
    assert not postponement_granted(199, 1000)
    assert postponement_granted(1, 3, threshold=Fraction(1, 3))


def _at(base: str, vote: BaseVote, policy: MandatePolicy = BOUND, weight: int = 1) -> Mandate:
    return derive_mandate(
        vote,
        delegation=f"{base}->region",
        policy=policy,
        content_hash="v1",
        weight=weight,
        item="item-1",
    )


def test_a_vote_outside_the_mandates_is_postponed_when_delegations_of_one_fifth_ask() -> None:
    mill = _at("mill", motion(30, 10, base="mill"))
    dock = _at("dock", motion(3, 5, base="dock"))
    abstainer = MandatePolicy(out_of_mandate_amendment=("abstain",))
    settled = settle_out_of_mandate(
        [(mill, BOUND, 200), (dock, abstainer, 800)], item="amend-1", voted_hash="v2"
    )
    assert (settled.postponed, settled.requesting, settled.total) == (True, 200, 1000)
    assert settled.votes() == ()
    by = {a.delegation: a for a in settled.actions}
    assert [type(e) for e in by["mill->region"].events] == [PostponementRequested]
    assert "postponed" in settled.explanation


def test_a_vote_outside_the_mandates_goes_ahead_below_one_fifth_and_the_delegations_abstain() -> (
    None
):
    mill = _at("mill", motion(30, 10, base="mill"))
    dock = _at("dock", motion(3, 5, base="dock"), weight=2)
    abstainer = MandatePolicy(out_of_mandate_amendment=("abstain",))
    settled = settle_out_of_mandate(
        [(mill, BOUND, 199), (dock, abstainer, 801)], item="amend-1", voted_hash="v2"
    )
    assert settled.postponed is False
    assert settled.requesting == 199
    assert dict(settled.votes()) == {
        "mill->region": (({"choice": "abstain"}, Fraction(1)),),
        "dock->region": (({"choice": "abstain"}, Fraction(2)),),
    }
    # The postponement was still asked for, on the record.
    mill_action = next(a for a in settled.actions if a.delegation == "mill->region")
    assert [type(e) for e in mill_action.events] == [PostponementRequested]


def test_delegations_whose_mandate_covers_the_voted_version_count_but_take_no_step() -> None:
    covered = derive_mandate(
        motion(8, 2, base="mill", content_hash="amend-A"),
        delegation="mill->region",
        policy=BOUND,
        content_hash="amend-A",
        weight=1,
        item="amend-1",
    )
    dock = _at("dock", motion(3, 5, base="dock"))
    settled = settle_out_of_mandate(
        [(covered, BOUND, 800), (dock, BOUND, 200)], item="amend-1", voted_hash="amend-A"
    )
    assert [a.delegation for a in settled.actions] == ["dock->region"]
    assert (settled.postponed, settled.requesting, settled.total) == (True, 200, 1000)


def test_a_bound_delegate_who_votes_on_a_version_outside_the_mandate_breaches_it() -> None:
    mill = _at("mill", motion(30, 10, base="mill"))
    # The vote went ahead (too few asked to postpone): the delegation must abstain.
    action = out_of_mandate(mill, voted_hash="v2", policy=BOUND)
    assert action is not None
    yes = [({"choice": "yes"}, Fraction(1))]
    breach = check_out_of_mandate_vote(
        mill, action, yes, item="amend-1", delegate="m-dana", policy=BOUND
    )
    assert isinstance(breach, MandateBreached)
    assert breach.mandated == (({"choice": "abstain"}, Fraction(1)),)
    assert (breach.item, breach.action) == ("amend-1", BOUND.breach_action)
    abstain = [({"choice": "abstain"}, Fraction(1))]
    assert (
        check_out_of_mandate_vote(
            mill, action, abstain, item="amend-1", delegate="m-dana", policy=BOUND
        )
        is None
    )


def test_a_delegate_with_discretion_outside_the_mandate_is_flagged_not_breached() -> None:
    policy = MandatePolicy(out_of_mandate_amendment=("discretion",))
    mill = _at("mill", motion(30, 10, base="mill"), policy)
    settled = settle_out_of_mandate([(mill, policy, 5)], item="amend-1", voted_hash="v2")
    assert settled.postponed is False
    (action,) = settled.actions
    assert (action.discretion, action.votes) == (True, ())
    note = check_out_of_mandate_vote(
        mill, action, [({"choice": "no"}, 1)], item="amend-1", delegate="m-dana", policy=policy
    )
    assert isinstance(note, DiscretionUsed)
    assert note.item == "amend-1"


def test_settling_a_vote_outside_the_mandates_refuses_a_delegation_listed_twice() -> None:
    mill = _at("mill", motion(30, 10, base="mill"))
    with pytest.raises(MandateError):
        settle_out_of_mandate([(mill, BOUND, 1), (mill, BOUND, 1)], item="a", voted_hash="v2")


# -- policy and record forms ----------------------------------------------------------------


def test_mandate_policy_reads_the_catalogue_names_and_defaults() -> None:
    base = MandatePolicy.from_policy(resolve([], preset=None, level_rank=0))
    assert base == MandatePolicy()
    above = MandatePolicy.from_policy(resolve([], preset=None, level_rank=1))
    assert above.mode == "bound_proportional"
    assert above.out_of_mandate_amendment == ("request_postponement", "abstain")


def test_new_catalogue_parameters_have_the_domain_rules_defaults() -> None:
    assert PARAMETERS["mandate.postponement_threshold"].default == Fraction(1, 5)
    assert PARAMETERS["mandate.min_instructed_share"].default is None
    assert PARAMETERS["structure.composition"].default == "pass_through"
    assert PARAMETERS["structure.composition"].choices == (
        "re_deliberation",
        "pass_through",
        "direct_base_representation",
    )


def test_mandate_round_trips_through_canonical_json_without_floats() -> None:
    m = derive(motion(70, 40, 10), PROPORTIONAL, weight=2, window=WINDOW)
    data = canonical.loads(canonical.dumps(m))
    assert data["votes"] == [
        {"ballot": {"choice": "no"}, "weight": "8/11"},
        {"ballot": {"choice": "yes"}, "weight": "14/11"},
    ]
    assert data["instructed_at"].endswith("Z")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(MandateError) as err:
        VoteWindow(datetime(2026, 1, 1), OPENS, CLOSES)  # noqa: DTZ001
    assert err.value.code == "naive"


def test_a_vote_of_another_base_is_refused() -> None:
    with pytest.raises(MandateError):
        derive(motion(1, 0, base="dock"))


# -- record entries and re-derivation --------------------------------------------------------


def test_mandate_is_re_derived_from_its_record_entry() -> None:
    """What konsilo verify does: read mandate.derived back and derive it again."""
    policy = MandatePolicy(mode="bound_proportional", late_instruction="accept_until_vote_closes")
    vote = motion(70, 40, 10, eligible=120, closed_at=DEADLINE + timedelta(hours=2))
    m = derive(vote, policy, weight=2, window=WINDOW)
    entry = canonical.loads(canonical.dumps(mandate_derived_data(m, policy=policy, window=WINDOW)))
    again = derive_mandate(
        vote,
        delegation=entry["delegation"],
        content_hash=entry["mandate"]["content_hash"],
        weight=Fraction(entry["mandate"]["weight"]),
        policy=MandatePolicy.from_canonical(entry["policy"]),
        item=entry["item"],
        method=entry["mandate"]["method"],
        window=VoteWindow.from_canonical(entry["window"]),
    )
    assert canonical.dumps(again) == canonical.dumps(m)


def test_delegation_voted_record_data_has_the_contract_keys() -> None:
    (vote,) = cast_votes(derive(motion(3, 1)), policy=BOUND)
    assert vote.record_data() == {
        "item": "item-1",
        "delegation": "mill->region",
        "ballot": {"choice": "yes"},
        "weight": Fraction(1),
    }


def test_minority_share_of_whole_votes_is_cast_by_a_delegate_of_the_minority() -> None:
    votes = [({"choice": "no"}, Fraction(1)), ({"choice": "yes"}, Fraction(2))]
    delegates = [("ana", {"choice": "yes"}), ("bo", {"choice": "yes"}), ("cy", {"choice": "no"})]
    assert assign_whole_votes(votes, delegates) == (
        ("ana", {"choice": "yes"}),
        ("bo", {"choice": "yes"}),
        ("cy", {"choice": "no"}),
    )
    all_yes = [("ana", {"choice": "yes"}), ("bo", {"choice": "yes"}), ("cy", None)]
    assert dict(assign_whole_votes(votes, all_yes))["cy"] == {"choice": "no"}
    with pytest.raises(MandateError):
        assign_whole_votes(votes, delegates[:2])


def test_recall_at_an_intermediate_level_does_not_interrupt_pass_through() -> None:
    m = derive(motion(70, 40), PROPORTIONAL, weight=2)
    recall = OPENS + timedelta(hours=1)
    settled = settle_delegation_vote(
        m,
        policy=PROPORTIONAL,
        ballots=[DelegateBallot("ana", recall + timedelta(hours=1), (({"choice": "yes"}, 2),))],
        tenures=[Tenure("ana", BEFORE, recall)],
        closes_at=CLOSES,
    )
    assert settled.votes == m.votes


def test_late_instruction_for_a_base_that_had_not_voted_replaces_its_abstention() -> None:
    missing = derive(None, BOUND, window=WINDOW)
    late = motion(4, 1, closed_at=DEADLINE + timedelta(hours=3))
    revision = revise_mandate(missing, late, policy=BOUND, window=WINDOW)
    assert choices(revision.mandate) == {"yes": Fraction(1)}
    assert "late_instruction_applied" in revision.mandate.flags
    assert revision.recast == ()  # nothing had been cast yet
    assert isinstance(revision.events[0], LateInstructionApplied)


def test_every_event_and_result_is_canonical() -> None:
    m = derive(motion(30, 10), MandatePolicy(enforcement="delegate_casts_checked"))
    records = [
        out_of_mandate(m, voted_hash="v2", policy=BOUND),
        check_delegate_vote(m, [({"choice": "no"}, 1)], delegate="ana", policy=BOUND),
        settle_delegation_vote(
            m, policy=BOUND, ballots=[DelegateBallot("x", CLOSES, ())], tenures=[], closes_at=CLOSES
        ),
        revise_mandate(m, motion(1, 3, closed_at=CLOSES), policy=BOUND, window=WINDOW),
        *flag_instruction_conflicts(m, {"yes": "statute §2"}),
    ]
    for record in records:
        data = canonical.loads(canonical.dumps(record))
        assert "explanation" in data or "events" in data or "mandate" in data


def test_tied_base_may_carry_its_previous_position_on_the_identical_text() -> None:
    policy = MandatePolicy(no_instruction_behavior="carry_previous_position")
    earlier = derive(motion(6, 2), policy)
    tied = derive(motion(3, 3), policy, previous=earlier)
    assert (tied.reason, choices(tied)) == ("carried", {"yes": Fraction(1)})


def test_instruction_quorum_defaults_to_the_bases_own_quorum() -> None:
    assert instruction_quorum(resolve([], preset=None)) == Fraction(1, 2)
    from konsilo.governance import PolicyLayer

    own = PolicyLayer("council", "mill", {"quorum.fraction": "1/3"})
    assert instruction_quorum(resolve([own], preset=None)) == Fraction(1, 3)
    set_ = PolicyLayer("council", "mill", {"mandate.instruction_quorum": "2/5"})
    assert instruction_quorum(resolve([set_], preset=None)) == Fraction(2, 5)


# -- amendments listed in advance (§3.10) -----------------------------------------------------


def _on(text: str, vote: BaseVote | None, policy: MandatePolicy = BOUND) -> Mandate:
    return derive(vote, policy, content_hash=text, item="top")


def test_a_listed_amendment_is_governed_by_the_mandate_on_its_own_text() -> None:
    sent = _on("v1", motion(4, 1))
    on_a = _on("a", motion(1, 4, content_hash="a"))
    on_b = _on("b", motion(3, 2, content_hash="b"))
    mandates = [sent, on_a, on_b]
    assert mandate_on_text(mandates, voted_hash="v1", policy=BOUND) is sent
    assert mandate_on_text(mandates, voted_hash="a", policy=BOUND) is on_a
    assert mandate_on_text(mandates, voted_hash="b", policy=BOUND) is on_b
    assert [b["choice"] for b, _ in on_a.votes] == ["no"]
    assert out_of_mandate(on_a, voted_hash="a", policy=BOUND) is None


def test_an_unlisted_text_falls_back_to_the_mandate_on_the_text_sent_outside_it() -> None:
    sent = _on("v1", motion(4, 1))
    chosen = mandate_on_text(
        [sent, _on("a", motion(1, 4, content_hash="a"))], voted_hash="c", policy=BOUND
    )
    assert chosen is sent
    action = out_of_mandate(chosen, voted_hash="c", policy=BOUND)
    assert action is not None
    assert action.step == "abstain"


def test_a_listed_amendment_without_instruction_follows_the_no_instruction_behaviour() -> None:
    policy = MandatePolicy(no_instruction_behavior="not_counted")
    sent = _on("v1", motion(4, 1), policy)
    silent = _on("a", None, policy)
    chosen = mandate_on_text([sent, silent], voted_hash="a", policy=policy)
    assert chosen is silent
    assert (chosen.status, chosen.counted) == ("no_instruction", False)
    assert cast_votes(chosen, policy=policy) == ()


def test_a_free_mandate_on_the_text_sent_governs_every_version() -> None:
    free = MandatePolicy(mode="free")
    sent = _on("v1", motion(4, 1), free)
    on_a = _on("a", motion(1, 4, content_hash="a"), free)
    assert mandate_on_text([sent, on_a], voted_hash="a", policy=free) is sent


def test_the_mandates_governing_a_version_must_be_one_delegations_on_one_item() -> None:
    with pytest.raises(MandateError, match="expected the delegation's mandates"):
        mandate_on_text([], voted_hash="a", policy=BOUND)
    other = derive_mandate(
        motion(1, 4, base="dock"),
        delegation="dock->region",
        content_hash="v1",
        weight=1,
        policy=BOUND,
        item="top",
    )
    with pytest.raises(MandateError, match="include one of dock->region"):
        mandate_on_text([_on("v1", motion(4, 1)), other], voted_hash="a", policy=BOUND)
