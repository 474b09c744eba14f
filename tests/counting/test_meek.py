"""Meek STV: the stv-rs / Droop.py transcripts reproduced round by round, and invariants."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from konsilo.counting.blt import read_blt
from konsilo.counting.meek import MeekError, _Equal, _Equalized, count
from konsilo.counting.profile import RankedProfile
from konsilo.counting.result import Result

# The public conformance data sits beside the repository (../shared/conformance);
# KONSILO_CONFORMANCE points elsewhere, e.g. from a worktree.
SHARED = Path(
    os.environ.get(
        "KONSILO_CONFORMANCE", Path(__file__).parents[2].parent / "shared" / "conformance"
    )
)
TESTDATA = SHARED / "stv-rs" / "testdata"
MEEK = TESTDATA / "meek"
PRESENT = MEEK.is_dir()
NO_DATA = "../shared/conformance/stv-rs is not present"


# -- reading the transcripts ----------------------------------------------------------------


@dataclass
class LogRound:
    elected: list[str] = field(default_factory=list)
    defeated: list[str] = field(default_factory=list)
    tallies: dict[str, Fraction] | None = None
    stats: dict[str, Fraction] = field(default_factory=dict)
    status: str = ""
    tie: tuple[list[str], str] | None = None


@dataclass
class Log:
    seats: int
    ballots: int
    rounds: list[LogRound]
    remaining_elected: list[str]
    remaining_defeated: list[str]
    final_tallies: dict[str, Fraction]
    final_stats: dict[str, Fraction]


def _value(text: str) -> Fraction:
    return Fraction(Decimal(text))


_CAND = re.compile(r"^\t(Elected|Hopeful|Defeated): +(.*) \((-?[0-9.]+)\)$")
_STAT = re.compile(r"^\t(Quota|Votes|Residual|Total|Surplus): (-?[0-9.]+)$")


def parse_log(text: str) -> Log:
    """Read a Droop-compatible transcript: per round its elections, defeat, counts, stats."""
    lines = text.split("\n")
    seats = int(re.search(r"\tSeats: (\d+)", text).group(1))  # type: ignore[union-attr]
    ballots = int(re.search(r"\tBallots: (\d+)", text).group(1))  # type: ignore[union-attr]
    rounds: list[LogRound] = []
    current: LogRound | None = None
    remaining_elected: list[str] = []
    remaining_defeated: list[str] = []
    final_tallies: dict[str, Fraction] = {}
    final_stats: dict[str, Fraction] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if re.fullmatch(r"Round \d+:", line):
            current = LogRound()
            rounds.append(current)
            continue
        if not line.startswith("Action: "):
            continue
        action = line[len("Action: ") :]
        tallies: dict[str, Fraction] = {}
        stats: dict[str, Fraction] = {}
        full = False
        while i < len(lines) and lines[i].startswith("\t"):
            body = lines[i]
            i += 1
            if m := _CAND.match(body):
                full = True
                value = _value(m.group(3))
                for name in m.group(2).split(", ") if m.group(1) == "Defeated" else [m.group(2)]:
                    tallies[name] = value
            elif m := _STAT.match(body):
                stats[m.group(1)] = _value(m.group(2))
        if action == "Count Complete":
            final_tallies, final_stats = tallies, stats
        elif action.startswith("Elect remaining: "):
            remaining_elected.append(action.split(": ", 1)[1])
        elif action.startswith("Defeat remaining: "):
            remaining_defeated.append(action.split(": ", 1)[1])
        elif current is not None:
            if action.startswith("Elect: "):
                current.elected.append(action.split(": ", 1)[1])
            elif action.startswith("Defeat ("):
                current.defeated.append(action.rsplit("): ", 1)[1])
            elif action.startswith("Iterate ("):
                current.status = action[len("Iterate (") : -1]
                current.stats = stats
            elif action.startswith("Break tie (defeat): "):
                m = re.fullmatch(r"Break tie \(defeat\): \[(.*)\] -> (.*)", action)
                assert m is not None
                current.tie = (m.group(1).split(", "), m.group(2))
            if full and current.tallies is None:
                current.tallies = tallies
    return Log(
        seats,
        ballots,
        rounds,
        remaining_elected,
        remaining_defeated,
        final_tallies,
        final_stats,
    )


# -- which transcript needs which input and options ------------------------------------------


@dataclass(frozen=True)
class Case:
    log: Path
    blt: Path
    options: tuple[tuple[str, object], ...]

    @property
    def id(self) -> str:
        return str(self.log.relative_to(MEEK))


def _case(log: Path) -> Case:
    rel = log.relative_to(MEEK)
    name = rel.name
    stem = name.partition(".")[0]
    folder = rel.parent
    options: dict[str, object] = {"equal_rankings": "droop"}
    if ".equalize." in name:
        options["equal_rankings"] = "equalize"
    if name.endswith(".bigfixed9.log"):
        options["arithmetic"] = "bigfixed"
    # stv-rs's integration workflow counts the crash files and force_positive_surplus.log
    # with --force-positive-surplus, the others with its defaults.
    if folder.name == "crashes" or stem == "force_positive_surplus":
        options["positive_surplus"] = True
    if stem == "force_positive_surplus":
        stem = "below_quota"
    blt = TESTDATA / "ballots" / folder / f"{stem}.blt"
    return Case(log, blt, tuple(sorted(options.items())))


def _err_is_empty(log: Path) -> bool:
    err = log.with_suffix(".err")
    return not err.exists() or not err.read_text().strip()


LOGS = (
    [
        _case(p)
        for p in sorted(MEEK.glob("**/*.log"))
        if p.name.endswith((".fixed9.log", ".bigfixed9.log")) and _err_is_empty(p)
    ]
    if PRESENT
    else []
)
REFUSED = (
    [_case(p.with_suffix(".log")) for p in sorted(MEEK.glob("**/*.fixed9.err"))] if PRESENT else []
)


def _count(case: Case) -> tuple[Result, Log]:
    if not case.blt.exists():
        pytest.skip(f"{case.blt.name} is not in the conformance folder (stv-rs generates it)")
    election = read_blt(case.blt.read_text())
    log = parse_log(case.log.read_text())
    tie_order = election.tie_order or election.profile.candidates
    result = count(
        election.profile,
        seats=election.seats,
        tie_order=tie_order,
        equal_order=election.equal_order,
        **dict(case.options),  # type: ignore[arg-type]
    )
    return result, log


@pytest.mark.skipif(not PRESENT, reason=NO_DATA)
@pytest.mark.parametrize("case", LOGS, ids=lambda c: c.id)
def test_meek_reproduces_the_transcript_round_by_round(case: Case) -> None:
    result, log = _count(case)
    assert result.details["total"] == log.ballots
    rounds = result.rounds
    assert len(rounds) >= len(log.rounds)
    for number, (mine, theirs) in enumerate(zip(rounds, log.rounds, strict=False), start=1):
        where = f"round {number}"
        assert list(mine.elected) == theirs.elected, where
        assert list(mine.excluded) == theirs.defeated, where
        assert mine.extra["status"] == theirs.status, where
        assert mine.threshold == theirs.stats["Quota"], where
        assert mine.exhausted == theirs.stats["Residual"], where
        assert mine.extra["surplus"] == theirs.stats["Surplus"], where
        assert sum(mine.tallies.values()) == theirs.stats["Votes"], where
        assert dict(mine.tallies) == theirs.tallies, where
        if theirs.tie is not None:
            assert theirs.tie[1] in mine.excluded, where
            for name in theirs.tie[0]:
                assert name in mine.explanation, where
    extra = rounds[len(log.rounds) :]
    if log.remaining_elected or log.remaining_defeated:
        assert len(extra) == 1
        final = extra[0]
        assert list(final.elected) == log.remaining_elected
        assert list(final.excluded) == log.remaining_defeated
    else:
        assert not extra
        final = rounds[-1]
    assert dict(final.tallies) == log.final_tallies
    assert final.exhausted == log.final_stats["Residual"]
    assert final.threshold == log.final_stats["Quota"]
    assert set(result.winners) == {name for r in log.rounds for name in r.elected} | set(
        log.remaining_elected
    )


@pytest.mark.skipif(not PRESENT, reason=NO_DATA)
@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_meek_refuses_what_the_reference_cannot_count_in_64_bits(case: Case) -> None:
    election = read_blt(case.blt.read_text())
    with pytest.raises(MeekError, match="64-bit fixed point"):
        count(election.profile, seats=election.seats, **dict(case.options))  # type: ignore[arg-type]


# -- behaviour ------------------------------------------------------------------------------


def test_equal_rankings_are_refused_unless_a_rule_is_chosen() -> None:
    p = RankedProfile.from_rankings(["A", "B", "C"], [[{"A", "B"}, "C"], ["C"]])
    with pytest.raises(MeekError, match="ranks A = B equally"):
        count(p, seats=1)
    assert count(p, seats=1, equal_rankings="equalize", seed="s").winners == ("C",)


def test_ties_for_exclusion_look_back_then_draw_by_lot() -> None:
    # B and C are level in every round: the exclusion is drawn by lot and recorded.
    p = RankedProfile.from_rankings(["A", "B", "C"], [["A"]] * 3)
    r = count(p, seats=2, seed="public seed")
    draws = r.draws
    assert len(draws) == 1
    assert set(draws[0].among) == {"B", "C"}
    assert r.rounds[-2].excluded == (draws[0].chosen,)
    assert count(p, seats=2, seed="public seed").to_json() == r.to_json()


def test_a_tie_order_settles_ties_without_a_draw() -> None:
    p = RankedProfile.from_rankings(["A", "B", "C"], [["A"]] * 3)
    r = count(p, seats=2, tie_order=["C", "B", "A"])
    assert not r.draws
    assert "C" in r.rounds[-2].excluded


def test_bad_parameters_name_the_field() -> None:
    p = RankedProfile.from_rankings(["A", "B"], [["A"]])
    with pytest.raises(MeekError, match=r"^seats"):
        count(p, seats=0)
    with pytest.raises(MeekError, match=r"^omega"):
        count(p, seats=1, omega=12)
    half = RankedProfile.from_rankings(["A", "B"], [["A"]], [Fraction(1, 2)])
    with pytest.raises(MeekError, match="whole-number"):
        count(half, seats=1)


def test_withdrawn_candidates_are_skipped_and_their_only_ballots_not_counted() -> None:
    p = RankedProfile.from_rankings(
        ["A", "B", "C"], [["B", "A"]] * 2 + [["B"]] * 5 + [["C"]], withdrawn=["B"]
    )
    r = count(p, seats=1)
    assert r.details["total"] == 3
    assert "B" not in r.rounds[0].tallies
    assert r.winners == ("A",)


# -- invariants -----------------------------------------------------------------------------

NAMES = ("A", "B", "C", "D", "E")
ballot = st.permutations(NAMES).flatmap(lambda p: st.integers(1, 5).map(lambda k: list(p[:k])))
ballots = st.lists(ballot, min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(ballots=ballots, seats=st.integers(1, 3), shuffle=st.randoms(use_true_random=False))
def test_ballot_order_is_irrelevant(ballots: list[list[str]], seats: int, shuffle: object) -> None:
    shuffled = list(ballots)
    shuffle.shuffle(shuffled)  # type: ignore[attr-defined]
    a = count(RankedProfile.from_rankings(NAMES, ballots), seats=seats, seed="s")
    b = count(RankedProfile.from_rankings(NAMES, shuffled), seats=seats, seed="s")
    assert a.to_json() == b.to_json()


@settings(max_examples=40, deadline=None)
@given(ballots=ballots)
def test_one_seat_meek_elects_a_majority_winner(ballots: list[list[str]]) -> None:
    firsts = [b[0] for b in ballots]
    leader = max(NAMES, key=firsts.count)
    r = count(RankedProfile.from_rankings(NAMES, ballots), seats=1, seed="s")
    if 2 * firsts.count(leader) > len(ballots):
        assert r.winners == (leader,)


@settings(max_examples=40, deadline=None)
@given(
    ballots=ballots,
    weights=st.lists(st.integers(1, 1000), min_size=30, max_size=30),
    seats=st.integers(1, 3),
)
def test_tallies_and_exhausted_weight_add_up_to_the_total(
    ballots: list[list[str]], weights: list[int], seats: int
) -> None:
    p = RankedProfile.from_rankings(NAMES, ballots, weights[: len(ballots)])
    r = count(p, seats=seats, seed="s")
    for rd in r.rounds:
        assert sum(rd.tallies.values()) + rd.exhausted == p.num_ballots
        assert rd.exhausted >= 0
        # Every tally is a whole number of units of the ninth decimal place.
        assert all(10**9 % v.denominator == 0 for v in rd.tallies.values())
    assert len(r.winners) == min(seats, len(NAMES))


groups = st.lists(
    st.lists(st.integers(0, 7), min_size=1, max_size=5, unique=True), min_size=1, max_size=4
)


@settings(max_examples=40, deadline=None)
@given(
    ballots=st.lists(groups, min_size=1, max_size=8),
    keep=st.lists(
        st.one_of(st.just(0), st.just(10**9), st.integers(0, 10**9)), min_size=8, max_size=8
    ),
)
def test_equalised_counting_in_arrays_matches_one_ballot_at_a_time(
    ballots: list[list[list[int]]], keep: list[int]
) -> None:
    """The numpy count of equal-ranking ballots gives the reference's sums to the unit."""
    rankings = []
    for ballot in ballots:
        seen: set[int] = set()
        ranking = []
        for group in ballot:
            fresh = tuple(c for c in group if c not in seen)
            seen.update(fresh)
            if fresh:
                ranking.append(fresh)
        rankings.append(tuple(ranking))
    weights = list(range(1, len(rankings) + 1))
    reference = _Equal(rankings, weights).tally(keep, 10**9, 8)
    arrays = _Equalized(rankings, weights, 8, np.int64).tally(np.array(keep), 10**9)
    assert [int(x) for x in arrays.tolist()] == reference


def test_an_exclusion_after_a_negative_total_surplus_is_not_a_crash() -> None:
    """A million skewed (Plackett–Luce) rankings of 30 candidates: after truncation the elected
    candidates sit a little under the quota, the total surplus is below zero when the next
    exclusion comes, and the lowest candidate is still excluded (no empty tie)."""
    rng = np.random.default_rng([2026, 30, 1_000_000, True])
    keys = -(np.log(0.8) * np.arange(30) + rng.gumbel(size=(1_000_000, 30)))
    rankings = np.argsort(keys, axis=1).astype(np.uint8)
    names = [f"C{i:02d}" for i in range(30)]
    result = count(RankedProfile.from_indices(names, rankings), seats=5, seed="bench")
    assert result.winners == ("C00", "C01", "C02", "C03", "C04")
    assert any(r.excluded for r in result.rounds)
