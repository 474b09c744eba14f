"""Replaying the record: the state is rebuilt, and entries that cannot apply are refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.governance.replay import Replay, ReplayError
from tests.record.records import RecordBuilder, cast, derive, federation, open_vote, record_tally


def _entries(builder: RecordBuilder) -> list[dict[str, Any]]:
    return [canonical.loads(e) for e in builder.entries]


def _replay(entries: list[dict[str, Any]], **kw: Any) -> Replay:
    replay = Replay(**kw)
    for i, entry in enumerate(entries):
        replay.apply(i, entry)
    return replay


def _with(entry_type: str, data: Mapping[str, Any], **kw: Any) -> list[dict[str, Any]]:
    builder = RecordBuilder()
    federation(builder)
    builder.add(entry_type, data, **kw)
    return _entries(builder)


def _refusal(entries: list[dict[str, Any]], **kw: Any) -> ReplayError:
    with pytest.raises(ReplayError) as caught:
        _replay(entries, **kw)
    return caught.value


def test_replay_rebuilds_councils_members_offices_and_policies() -> None:
    builder = RecordBuilder()
    federation(builder)
    replay = _replay(_entries(builder))
    assert replay.slug == "fed"
    assert replay.graph is not None
    assert replay.graph.parents("bakery") == ("north",)
    assert sorted(replay.graph.bases()) == ["bakery", "press"]
    assert replay.council_names["north"] == "North"
    assert {m.record_id: m.primary().council for m in replay.members.values()} == {  # type: ignore[union-attr]
        "m-ana": "bakery",
        "m-ben": "bakery",
        "m-cy": "press",
    }
    assert [(o.member, o.council, o.delegation_from) for o in replay.offices] == [
        ("m-ana", "north", "bakery")
    ]
    assert [v.number for v in replay.policies[("organisation", "")]] == [1]
    assert replay.counts()["censuses_rederived"] == 1


def test_membership_changes_replay_like_the_actions() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add(
        "membership.added",
        {"member": "m-ana", "council": "press", "primary": False, "start": "2026-11-04"},
    )
    builder.add(
        "membership.primary_changed",
        {"member": "m-ana", "from": "bakery", "to": "press", "on": "2026-11-05"},
    )
    builder.add("member.status_changed", {"member": "m-ben", "status": "suspended"})
    builder.add(
        "member.updated",
        {
            "member": "m-cy",
            "changes": {"name": "Cyan", "secondary": ["bakery"]},
            "on": "2026-11-06",
        },
    )
    builder.add(
        "census.frozen",
        {
            "on": "2026-11-07",
            "basis": "members_in_good_standing",
            "represented": {"bakery": 0, "north": 2, "press": 2},
        },
    )
    replay = _replay(_entries(builder))
    ana = replay.members["m-ana"]
    assert [(m.council, m.primary, m.end) for m in ana.open_memberships()] == [
        ("press", True, None)
    ]
    assert replay.members["m-cy"].name == "Cyan"
    assert replay.members["m-ben"].status == "suspended"


def test_entries_before_the_organisation_is_created_are_refused() -> None:
    builder = RecordBuilder()
    builder.add("council.created", {"key": "x", "name": "X", "level": "workplace"})
    err = _refusal(_entries(builder))
    assert (err.index, err.entry_type) == (0, "council.created")
    assert "must start with organisation.created" in err.reason


def test_a_membership_in_an_unknown_council_is_refused() -> None:
    err = _refusal(
        _with(
            "membership.added",
            {"member": "m-ana", "council": "nowhere", "primary": False, "start": "2026-11-04"},
        )
    )
    assert err.index == 12
    assert "unknown council 'nowhere'" in err.reason


def test_a_membership_in_a_delegate_council_is_refused() -> None:
    err = _refusal(
        _with(
            "member.joined",
            {
                "member": "m-dee",
                "name": "Dee",
                "base": "north",
                "secondary": [],
                "start": "2026-11-04",
                "status": "good_standing",
            },
        )
    )
    assert "delegate council" in err.reason


def test_a_second_primary_base_is_refused() -> None:
    err = _refusal(
        _with(
            "membership.added",
            {"member": "m-ana", "council": "press", "primary": True, "start": "2026-11-04"},
        )
    )
    assert err.index == 12
    assert "secondary" in err.reason


def test_a_primary_change_from_the_wrong_base_is_refused() -> None:
    err = _refusal(
        _with(
            "membership.primary_changed",
            {"member": "m-ana", "from": "press", "to": "press", "on": "2026-11-04"},
        )
    )
    assert "primary base is 'bakery', not 'press'" in err.reason


def test_a_delegation_that_makes_a_cycle_is_refused() -> None:
    builder = RecordBuilder()
    builder.add(
        "organisation.created",
        {
            "slug": "fed",
            "name": "F",
            "levels": ["a", "b", "c"],
            "parent_rule": "dag",
            "timezone": "UTC",
        },
    )
    builder.add("council.created", {"key": "x", "name": "X", "level": "a"})
    builder.add("council.created", {"key": "y", "name": "Y", "level": "b"})
    builder.add("delegation.created", {"from": "x", "to": "y"})
    builder.add("delegation.created", {"from": "y", "to": "x"})
    err = _refusal(_entries(builder))
    assert err.index == 4
    assert "cycle: x → y → x" in err.reason


def test_a_delegation_downwards_breaks_the_level_order() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add("council.created", {"key": "dairy", "name": "Dairy", "level": "workplace"})
    builder.add("delegation.created", {"from": "north", "to": "dairy"})
    err = _refusal(_entries(builder))
    assert err.index == 13
    assert "a parent must be on a strictly higher level" in err.reason


def test_a_second_parent_under_the_tree_rule_is_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add("council.created", {"key": "south", "name": "South", "level": "region"})
    builder.add("delegation.created", {"from": "press", "to": "south"})
    err = _refusal(_entries(builder))
    assert "parent_rule 'tree' allows at most one" in err.reason


def test_a_member_joining_twice_is_refused() -> None:
    err = _refusal(
        _with(
            "member.joined",
            {
                "member": "m-ana",
                "name": "Ana",
                "base": "press",
                "secondary": [],
                "start": "2026-11-04",
                "status": "good_standing",
            },
        )
    )
    assert "already joined" in err.reason


def test_an_office_for_a_member_outside_the_delegation_is_refused() -> None:
    err = _refusal(
        _with(
            "office.assigned",
            {
                "member": "m-cy",
                "kind": "delegate",
                "council": "north",
                "delegation_from": "bakery",
                "start": "2026-11-04",
                "scheduled_end": None,
            },
        )
    )
    assert "not a member below 'bakery'" in err.reason


def test_a_second_seat_in_one_council_is_refused() -> None:
    err = _refusal(
        _with(
            "office.assigned",
            {
                "member": "m-ana",
                "kind": "officer",
                "council": "north",
                "delegation_from": None,
                "start": "2026-11-04",
                "scheduled_end": None,
            },
        )
    )
    assert "already holds a seat" in err.reason


def test_a_census_that_does_not_follow_from_the_memberships_is_refused() -> None:
    err = _refusal(
        _with(
            "census.frozen",
            {
                "on": "2026-11-03",
                "basis": "members_in_good_standing",
                "represented": {"bakery": 3, "north": 4, "press": 1},
            },
        )
    )
    assert "council 'bakery' represents 2 members" in err.reason


def test_a_skipped_policy_version_number_is_refused() -> None:
    err = _refusal(
        _with(
            "policy.versioned",
            {
                "scope": "organisation",
                "target": "",
                "number": 3,
                "preset": None,
                "values": {},
                "reason": "x",
            },
        )
    )
    assert "expected version 2" in err.reason


def test_policy_values_that_cannot_work_are_refused() -> None:
    err = _refusal(
        _with(
            "policy.versioned",
            {
                "scope": "organisation",
                "target": "",
                "number": 2,
                "preset": None,
                "values": {"quorum.fraction": "7/5"},
                "reason": "x",
            },
        )
    )
    assert "quorum.fraction" in err.reason


def test_an_unknown_entry_type_is_refused_unless_declared_informational() -> None:
    entries = _with("council.painted", {"key": "north", "colour": "red"})
    err = _refusal(entries)
    assert "unknown entry type 'council.painted'" in err.reason
    replay = _replay(entries, informational={"council.painted"})
    assert replay.entries == len(entries)


# -- votes and tallies ----------------------------------------------------------------------

YES, NO = {"choice": "yes"}, {"choice": "no"}


def _voted() -> RecordBuilder:
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-1")
    cast(builder, "i-1", "m-ana", NO)
    cast(builder, "i-1", "m-ben", NO)
    cast(builder, "i-1", "m-ana", YES)  # ana changes her ballot before the vote closes
    return builder


def test_a_tally_is_recounted_from_the_ballots_that_count() -> None:
    builder = _voted()
    record_tally(builder, "i-1", [(YES, "1"), (NO, "1")])
    replay = _replay(_entries(builder))
    assert replay.counts()["decisions_recounted"] == 1


def test_a_tally_that_does_not_match_its_ballots_is_refused() -> None:
    builder = _voted()
    index = record_tally(builder, "i-1", [(YES, "1"), (YES, "1")])  # ben's no became a yes
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "ballots: the record holds" not in err.reason
    assert "differs from the recount of its 2 ballots" in err.reason


def test_a_tally_counting_a_ballot_that_is_not_in_the_record_is_refused() -> None:
    builder = _voted()
    index = record_tally(builder, "i-1", [(YES, "1"), (NO, "1"), (YES, "1")])
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "holds 2 ballots that count on item 'i-1', the tally says 3" in err.reason


def test_a_ballot_cast_after_the_tally_is_refused() -> None:
    builder = _voted()
    record_tally(builder, "i-1", [(YES, "1"), (NO, "1")])
    index = cast(builder, "i-1", "m-ben", YES)
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "after its vote closed" in err.reason


def test_a_ballot_by_someone_outside_the_census_is_refused() -> None:
    builder = _voted()
    index = cast(builder, "i-1", "m-cy", YES)
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "'m-cy' is not in the vote's census" in err.reason


def test_a_ballot_with_another_weight_than_the_census_is_refused() -> None:
    builder = _voted()
    cast(builder, "i-1", "m-ben", YES, weight="2")
    err = _refusal(_entries(builder))
    assert "votes with weight 1 in the census, the ballot says 2" in err.reason


def test_a_ballot_on_a_vote_never_opened_is_refused() -> None:
    builder = _voted()
    cast(builder, "i-2", "m-ben", YES)
    err = _refusal(_entries(builder))
    assert "no vote was opened on item 'i-2'" in err.reason


def test_secret_ballots_are_replaced_by_receipt_and_recounted() -> None:
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-1", secret=True)
    builder.add("ballot.participated", {"item": "i-1", "member": "m-ben"}, actor="")
    cast(builder, "i-1", "", NO, receipt="a" * 64)
    builder.add("ballot.participated", {"item": "i-1", "member": "m-ana"}, actor="")
    cast(builder, "i-1", "", NO, receipt="b" * 64)
    cast(builder, "i-1", "", YES, receipt="b" * 64)
    record_tally(builder, "i-1", [(NO, "1"), (YES, "1")])
    assert _replay(_entries(builder)).counts()["decisions_recounted"] == 1


def test_more_secret_ballots_than_members_who_took_part_are_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-1", secret=True)
    builder.add("ballot.participated", {"item": "i-1", "member": "m-ben"}, actor="")
    cast(builder, "i-1", "", NO, receipt="a" * 64)
    cast(builder, "i-1", "", YES, receipt="c" * 64)  # stuffed: nobody took part for it
    index = record_tally(builder, "i-1", [(NO, "1"), (YES, "1")])
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "2 secret ballots on item 'i-1' but only 1 members took part" in err.reason


def test_a_census_kept_as_a_long_text_is_read_through_read_text() -> None:
    builder = RecordBuilder()
    federation(builder)
    weights = builder.text(canonical.dumps_str({"m-ana": "1", "m-ben": "1"}))
    builder.add(
        "vote.opened",
        {
            "item": "i-1",
            "council": "bakery",
            "method": "motion",
            "rule": {"rule": "simple_majority"},
            "options": ["yes", "no", "abstain"],
            "secret": False,
            "policy_version": 1,
            "census": {"basis": "members_in_good_standing", "voters": 2, "weights_sha256": weights},
            "closes_at": "2026-12-08T12:00:00Z",
        },
    )
    index = cast(builder, "i-1", "m-cy", YES)
    err = _refusal(_entries(builder), read_text=builder.texts.get)
    assert (err.index, "'m-cy' is not in the vote's census" in err.reason) == (index, True)


# -- a member of two bases: weight 0 in the secondary base (§3.4) ---------------------------

TWO_BASES = {"m-ana": "1", "m-ben": "1", "m-cy": "0"}  # cy's primary base is the press
INSTRUCTING = {"instruction_of": "i-top"}


def _sent_item(builder: RecordBuilder, *, card_vote: bool = True) -> None:
    """North weighs its delegations by the members they represent (a card vote; else one
    weight per delegate, the default), and creates the item i-top that it sends to its
    bases."""
    if card_vote:
        builder.add(
            "policy.versioned",
            {
                "scope": "council",
                "target": "north",
                "number": 1,
                "preset": None,
                "values": {"structure.vote_weight": "represented_members"},
                "reason": "a card vote",
            },
            council="north",
        )
    builder.add(
        "proposal.created",
        {
            "item": "i-top",
            "council": "north",
            "decision_type": "ordinary_motion",
            "ballot_shape": "yes_no_abstain",
        },
        council="north",
    )


def _send_to_bases(builder: RecordBuilder, *, cy_in_bakery: bool = True) -> None:
    """North sends i-top to the bakery (i-base) and the press; cy, whose primary base is
    the press, is a member of the bakery too (unless ``cy_in_bakery`` is False)."""
    if cy_in_bakery:
        builder.add(
            "membership.added",
            {"member": "m-cy", "council": "bakery", "primary": False, "start": "2026-11-05"},
            council="bakery",
        )
    _sent_item(builder)
    open_vote(
        builder,
        "i-top",
        council="north",
        voters={"bakery->north": "2", "press->north": "1"},
        extra={
            "opens_at": "2026-12-09T12:00:00Z",
            "texts": {"i-top": "h-1"},
            "cascade": {"bakery->north": "i-base", "press->north": "i-press"},
        },
    )


def _weightless(builder: RecordBuilder) -> None:
    _send_to_bases(builder)
    open_vote(builder, "i-base", voters=TWO_BASES, extra=INSTRUCTING)
    cast(builder, "i-base", "m-ana", YES)
    cast(builder, "i-base", "m-ben", NO)
    cast(builder, "i-base", "m-cy", YES, weight="0")


def test_a_ballot_of_weight_0_is_recorded_and_counted_for_nothing() -> None:
    builder = RecordBuilder()
    federation(builder)
    _weightless(builder)
    record_tally(builder, "i-base", [(YES, "1"), (NO, "1")], extra={"weightless": 1})
    replay = _replay(_entries(builder))
    assert replay.counts()["decisions_recounted"] == 1
    assert replay.votes["i-base"].counted == (({"choice": "no"}, 1), ({"choice": "yes"}, 1))


def test_a_tally_that_counts_a_ballot_of_weight_0_is_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    _weightless(builder)
    index = record_tally(builder, "i-base", [(YES, "1"), (NO, "1"), (YES, "1")])
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "holds 2 ballots that count on item 'i-base', the tally says 3" in err.reason


def test_a_tally_that_leaves_out_the_ballots_of_weight_0_is_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    _weightless(builder)
    index = record_tally(builder, "i-base", [(YES, "1"), (NO, "1")])
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "holds 1 ballots of weight 0 on item 'i-base', the tally says 0" in err.reason


def test_a_ballot_of_weight_0_where_the_census_gives_none_is_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    _send_to_bases(builder, cy_in_bakery=False)
    open_vote(builder, "i-base", extra=INSTRUCTING)
    index = cast(builder, "i-base", "m-ana", YES, weight="0")
    err = _refusal(_entries(builder))
    assert (err.index, err.reason) == (index, "data.weight: expected a positive weight, got 0")


def test_a_weight_of_0_in_a_vote_that_instructs_on_nothing_is_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    index = open_vote(builder, "i-base", voters=TWO_BASES)
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "a member weighs 0 only in a base's instruction vote" in err.reason


# -- mandates ------------------------------------------------------------------------------


def _instructed() -> RecordBuilder:
    """Bakery votes yes 2 : no 0 on its instruction; the congress-level vote is in north."""
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-base")
    cast(builder, "i-base", "m-ana", YES)
    cast(builder, "i-base", "m-ben", YES)
    record_tally(builder, "i-base", [(YES, "1"), (YES, "1")])
    open_vote(builder, "i-top", council="north", voters={"bakery->north": "2", "press->north": "1"})
    return builder


def test_a_mandate_is_re_derived_and_the_delegation_vote_is_counted() -> None:
    builder = _instructed()
    _, mandate = derive(builder, item="i-top", base_item="i-base", ballots=[(YES, "2")])
    [(ballot, weight)] = mandate.votes
    builder.add(
        "delegation.voted",
        {
            "item": "i-top",
            "delegation": "bakery->north",
            "ballot": ballot,
            "weight": str(weight),
            "cast_by": "system",
            "explanation": "bound",
        },
    )
    record_tally(builder, "i-top", [(YES, "2")])
    replay = _replay(_entries(builder))
    assert replay.counts()["mandates_rederived"] == 1
    assert replay.counts()["decisions_recounted"] == 2


def test_a_recorded_mandate_that_does_not_follow_from_the_base_vote_is_refused() -> None:
    builder = _instructed()
    forged = {"votes": [{"ballot": NO, "weight": "2"}]}
    index, _ = derive(builder, item="i-top", base_item="i-base", ballots=[(YES, "2")], forge=forged)
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "recorded mandate of bakery->north on item 'i-top' differs" in err.reason


def test_a_base_vote_with_more_ballots_than_its_tally_counted_is_refused() -> None:
    builder = _instructed()
    index, _ = derive(builder, item="i-top", base_item="i-base", ballots=[(YES, "3")])
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "more than the tally of 'i-base'" in err.reason


def test_a_mandate_for_a_base_that_never_voted_is_refused() -> None:
    builder = _instructed()
    index, _ = derive(builder, item="i-top", base_item="i-nowhere", ballots=[(YES, "2")])
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "no tally of the base's item 'i-nowhere'" in err.reason


def test_a_delegation_vote_against_its_binding_mandate_is_refused() -> None:
    builder = _instructed()
    derive(builder, item="i-top", base_item="i-base", ballots=[(YES, "2")])
    index = builder.add(
        "delegation.voted",
        {
            "item": "i-top",
            "delegation": "bakery->north",
            "ballot": NO,
            "weight": "2",
            "cast_by": "m-ana",
            "explanation": "own judgement",
        },
    )
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "against its binding mandate" in err.reason


def test_a_mandate_of_a_delegation_that_does_not_exist_is_refused() -> None:
    builder = _instructed()
    index, _ = derive(
        builder, item="i-top", base_item="i-base", ballots=[(YES, "2")], delegation="north->bakery"
    )
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "'north' sends no delegation to 'bakery'" in err.reason


def test_a_mandate_without_its_base_vote_cannot_be_re_derived() -> None:
    builder = _instructed()
    index, _ = derive(builder, item="i-top", base_item="i-base", ballots=[(YES, "2")])
    entries = _entries(builder)
    del entries[index]["data"]["base_vote"]
    err = _refusal(entries)
    assert err.index == index
    assert "expected the base's instruction vote" in err.reason


def test_a_mandate_weight_other_than_the_census_weight_is_refused() -> None:
    builder = _instructed()  # the census of i-top gives bakery->north weight 2
    index, _ = derive(builder, item="i-top", base_item="i-base", ballots=[(YES, "2")], weight="5")
    err = _refusal(_entries(builder))
    assert err.index == index
    assert "carries 2 in the census of item 'i-top', the mandate says 5" in err.reason


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([YES, NO, {"choice": "abstain"}, {"ranking": [["a"], ["b", "c"]]}]),
            st.sampled_from(["1", "2", "1/3"]),
        ),
        max_size=30,
    )
)
def test_the_counted_ballots_are_grouped_as_the_mandates_group_them(
    pairs: list[tuple[dict[str, Any], str]],
) -> None:
    from konsilo.governance.mandates import group_ballots
    from konsilo.governance.replay import _fraction, _grouped

    ballots = [(ballot, _fraction(weight, "weight")) for ballot, weight in pairs]
    assert canonical.dumps(_grouped(ballots)) == canonical.dumps(group_ballots(ballots))


# -- the census of a vote, re-derived from the memberships ----------------------------------


def _census_refusal(builder: RecordBuilder) -> tuple[int, ReplayError]:
    err = _refusal(_entries(builder))
    return err.index, err


def test_a_base_vote_census_is_re_derived_from_the_memberships_and_counted() -> None:
    builder = RecordBuilder()
    federation(builder)
    open_vote(builder, "i-1")  # the bakery: ana and ben
    open_vote(builder, "i-2", council="press", voters={"m-cy": "1"})
    counts = _replay(_entries(builder)).counts()
    assert (counts["vote_censuses_rederived"], counts["censuses_rederived"]) == (2, 1)


@pytest.mark.parametrize(
    ("voters", "named"),
    [
        ({"m-ana": "1", "m-ben": "1", "m-cy": "1"}, "m-cy is in the recorded census with weight 1"),
        ({"m-ana": "1"}, "m-ben may vote in 'bakery' on 2026-12-01 with weight 1, but the"),
        ({"m-ana": "1", "m-ben": "2"}, "m-ben votes in 'bakery' on 2026-12-01 with weight 1, the"),
    ],
    ids=["added", "left-out", "reweighted"],
)
def test_a_forged_base_vote_census_is_refused_naming_the_voter(
    voters: dict[str, str], named: str
) -> None:
    builder = RecordBuilder()
    federation(builder)
    opened = open_vote(builder, "i-1", voters=voters)
    index, err = _census_refusal(builder)
    assert index == opened
    assert err.reason.startswith("the recorded census does not follow from the memberships")
    assert named in err.reason


def test_a_member_who_joins_after_the_census_day_is_not_in_it() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add(
        "member.joined",
        {
            "member": "m-dee",
            "name": "Dee",
            "base": "bakery",
            "secondary": [],
            "start": "2026-12-02",  # the day after the vote opens
            "status": "good_standing",
        },
        council="bakery",
    )
    open_vote(builder, "i-1")
    opened = open_vote(builder, "i-2", voters={"m-ana": "1", "m-ben": "1", "m-dee": "1"})
    index, err = _census_refusal(builder)
    assert index == opened
    assert "m-dee is in the recorded census with weight 1, but may not vote" in err.reason


def test_an_ended_membership_leaves_the_census_from_its_end() -> None:
    builder = RecordBuilder()
    federation(builder)
    from tests.record.records import add_membership

    add_membership(builder, "m-cy", "bakery")
    three = {"m-ana": "1", "m-ben": "1", "m-cy": "1"}
    open_vote(builder, "i-1", voters=three)
    builder.add(
        "membership.ended",
        {"member": "m-cy", "council": "bakery", "end": "2026-12-01"},
        council="bakery",
    )
    open_vote(builder, "i-2")  # cy's membership ended that day: ana and ben only
    opened = open_vote(builder, "i-3", voters=three)
    index, err = _census_refusal(builder)
    assert index == opened
    assert "m-cy is in the recorded census" in err.reason


def test_a_suspended_member_votes_only_where_the_policy_counts_every_member() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add("member.status_changed", {"member": "m-ben", "status": "suspended"})
    open_vote(builder, "i-1", voters={"m-ana": "1"})  # in good standing: ana alone
    opened = open_vote(builder, "i-2")
    index, err = _census_refusal(builder)
    assert index == opened
    assert "m-ben is in the recorded census with weight 1, but may not vote" in err.reason

    builder = RecordBuilder()
    federation(builder)
    builder.add("member.status_changed", {"member": "m-ben", "status": "suspended"})
    builder.add(
        "policy.versioned",
        {
            "scope": "organisation",
            "target": "",
            "number": 2,
            "preset": None,
            "values": {"structure.represented_count_basis": "voters_in_instruction_vote"},
            "reason": "weigh the bases by turnout",
        },
    )
    open_vote(builder, "i-1", basis="members")  # every member: ben too
    opened = open_vote(builder, "i-2")  # the basis the policy no longer gives
    index, err = _census_refusal(builder)
    assert index == opened
    assert "the organisation's policy freezes a base's census on 'members'" in err.reason
    assert _replay(_entries(builder)[:-1]).counts()["vote_censuses_rederived"] == 1


def test_a_member_who_left_is_in_no_census() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add("member.status_changed", {"member": "m-ben", "status": "left"})
    opened = open_vote(builder, "i-1", basis="members")
    index, err = _census_refusal(builder)
    assert index == opened
    assert "the organisation's policy freezes a base's census on 'members_in_good_standing'" in (
        err.reason
    )
    builder = RecordBuilder()
    federation(builder)
    builder.add("member.status_changed", {"member": "m-ben", "status": "left"})
    opened = open_vote(builder, "i-1")
    index, err = _census_refusal(builder)
    assert (index, "m-ben is in the recorded census" in err.reason) == (opened, True)


def test_a_census_day_is_the_day_the_vote_opened() -> None:
    builder = RecordBuilder()
    federation(builder)
    builder.add(
        "member.joined",
        {
            "member": "m-dee",
            "name": "Dee",
            "base": "bakery",
            "secondary": [],
            "start": "2026-12-05",
            "status": "good_standing",
        },
        council="bakery",
    )
    # Frozen "on" a later day to let a member in who joins then: refused.
    opened = open_vote(builder, "i-1", voters={"m-ana": "1", "m-ben": "1", "m-dee": "1"})
    entries = _entries(builder)
    entries[opened]["data"]["census"]["on"] = "2026-12-05"
    err = _refusal(entries)
    assert err.index == opened
    assert "is of that day, not of 2026-12-05" in err.reason
    # The day after (a platform east of UTC) is the census day itself.
    entries[opened]["data"]["census"]["on"] = "2026-12-02"
    entries[opened]["data"]["census"]["weights"] = {"m-ana": "1", "m-ben": "1"}
    entries[opened]["data"]["census"]["voters"] = 2
    assert _replay(entries).counts()["vote_censuses_rederived"] == 1


def test_a_census_whose_counts_or_electorate_differ_from_its_weights_is_refused() -> None:
    for census_extra, rule, expected in [
        ({"voters": 3}, None, "data.census.voters: the census lists 2 voters, it says 3"),
        ({"total_weight": "3"}, None, "data.census.total_weight: the census's weights add up"),
        ({}, {"rule": "simple_majority", "eligible": 3}, "data.rule.eligible: 2 voters"),
        ({}, {"rule": "simple_majority", "eligible_weight": "1"}, "data.rule.eligible_weight"),
    ]:
        builder = RecordBuilder()
        federation(builder)
        opened = open_vote(builder, "i-1", rule=rule)
        entries = _entries(builder)
        entries[opened]["data"]["census"].update(census_extra)
        err = _refusal(entries)
        assert (err.index, err.reason.startswith(expected)) == (opened, True), err.reason


def test_a_council_of_delegates_votes_by_its_seated_delegates() -> None:
    builder = RecordBuilder()
    federation(builder)  # ana holds north's bakery seat from 2026-11-02
    open_vote(builder, "i-1", council="north", voters={"m-ana": "1"}, basis="enrolled_delegates")
    assert _replay(_entries(builder)).counts()["vote_censuses_rederived"] == 1
    opened = open_vote(
        builder,
        "i-2",
        council="north",
        voters={"m-ana": "1", "m-cy": "1"},
        basis="enrolled_delegates",
    )
    index, err = _census_refusal(builder)
    assert index == opened
    assert "m-cy is in the recorded census with weight 1, but may not vote in 'north'" in err.reason


@pytest.mark.parametrize(
    ("council", "basis", "expected"),
    [
        ("north", "members_in_good_standing", "'north' is a council of delegates"),
        ("bakery", "enrolled_delegates", "'bakery' is a base; its census is of its members"),
        ("bakery", "everyone", "data.census.basis: expected one of"),
    ],
)
def test_a_census_on_a_basis_the_council_does_not_vote_on_is_refused(
    council: str, basis: str, expected: str
) -> None:
    builder = RecordBuilder()
    federation(builder)
    opened = open_vote(builder, "i-1", council=council, voters={"m-ana": "1"}, basis=basis)
    index, err = _census_refusal(builder)
    assert (index, expected in err.reason) == (opened, True), err.reason


def test_a_member_of_two_bases_weighs_0_where_the_item_reaches_their_primary_base() -> None:
    builder = RecordBuilder()
    federation(builder)
    _send_to_bases(builder)
    open_vote(builder, "i-base", voters=TWO_BASES, extra=INSTRUCTING)
    # The delegations' census of i-top and the bakery's.
    assert _replay(_entries(builder)).counts()["vote_censuses_rederived"] == 2
    # The same member in full, as if the item did not reach the press: refused.
    builder = RecordBuilder()
    federation(builder)
    _send_to_bases(builder)
    opened = open_vote(builder, "i-base", voters={**TWO_BASES, "m-cy": "1"}, extra=INSTRUCTING)
    index, err = _census_refusal(builder)
    assert index == opened
    assert "m-cy votes in 'bakery' on 2026-12-01 with weight 0, the recorded census says 1" in (
        err.reason
    )


def test_an_instruction_vote_on_an_item_never_sent_to_the_bases_is_refused() -> None:
    builder = RecordBuilder()
    federation(builder)
    opened = open_vote(builder, "i-base", extra={"instruction_of": "i-nowhere"})
    index, err = _census_refusal(builder)
    assert index == opened
    assert "instructs on 'i-nowhere', which no item sent to the bases leads to" in err.reason


# -- the delegations' weights of a sent item, from the memberships (§2.1, §3.6) -------------


def _sent_with(voters: Mapping[str, str], *, card_vote: bool = True) -> list[dict[str, Any]]:
    builder = RecordBuilder()
    federation(builder)
    _sent_item(builder, card_vote=card_vote)
    open_vote(
        builder,
        "i-top",
        council="north",
        voters=voters,
        extra={
            "opens_at": "2026-12-09T12:00:00Z",
            "texts": {"i-top": "h-1"},
            "cascade": {"bakery->north": "i-base", "press->north": "i-press"},
        },
    )
    return _entries(builder)


def test_a_sent_items_delegations_weigh_what_their_bases_represent() -> None:
    # Under a card vote the bakery's delegation carries its 2 members, the press's its 1.
    replay = _replay(_sent_with({"bakery->north": "2", "press->north": "1"}))
    assert replay.counts()["vote_censuses_rederived"] == 1
    # One weight per delegate (the default): 1 each.
    replay = _replay(_sent_with({"bakery->north": "1", "press->north": "1"}, card_vote=False))
    assert replay.counts()["vote_censuses_rederived"] == 1


@pytest.mark.parametrize(
    ("voters", "card_vote", "expected"),
    [
        # A delegation given more weight than the members it represents.
        (
            {"bakery->north": "3", "press->north": "1"},
            True,
            "delegation bakery->north weighs 2 on item 'i-top', the record says 3",
        ),
        # A card vote recorded where the policy gives one weight per delegate.
        (
            {"bakery->north": "2", "press->north": "1"},
            False,
            "delegation bakery->north weighs 1 on item 'i-top', the record says 2",
        ),
        # A delegation left out of the vote.
        (
            {"bakery->north": "2"},
            True,
            "delegation press->north weighs 1 on item 'i-top', the record says nothing",
        ),
        # A delegation that does not vote in north.
        (
            {"bakery->north": "2", "press->north": "1", "press->bakery": "1"},
            True,
            "delegation press->bakery weighs nothing on item 'i-top', the record says 1",
        ),
    ],
)
def test_a_sent_items_census_that_does_not_follow_from_the_memberships_is_refused(
    voters: Mapping[str, str], card_vote: bool, expected: str
) -> None:
    entries = _sent_with(voters, card_vote=card_vote)
    with pytest.raises(ReplayError) as err:
        _replay(entries)
    assert err.value.index == len(entries) - 1
    assert expected in err.value.reason


def test_a_sent_item_without_its_proposal_is_refused() -> None:
    entries = _sent_with({"bakery->north": "2", "press->north": "1"})
    entries = [e for e in entries if e["type"] != "proposal.created"]
    with pytest.raises(ReplayError, match=r"no proposal\.created with its decision type"):
        _replay(entries)
