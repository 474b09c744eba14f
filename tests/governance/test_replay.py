"""Replaying the record: the state is rebuilt, and entries that cannot apply are refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from konsilo import canonical
from konsilo.governance.replay import Replay, ReplayError
from tests.record.records import RecordBuilder, federation


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
