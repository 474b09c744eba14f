"""Cascading deadlines: scheduling an item's votes backwards from the higher council's vote.

When a higher council sends an item to its bases, every council below must vote on it before
its delegation's instruction is due, and the bases must have time to deliberate (the 1871
lesson: no time to frame mandates, domain-rules §3.5, §2.11, §2.14). The schedule is computed
backwards from the top vote, council by council down every path:

* the top vote opens at ``opens_at`` and stays open for its ``timing.vote_window``;
* a delegation's instruction is due ``mandate.instruction_deadline`` before the vote of the
  council it sits in opens;
* the council below must have closed its own vote by then, so its vote window ends at that
  deadline and opens ``timing.vote_window`` earlier; and so on down to the bases;
* every council needs ``agenda.base_deliberation_window`` between the item's publication and
  its instruction deadline, and its vote cannot open before publication.

If any council would get less, scheduling is refused with a :class:`ScheduleError` that names
the council, its level and the shortfall. Deadlines are aware instants in UTC; durations are
exact elapsed time, so a window across a daylight-saving change lasts exactly as long (only
its local wall-clock display moves, :func:`local_time`). Local wall times entered by people
are read with :func:`to_utc`, which refuses times that do not exist or happen twice on a
change day unless the fold is given.

Sources: domain-rules §2.3 (``instruction_deadline``), §2.11 (``base_deliberation_window``),
§2.14, §3.5 ("Cascading deadlines"), §3.17.

>>> from konsilo.governance.graph import CouncilSpec
>>> graph = CouncilGraph.build(levels=("assembly", "congress"), councils=[
...     CouncilSpec("congress", "congress"), CouncilSpec("mill", "assembly", ("congress",))])
>>> plan = cascade_deadlines(graph, top="congress", published_at=datetime(2026, 12, 1, tzinfo=UTC),
...                 opens_at=datetime(2026, 12, 20, tzinfo=UTC))
>>> mill = plan.councils["mill"]
>>> mill.opens_at.isoformat(), mill.instruction_deadline.isoformat()
('2026-12-16T00:00:00+00:00', '2026-12-19T00:00:00+00:00')
>>> mill.explanation.split("; ")[1]
'its instruction is due at 2026-12-19T00:00:00Z, 18 days after publication (14 days needed).'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from types import MappingProxyType
from typing import Any

from konsilo import canonical
from konsilo.governance.errors import GovernanceError
from konsilo.governance.graph import CouncilGraph

__all__ = [
    "CouncilSchedule",
    "Schedule",
    "ScheduleError",
    "TimingPolicy",
    "cascade_deadlines",
    "local_time",
    "to_utc",
]


class ScheduleError(GovernanceError):
    """An item cannot be scheduled: a council would get less time than its policy needs."""


def _aware(name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ScheduleError(
            f"expected an aware datetime (an instant), got {value!r}", field=name, code="naive"
        )
    return value.astimezone(UTC)


def _instant(raw: Any) -> datetime:
    """An instant from its canonical text (``...Z``) or a datetime."""
    if not isinstance(raw, str | datetime):
        raise TypeError(f"an instant as text, got {raw!r}")
    return _aware("instant", canonical.instant(raw))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _words(delta: timedelta) -> str:
    """A duration as people read it: ``14 days``, ``2 days 6 hours``, ``45 minutes``."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount} {unit}{'s' if amount != 1 else ''}")
    return sign + (" ".join(parts) or "0 seconds")


def to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """Read a local wall-clock time in ``zone`` as a UTC instant, refusing DST traps.

    A naive ``wall`` is local time in ``zone``. On the day clocks go forward some local times
    do not exist; on the day they go back some happen twice. Both are refused, unless an
    ambiguous time carries ``fold`` (0: the first, 1: the second occurrence) and is given
    already attached to ``zone``.

    >>> from zoneinfo import ZoneInfo
    >>> berlin = ZoneInfo("Europe/Berlin")
    >>> to_utc(datetime(2026, 3, 29, 12, 0), berlin).isoformat()
    '2026-03-29T10:00:00+00:00'
    """
    if wall.tzinfo is not None and wall.utcoffset() is not None and wall.tzinfo is not zone:
        return wall.astimezone(UTC)
    naive = wall.replace(tzinfo=None)
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        later = second.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
        raise ScheduleError(
            f"{naive.isoformat()} does not exist in {zone} (clocks go forward); expected a "
            f"time outside the gap, such as {later.isoformat()}",
            field="time",
            code="nonexistent_time",
        )
    if first.utcoffset() != second.utcoffset():
        if wall.tzinfo is zone:
            return wall.astimezone(UTC)  # the fold says which occurrence
        raise ScheduleError(
            f"{naive.isoformat()} happens twice in {zone} (clocks go back); give fold=0 for "
            "the first or fold=1 for the second occurrence",
            field="time",
            code="ambiguous_time",
        )
    return first.astimezone(UTC)


