"""Consent and consensus: objections, their validity, blocks and stand-asides."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.counting.consent import ConsentError, Judgement, Stance, count


def test_all_consent_adopts() -> None:
    result = count([Stance("Ana", "consent"), Stance("Bea", "consent_with_concern", "cost")])
    assert result.outcome == "adopted"
    assert result.winners == ("yes",)
    assert result.details["unresolved_objections"] == []


def test_one_valid_objection_stops_a_proposal_whatever_the_number_of_consents() -> None:
    # §3.21: consent is not weight-aggregable.
    stances = [Stance(f"base-{i:04}", "consent") for i in range(1000)]
    stances.append(Stance("small-base", "object", reason="breaks the safety policy"))
    result = count(stances)
    assert result.outcome == "objected"
    assert result.details["unresolved_objections"] == [
        {"member": "small-base", "stance": "object", "reason": "breaks the safety policy"}
    ]


def test_an_objection_without_a_reason_is_refused() -> None:
    with pytest.raises(ConsentError, match="Bea: an objection needs a reason"):
        count([Stance("Ana", "consent"), Stance("Bea", "object")])


def test_a_reasonless_objection_is_accepted_when_the_policy_does_not_require_reasons() -> None:
    result = count([Stance("Bea", "object")], objection_requires_reason=False)
    assert result.outcome == "objected"


def test_an_objection_judged_invalid_is_recorded_and_does_not_stop_the_proposal() -> None:
    ruling = Judgement(valid=False, judged_by="circle", reason="a preference, not a risk")
    result = count([Stance("Ana", "consent"), Stance("Bea", "object", "dislike", ruling)])
    assert result.outcome == "adopted"
    overruled = result.details["overruled"]
    assert overruled[0]["member"] == "Bea"
    assert overruled[0]["judgement"].judged_by == "circle"
    assert "judged invalid" in result.summary


def test_an_unjudged_objection_counts_as_valid() -> None:
    result = count([Stance("Bea", "object", "unsafe")])
    assert result.outcome == "objected"


def test_an_objection_judged_valid_stands() -> None:
    ruling = Judgement(valid=True, judged_by="facilitator", reason="risks the aim")
    result = count([Stance("Ana", "consent"), Stance("Bea", "object", "unsafe", ruling)])
    assert result.outcome == "objected"


def test_a_judgement_needs_who_judged_and_why() -> None:
    with pytest.raises(ConsentError, match="judged_by"):
        Judgement(valid=False, judged_by=" ", reason="x")
    with pytest.raises(ConsentError, match="reason"):
        Judgement(valid=False, judged_by="circle", reason="")


def test_a_block_exists_only_in_the_consensus_variant() -> None:
    with pytest.raises(ConsentError, match="consensus variant"):
        count([Stance("Ana", "block", "against our principles")])
    result = count([Stance("Ana", "block", "against our principles")], variant="consensus")
    assert result.outcome == "blocked"


def test_stand_asides_above_the_consensus_limit_fail_the_proposal() -> None:
    two_of_six = [Stance(f"m{i}", "consent") for i in range(4)] + [
        Stance("s1", "stand_aside"),
        Stance("s2", "stand_aside"),
    ]
    assert count(two_of_six, variant="consensus").outcome == "adopted"  # exactly 1/3
    three_of_seven = [*two_of_six, Stance("s3", "stand_aside")]
    result = count(three_of_seven, variant="consensus")
    assert result.outcome == "rejected"
    assert "3 of 7 stand aside" in result.summary


def test_consent_has_no_stand_aside_limit_unless_one_is_set() -> None:
    stances = [Stance("a", "consent"), Stance("b", "stand_aside"), Stance("c", "stand_aside")]
    assert count(stances).outcome == "adopted"
    assert count(stances, stand_aside_limit=Fraction(1, 2)).outcome == "rejected"


def test_each_member_states_one_stance() -> None:
    with pytest.raises(ConsentError, match="Ana: states more than one stance"):
        count([Stance("Ana", "consent"), Stance("Ana", "object", "x")])


def test_unknown_stances_and_judgements_of_consents_are_refused() -> None:
    with pytest.raises(ConsentError, match="stance"):
        Stance("Ana", "veto", "x")
    with pytest.raises(ConsentError, match="judgement"):
        Stance("Ana", "consent", judgement=Judgement(valid=True, judged_by="c", reason="r"))


def test_no_stances_adopt_nothing() -> None:
    assert count([]).outcome == "rejected"


stance_lists = st.lists(
    st.tuples(
        st.sampled_from(["consent", "consent_with_concern", "stand_aside", "object", "block"]),
        st.booleans(),
    ),
    max_size=12,
)


def _build(raw: list[tuple[str, bool]]) -> list[Stance]:
    out = []
    for i, (kind, judged_invalid) in enumerate(raw):
        opposing = kind in ("object", "block")
        judgement = (
            Judgement(valid=False, judged_by="circle", reason="not paramount")
            if opposing and judged_invalid
            else None
        )
        out.append(Stance(f"m{i:02}", kind, "reason" if opposing else "", judgement))
    return out


@given(stance_lists, st.randoms())
def test_the_order_of_stances_is_irrelevant(raw: list[tuple[str, bool]], rnd: object) -> None:
    stances = _build(raw)
    shuffled = list(stances)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert (
        count(stances, variant="consensus").to_json()
        == count(shuffled, variant="consensus").to_json()
    )


@given(stance_lists)
def test_consensus_results_round_trip_and_adopt_only_without_standing_opposition(
    raw: list[tuple[str, bool]],
) -> None:
    stances = _build(raw)
    result = count(stances, variant="consensus")
    assert canonical.loads(result.to_json()) == canonical.to_jsonable(result)
    standing = [s for s in stances if s.is_valid_opposition]
    if result.outcome == "adopted":
        assert not standing
    if standing:
        assert result.outcome in {"objected", "blocked"}
    assert sum(result.rounds[0].tallies.values()) == len(stances)
