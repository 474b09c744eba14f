"""Tests for konsilo.governance.agenda: agenda-setting from below (domain-rules §2.11)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from konsilo.counting.motion import MotionBallots
from konsilo.governance import Choice, GovernanceError, resolve
from konsilo.governance.agenda import base_item_admitted, member_item_admitted, table_item

COUNCILS = {"mill": 300, "dock": 20, "farm": 900, "port": 700, "yard": 80, "rail": 500}


def test_member_item_needs_the_seconders_the_policy_names() -> None:
    right = resolve([], preset=None).value("agenda.member_item_right")
    assert right == Choice("seconded", (2,))
    one = member_item_admitted(right, proposer="ana", supporters={"ana", "ben"}, electorate=40)
    assert not one.admitted  # the proposer does not second their own item
    two = member_item_admitted(right, proposer="ana", supporters={"ben", "cem"}, electorate=40)
    assert two.admitted
    assert two.explanation == "2 of 2 seconders needed: admitted"


def test_any_member_and_petition_rights() -> None:
    assert member_item_admitted("any_member", proposer="ana", supporters=(), electorate=9).admitted
    petition = Choice("petition", (Fraction(1, 10),))
    short = member_item_admitted(petition, proposer="ana", supporters={"ben"}, electorate=30)
    assert (short.admitted, short.have, short.needed) == (False, 2, 3)
    enough = member_item_admitted(
        petition, proposer="ana", supporters={"ben", "cem"}, electorate=30
    )
    assert enough.admitted


def test_base_item_reaches_the_higher_agenda_by_a_fifth_of_the_bases() -> None:
    two = base_item_admitted({"dock", "yard"}, represented=COUNCILS)
    assert two.admitted  # 2 of 6 councils, though only 100 of 2500 members
    assert two.have == Fraction(1, 3)


def test_base_item_reaches_the_higher_agenda_by_a_fifth_of_the_represented_members() -> None:
    farm = base_item_admitted({"farm"}, represented=COUNCILS)
    assert farm.admitted  # 1 of 6 councils, but 900 of 2500 members
    assert "represented members" in farm.explanation


def test_base_item_below_both_thresholds_is_not_admitted() -> None:
    dock = base_item_admitted({"dock"}, represented=COUNCILS)
    assert not dock.admitted
    assert "not admitted" in dock.explanation


def test_base_item_exactly_at_the_threshold_is_admitted() -> None:
    five = {f"b{i}": 10 for i in range(10)}
    assert base_item_admitted({"b0", "b1"}, represented=five).admitted  # exactly 1/5


def test_endorsement_from_outside_is_refused() -> None:
    with pytest.raises(GovernanceError):
        base_item_admitted({"elsewhere"}, represented=COUNCILS)


def test_item_put_by_bases_cannot_be_tabled_except_by_two_thirds() -> None:
    assert table_item(MotionBallots(yes=66, no=34), from_bases=True).outcome == "rejected"
    assert table_item(MotionBallots(yes=2, no=1), from_bases=True).outcome == "adopted"
    assert table_item(MotionBallots(yes=66, no=34), from_bases=False).outcome == "adopted"
    unprotected = table_item(MotionBallots(yes=66, no=34), from_bases=True, protected_items=False)
    assert unprotected.outcome == "adopted"


def test_a_tied_motion_to_table_never_tables() -> None:
    assert table_item(MotionBallots(yes=5, no=5), from_bases=False).outcome == "rejected"
