"""konsilo against the peer engines, on random profiles where their rules coincide.

Each test is skipped, naming the package, when that peer is not installed
(``pip install .[peers]``). Where the rules coincide, and why:

* Schulze: every ballot here ranks every candidate strictly, so ``d[x][y] + d[y][x]`` is the
  number of voters for every pair and winning votes, margins and ratios order the links
  alike; pref_voting's ``beat_path`` (margins) must then give exactly konsilo's potential
  winners, and svvamp's ``RuleSchulze`` (which breaks ties towards the lower index) one of
  them, and the same one when there is a single winner.
* IRV: the peers differ from konsilo only in how they break a tie for exclusion
  (pref_voting excludes all the tied, svvamp the highest index, pyrankvote by second
  choices, konsilo by looking back then by lot), so profiles where the last candidate is tied
  in some round are left out; on all others every rule excludes the same candidate in every
  round and elects the same winner.
* WIGM and Scottish STV against pref_voting's ``stv_wig`` and ``stv_scottish`` (1 to 3
  seats): both transfer every ballot of a surplus at a reduced value (weighted inclusive
  Gregory), the Scottish one truncated to 5 decimals, both exclude the candidate with the
  fewest votes. pref_voting works in floats and elects at "tally ≥ quota", which is
  Scottish STV's rule 46 but not WIGM's: konsilo's WIGM elects on exceeding the exact Droop
  quota ``N / (seats + 1)``, so WIGM profiles where a candidate not yet elected has exactly
  the quota are left out; pref_voting transfers a surplus from the ballot's current value,
  which is the statute's "value when received" whenever each surplus is transferred once,
  as in every random profile here. Ties for exclusion are left out as for IRV.
* Method of Equal Shares (cost utilities, no completion): pabutools' ``method_of_equal_shares``
  follows the same definition; it breaks a tie in effective vote count by name, konsilo by
  approvals first, so instances with such a tie are left out.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from konsilo.counting import schulze
from konsilo.counting.methods import count_by_name
from konsilo.counting.profile import RankedProfile
from konsilo.counting.result import Result

CASES = 150


def _peer(name: str) -> Any:
    return pytest.importorskip(
        name, reason=f"{name} (a peer engine: pip install '.[peers]') is not installed"
    )


def _complete_profile(rng: random.Random) -> tuple[list[str], list[list[int]], list[int]]:
    n = rng.randint(3, 6)
    names = [f"c{i}" for i in range(n)]
    rows = [rng.sample(range(n), n) for _ in range(rng.randint(2, 12))]
    counts = [rng.randint(1, 9) for _ in rows]
    return names, rows, counts


def _expanded(rows: list[list[int]], counts: list[int]) -> list[list[int]]:
    return [row for row, count in zip(rows, counts, strict=True) for _ in range(count)]


def _no_tie_for_exclusion(result: Result) -> bool:
    """True when every exclusion was of a candidate alone with the fewest votes.

    A round's tallies may be taken before or after its transfers, so the excluded candidate
    must be strictly last among the continuing candidates both in that round and in the one
    before; and no lot may have been drawn.
    """
    out: set[str] = set()
    previous: Any = None
    for round_ in result.rounds:
        if round_.draws:
            return False
        for loser in round_.excluded:
            for tallies in (previous, round_.tallies):
                if tallies is None or loser not in tallies:
                    continue
                others = [v for c, v in tallies.items() if c != loser and c not in out]
                if any(v <= tallies[loser] for v in others):
                    return False
        out.update(round_.elected, round_.excluded)
        previous = round_.tallies
    return True


def _no_hopeful_at_quota(result: Result) -> bool:
    """True when no candidate not yet elected ever has exactly the quota (≥ and > differ)."""
    elected: set[str] = set()
    for round_ in result.rounds:
        if any(c not in elected and v == round_.threshold for c, v in round_.tallies.items()):
            return False
        elected.update(round_.elected)
    return True


def test_schulze_agrees_with_pref_voting_beat_path() -> None:
    profiles = _peer("pref_voting.profiles")
    margin = _peer("pref_voting.margin_based_methods")
    rng = random.Random(7)
    for _ in range(CASES):
        names, rows, counts = _complete_profile(rng)
        ours = schulze.count(RankedProfile.from_indices(names, rows, counts))
        potential = set(ours.details["potential_winners"])
        peer = margin.beat_path(profiles.Profile(rows, rcounts=counts))
        assert {names[w] for w in peer} == potential, (rows, counts)


def test_schulze_agrees_with_svvamp() -> None:
    svvamp = _peer("svvamp")
    rng = random.Random(8)
    for _ in range(CASES):
        names, rows, counts = _complete_profile(rng)
        ours = schulze.count(RankedProfile.from_indices(names, rows, counts))
        potential = set(ours.details["potential_winners"])
        peer = svvamp.RuleSchulze()(
            svvamp.Profile(preferences_rk=np.array(_expanded(rows, counts)))
        )
        assert names[int(peer.w_)] in potential, (rows, counts)
        if len(potential) == 1:
            assert ours.winners == (names[int(peer.w_)],)


def _irv_cases(seed: int) -> list[tuple[list[str], list[list[int]], list[int], Result]]:
    irv = pytest.importorskip("konsilo.counting.irv")
    rng = random.Random(seed)
    cases = []
    while len(cases) < CASES // 2:
        names, rows, counts = _complete_profile(rng)
        ours = irv.count(RankedProfile.from_indices(names, rows, counts), seed="crosscheck")
        if _no_tie_for_exclusion(ours):
            cases.append((names, rows, counts, ours))
    return cases


def test_irv_agrees_with_pref_voting() -> None:
    profiles = _peer("pref_voting.profiles")
    iterative = _peer("pref_voting.iterative_methods")
    for names, rows, counts, ours in _irv_cases(11):
        peer = iterative.instant_runoff(profiles.Profile(rows, rcounts=counts))
        assert tuple(names[w] for w in peer) == ours.winners, (rows, counts)


def test_irv_agrees_with_svvamp() -> None:
    svvamp = _peer("svvamp")
    for names, rows, counts, ours in _irv_cases(12):
        peer = svvamp.RuleIRV()(svvamp.Profile(preferences_rk=np.array(_expanded(rows, counts))))
        assert (names[int(peer.w_)],) == ours.winners, (rows, counts)


def test_irv_agrees_with_pyrankvote() -> None:
    pyrankvote = _peer("pyrankvote")
    for names, rows, counts, ours in _irv_cases(13):
        people = [pyrankvote.Candidate(n) for n in names]
        ballots = [
            pyrankvote.Ballot(ranked_candidates=[people[c] for c in row])
            for row in _expanded(rows, counts)
        ]
        peer = pyrankvote.instant_runoff_voting(people, ballots)
        assert tuple(c.name for c in peer.get_winners()) == ours.winners, (rows, counts)


@pytest.mark.parametrize(
    ("rule", "peer_method"), [("wigm", "stv_wig"), ("scottish", "stv_scottish")]
)
def test_stv_agrees_with_pref_voting(rule: str, peer_method: str) -> None:
    stv = pytest.importorskip("konsilo.counting.stv")
    profiles = _peer("pref_voting.profiles")
    proportional = _peer("pref_voting.proportional_methods")
    rng = random.Random(16)
    compared = 0
    for _ in range(CASES):
        names, rows, counts = _complete_profile(rng)
        seats = rng.randint(1, min(3, len(names) - 1))
        ours = stv.count(
            RankedProfile.from_indices(names, rows, counts), seats=seats, rule=rule, seed="x"
        )
        if not _no_tie_for_exclusion(ours) or (rule == "wigm" and not _no_hopeful_at_quota(ours)):
            continue
        peer = getattr(proportional, peer_method)(
            profiles.Profile(rows, rcounts=counts), num_seats=seats
        )
        assert sorted(names[w] for w in peer) == sorted(ours.winners), (rows, counts, seats)
        compared += 1
    assert compared > CASES // 2


def test_equal_shares_agrees_with_pabutools() -> None:
    election = _peer("pabutools.election")
    rules = _peer("pabutools.rules")
    rng = random.Random(15)
    compared = 0
    for _ in range(CASES):
        names = [f"p{i}" for i in range(rng.randint(3, 7))]
        costs = {n: Fraction(rng.randint(1, 60)) for n in names}
        budget = Fraction(rng.randint(20, 150))
        voters = [[n for n in names if rng.random() < 0.4] for _ in range(rng.randint(3, 25))]
        ballots = {
            "candidates": names,
            "ballots": [{"scores": dict.fromkeys(v, 1), "weight": 1} for v in voters],
        }
        ours = count_by_name(
            "equal_shares",
            ballots,
            projects=costs,
            budget=budget,
            completion="none",
            greedy_completion=False,
        )
        if any("tied with" in r.explanation for r in ours.rounds):
            continue
        projects = {n: election.Project(n, costs[n]) for n in names}
        instance = election.Instance(projects.values(), budget_limit=budget)
        profile = election.ApprovalProfile(
            [election.ApprovalBallot({projects[n] for n in v}) for v in voters], instance=instance
        )
        peer = rules.method_of_equal_shares(instance, profile, sat_class=election.Cost_Sat)
        assert sorted(ours.winners) == sorted(p.name for p in peer), (costs, budget, voters)
        compared += 1
    assert compared > CASES // 2