def local_time(instant: datetime, zone: tzinfo) -> datetime:
    """The wall-clock time of a UTC instant in ``zone``, for display (§3.17)."""
    return _aware("instant", instant).astimezone(zone)


@dataclass(frozen=True, slots=True)
class TimingPolicy:
    """One council's timing values, by their catalogue names.

    ``vote_window`` is ``timing.vote_window`` (how long its vote is open),
    ``deliberation_window`` ``agenda.base_deliberation_window`` (time it needs between the
    item's publication and its instruction deadline) and ``instruction_deadline``
    ``mandate.instruction_deadline`` (how long before the higher vote opens its delegation's
    instruction is due).
    """

    vote_window: timedelta = timedelta(hours=72)
    deliberation_window: timedelta = timedelta(days=14)
    instruction_deadline: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        for name in ("vote_window", "deliberation_window", "instruction_deadline"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise ScheduleError(f"expected a duration ≥ 0, got {value!r}", field=name)
        if self.vote_window <= timedelta(0):
            raise ScheduleError("expected a vote window longer than 0", field="timing.vote_window")

    @classmethod
    def from_policy(cls, policy: Mapping[str, Any]) -> TimingPolicy:
        """Read a resolved policy (or a plain mapping of parameter name to value)."""

        def get(name: str, default: timedelta) -> timedelta:
            raw = policy.get(name, default)
            value = getattr(raw, "value", raw)
            return value if isinstance(value, timedelta) else default

        return cls(
            vote_window=get("timing.vote_window", timedelta(hours=72)),
            deliberation_window=get("agenda.base_deliberation_window", timedelta(days=14)),
            instruction_deadline=get("mandate.instruction_deadline", timedelta(hours=24)),
        )


@dataclass(frozen=True, slots=True)
class CouncilSchedule:
    """One council's vote window and, below the top, its instruction deadline."""

    council: str
    level: str
    opens_at: datetime
    closes_at: datetime
    instruction_deadline: datetime | None
    deliberation: timedelta
    needed: timedelta
    explanation: str

    def to_canonical(self) -> dict[str, Any]:
        return {
            "council": self.council,
            "level": self.level,
            "opens_at": self.opens_at,
            "closes_at": self.closes_at,
            "instruction_deadline": self.instruction_deadline,
            "deliberation": int(self.deliberation.total_seconds()),
            "needed": int(self.needed.total_seconds()),
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class Schedule:
    """Every council's window for one item, from the top down."""

    top: str
    published_at: datetime
    councils: Mapping[str, CouncilSchedule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "councils", MappingProxyType(dict(sorted(self.councils.items()))))

    def to_canonical(self) -> dict[str, Any]:
        return {"top": self.top, "published_at": self.published_at, "councils": dict(self.councils)}

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> Schedule:
        """The schedule back from its canonical form (instants as ISO text or datetimes),
        as a sending stores it: for instruction votes added to the same cascade later.

        >>> from konsilo import canonical
        >>> from konsilo.governance.graph import CouncilSpec
        >>> graph = CouncilGraph.build(levels=("assembly", "congress"), councils=[
        ...     CouncilSpec("congress", "congress"),
        ...     CouncilSpec("mill", "assembly", ("congress",))])
        >>> plan = cascade_deadlines(graph, top="congress",
        ...     published_at=datetime(2026, 12, 1, tzinfo=UTC),
        ...     opens_at=datetime(2026, 12, 20, tzinfo=UTC))
        >>> Schedule.from_canonical(canonical.loads(canonical.dumps(plan.to_canonical()))) == plan
        True
        """
        try:
            councils = {
                str(key): CouncilSchedule(
                    council=str(c["council"]),
                    level=str(c["level"]),
                    opens_at=_instant(c["opens_at"]),
                    closes_at=_instant(c["closes_at"]),
                    instruction_deadline=_instant(c["instruction_deadline"])
                    if c["instruction_deadline"] is not None
                    else None,
                    deliberation=timedelta(seconds=int(c["deliberation"])),
                    needed=timedelta(seconds=int(c["needed"])),
                    explanation=str(c["explanation"]),
                )
                for key, c in data["councils"].items()
            }
            return cls(str(data["top"]), _instant(data["published_at"]), councils)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ScheduleError(f"expected a schedule, got {exc}", field="schedule") from None


def cascade_deadlines(
    graph: CouncilGraph,
    *,
    top: str,
    published_at: datetime,
    opens_at: datetime,
    timing: Mapping[str, TimingPolicy] | None = None,
    default: TimingPolicy | None = None,
) -> Schedule:
    """Schedule an item sent from ``top`` to every council below it (module docstring).

    ``timing`` maps council keys to their :class:`TimingPolicy` (others use ``default``, the
    catalogue defaults). A council reached through several parents (a DAG) takes the
    earliest deadline of them. Refused with :class:`ScheduleError` (``code="too_little_time"``,
    ``field`` the council) when any council would deliberate less than its window, naming
    the council, its level and the shortfall; every council short of time is listed.
    """
    published = _aware("published_at", published_at)
    top_opens = _aware("opens_at", opens_at)
    policies = dict(timing or {})
    fallback = default or TimingPolicy()
    if top_opens < published:
        raise ScheduleError(
            f"the vote at {top} opens at {_iso(top_opens)}, before the item is published at "
            f"{_iso(published)}",
            field="opens_at",
            code="too_little_time",
        )

    def policy(key: str) -> TimingPolicy:
        return policies.get(key, fallback)

    top_policy = policy(top)
    out: dict[str, CouncilSchedule] = {
        top: CouncilSchedule(
            top,
            graph.level_of(top),
            top_opens,
            top_opens + top_policy.vote_window,
            None,
            top_opens - published,
            timedelta(0),
            f"{top} ({graph.level_of(top)}) votes from {_iso(top_opens)} to "
            f"{_iso(top_opens + top_policy.vote_window)}.",
        )
    }
    below = graph.descendants(top)
    problems: dict[str, str] = {}
    # Parents first: walk down from the top in reverse topological order.
    for key in reversed(graph.topological_order()):
        if key not in below:
            continue
        mine = policy(key)
        ups = [p for p in graph.parents(key) if p in out]
        deadline = min(out[p].opens_at for p in ups) - mine.instruction_deadline
        opens = deadline - mine.vote_window
        level = graph.level_of(key)
        have = deadline - published
        short = mine.deliberation_window - have
        if short > timedelta(0):
            problems[key] = (
                f"{key} ({level}) would have {_words(have)} between publication and its "
                f"instruction deadline {_iso(deadline)} but needs "
                f"{_words(mine.deliberation_window)}: {_words(short)} short"
            )
        elif opens < published:
            problems[key] = (
                f"{key} ({level}) would have to open its {_words(mine.vote_window)} vote at "
                f"{_iso(opens)}, before the item is published: {_words(published - opens)} short"
            )
        out[key] = CouncilSchedule(
            key,
            level,
            opens,
            deadline,
            deadline,
            have,
            mine.deliberation_window,
            f"{key} ({level}) votes from {_iso(opens)} to {_iso(deadline)}; its instruction "
            f"is due at {_iso(deadline)}, {_words(have)} after publication "
            f"({_words(mine.deliberation_window)} needed).",
        )
    if problems:
        raise ScheduleError(
            f"cannot schedule the item sent from {top} with its vote opening at "
            f"{_iso(top_opens)}: "
            + "; ".join(problems[k] for k in sorted(problems))
            + ". Open the vote later or shorten "
            "the windows by a policy decision.",
            field=f"councils.{min(problems)}",
            code="too_little_time",
        )
    return Schedule(top, published, out)
