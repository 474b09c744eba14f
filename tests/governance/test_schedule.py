"""Tests for konsilo.governance.schedule: cascading deadlines computed backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from konsilo import canonical
from konsilo.governance import resolve
from konsilo.governance.graph import CouncilGraph, CouncilSpec
from konsilo.governance.schedule import (
    Schedule,
    ScheduleError,
    TimingPolicy,
    cascade_deadlines,
    local_time,
    to_utc,
)

LEVELS = ("commune", "district", "region", "congress")
PUBLISHED = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
BERLIN = ZoneInfo("Europe/Berlin")


def _chain() -> CouncilGraph:
    return CouncilGraph.build(
        levels=LEVELS,
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("north", "region", ("congress",)),
            CouncilSpec("harbour", "district", ("north",)),
            CouncilSpec("dock", "commune", ("harbour",)),
            CouncilSpec("mill", "commune", ("harbour",)),
            CouncilSpec("farm", "commune", ("north",)),  # skips the district level
        ],
    )


def test_deadlines_cascade_backwards_from_the_top_vote_with_the_default_windows() -> None:
    opens = PUBLISHED + 30 * DAY
    plan = cascade_deadlines(_chain(), top="congress", published_at=PUBLISHED, opens_at=opens)
    top = plan.councils["congress"]
    assert (top.opens_at, top.closes_at) == (opens, opens + 3 * DAY)
    north = plan.councils["north"]
    assert north.instruction_deadline == opens - DAY  # mandate.instruction_deadline 24 h
    assert north.closes_at == north.instruction_deadline
    assert north.opens_at == north.closes_at - 3 * DAY  # timing.vote_window 72 h
    harbour = plan.councils["harbour"]
    assert harbour.instruction_deadline == north.opens_at - DAY
    dock = plan.councils["dock"]
    assert dock.instruction_deadline == harbour.opens_at - DAY
    assert dock.instruction_deadline == PUBLISHED + 21 * DAY  # 4 days a level: 30 - 3 × 3 days
    assert dock.deliberation == 21 * DAY
    # a base that skips a level is scheduled against the council it sends its delegation to
    assert plan.councils["farm"].instruction_deadline == north.opens_at - DAY


def test_scheduling_is_refused_naming_the_level_and_the_shortfall() -> None:
    opens = PUBLISHED + 20 * DAY
    with pytest.raises(ScheduleError) as err:
        cascade_deadlines(_chain(), top="congress", published_at=PUBLISHED, opens_at=opens)
    assert err.value.code == "too_little_time"
    assert err.value.field == "councils.dock"
    message = str(err.value)
    assert "dock (commune) would have 11 days" in message
    assert "mill (commune) would have 11 days" in message
    assert "needs 14 days" in message
    assert "3 days short" in message
    assert "farm" not in message  # farm skips a level: 15 days are enough


def test_a_level_with_its_own_longer_window_is_checked_against_it() -> None:
    opens = PUBLISHED + 30 * DAY
    timing = {"harbour": TimingPolicy(deliberation_window=26 * DAY)}
    with pytest.raises(ScheduleError) as err:
        cascade_deadlines(
            _chain(), top="congress", published_at=PUBLISHED, opens_at=opens, timing=timing
        )
    assert "harbour (district) would have 25 days" in str(err.value)
    assert "1 day short" in str(err.value)


def test_a_vote_window_longer_than_the_time_left_is_refused() -> None:
    timing = {"dock": TimingPolicy(vote_window=22 * DAY, deliberation_window=DAY)}
    with pytest.raises(ScheduleError) as err:
        cascade_deadlines(
            _chain(),
            top="congress",
            published_at=PUBLISHED,
            opens_at=PUBLISHED + 30 * DAY,
            timing=timing,
        )
    assert "dock (commune)" in str(err.value)
    assert "1 day short" in str(err.value)


def test_top_vote_before_publication_is_refused() -> None:
    with pytest.raises(ScheduleError):
        cascade_deadlines(
            _chain(), top="congress", published_at=PUBLISHED, opens_at=PUBLISHED - DAY
        )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ScheduleError) as err:
        cascade_deadlines(
            _chain(),
            top="congress",
            published_at=datetime(2026, 11, 1),  # noqa: DTZ001
            opens_at=PUBLISHED + 40 * DAY,
        )
    assert err.value.code == "naive"


def test_windows_across_a_daylight_saving_change_last_exactly_as_long() -> None:
    """Berlin leaves summer time on 2026-10-25: a 72 h window moves one hour on the wall."""
    opens = to_utc(datetime(2026, 10, 27, 12, 0), BERLIN)  # noqa: DTZ001 (local wall time: 11:00 UTC, CET)
    published = to_utc(datetime(2026, 10, 1, 12, 0), BERLIN)  # noqa: DTZ001 (local wall time: 10:00 UTC, CEST)
    graph = CouncilGraph.build(
        levels=("commune", "congress"),
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("dock", "commune", ("congress",)),
        ],
    )
    plan = cascade_deadlines(graph, top="congress", published_at=published, opens_at=opens)
    dock = plan.councils["dock"]
    assert dock.closes_at - dock.opens_at == timedelta(hours=72)
    assert dock.closes_at == datetime(2026, 10, 26, 11, 0, tzinfo=UTC)
    assert local_time(dock.closes_at, BERLIN).hour == 12  # CET
    assert local_time(dock.opens_at, BERLIN).hour == 13  # CEST: 72 h earlier is 13:00 local
    assert dock.opens_at.tzinfo is UTC


def test_local_times_that_do_not_exist_or_happen_twice_are_refused() -> None:
    with pytest.raises(ScheduleError) as gap:
        to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)  # noqa: DTZ001 (a local wall time)
    assert gap.value.code == "nonexistent_time"
    with pytest.raises(ScheduleError) as twice:
        to_utc(datetime(2026, 10, 25, 2, 30), BERLIN)  # noqa: DTZ001 (a local wall time)
    assert twice.value.code == "ambiguous_time"
    second = to_utc(datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN), BERLIN)
    assert second == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_a_council_with_two_parents_takes_the_earliest_deadline() -> None:
    graph = CouncilGraph.build(
        levels=("commune", "council", "congress"),
        parent_rule="dag",
        councils=[
            CouncilSpec("congress", "congress"),
            CouncilSpec("t", "council", ("congress",)),
            CouncilSpec("i", "council", ("congress",)),
            CouncilSpec("factory", "commune", ("t", "i")),
        ],
    )
    timing = {"t": TimingPolicy(instruction_deadline=3 * DAY)}
    plan = cascade_deadlines(
        graph, top="congress", published_at=PUBLISHED, opens_at=PUBLISHED + 40 * DAY, timing=timing
    )
    assert (
        plan.councils["factory"].instruction_deadline
        == min(plan.councils["t"].opens_at, plan.councils["i"].opens_at) - DAY
    )


def test_timing_policy_reads_the_catalogue_names() -> None:
    statutes = TimingPolicy.from_policy(resolve([], preset=None, decision_type="statutes"))
    assert statutes == TimingPolicy(vote_window=7 * DAY)
    assert TimingPolicy.from_policy(resolve([], preset=None)) == TimingPolicy()


def test_schedule_is_canonical_in_utc() -> None:
    plan = cascade_deadlines(
        _chain(), top="congress", published_at=PUBLISHED, opens_at=PUBLISHED + 40 * DAY
    )
    data = canonical.loads(canonical.dumps(plan))
    assert data["councils"]["dock"]["instruction_deadline"].endswith("Z")


durations = st.integers(min_value=1, max_value=20 * 24).map(lambda h: timedelta(hours=h))


@given(st.lists(st.tuples(durations, durations), min_size=4, max_size=4), st.integers(40, 200))
def test_deadlines_are_monotone_down_the_levels(
    windows: list[tuple[timedelta, timedelta]], days: int
) -> None:
    graph = _chain()
    keys = ["congress", "north", "harbour", "dock"]
    timing = {
        k: TimingPolicy(
            vote_window=v, deliberation_window=timedelta(hours=1), instruction_deadline=d
        )
        for k, (v, d) in zip(keys, windows, strict=True)
    }
    try:
        plan = cascade_deadlines(
            graph,
            top="congress",
            published_at=PUBLISHED,
            opens_at=PUBLISHED + days * DAY,
            timing=timing,
        )
    except ScheduleError:
        return
    for key, entry in plan.councils.items():
        assert entry.opens_at < entry.closes_at
        for parent in graph.parents(key):
            above = plan.councils[parent]
            assert entry.closes_at <= above.opens_at
            assert entry.instruction_deadline is not None
            assert entry.instruction_deadline <= above.opens_at
            assert entry.opens_at >= PUBLISHED


def test_a_schedule_read_back_from_its_canonical_form_is_the_same_schedule() -> None:
    plan = cascade_deadlines(
        _chain(), top="congress", published_at=PUBLISHED, opens_at=PUBLISHED + 40 * DAY
    )
    stored = canonical.loads(canonical.dumps(plan.to_canonical()))
    assert Schedule.from_canonical(stored) == plan


def test_a_schedule_that_is_not_one_is_refused_with_a_schedule_error() -> None:
    with pytest.raises(ScheduleError, match="expected a schedule"):
        Schedule.from_canonical({"top": "congress", "councils": {}})
