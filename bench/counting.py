"""Benchmark konsilo's counting against the peer engines on the same generated ballots.

Profiles: impartial culture (every ranking equally likely) and a skewed Plackett–Luce profile
(candidate i has weight 0.8**i), over 10 and 30 candidates, with 10k, 100k and 1M ballots;
every ballot ranks every candidate, so that every peer can read it. For each method, each
engine runs in its own process: the process builds the same in-memory list of rankings (a
list of lists of candidate indices, from a fixed seed), then the clock starts, the engine
builds its own profile from that list and counts it, and the clock stops. The process reports
its time, its winners and its peak RSS (``ru_maxrss``, which includes the list itself). A
peer that takes longer than ``--timeout`` seconds is stopped and shown as ``timeout``.

Peers (``pip install .[peers]``): pref_voting (IRV, Schulze, Scottish STV, WIG STV, Meek),
votekit (IRV, fractional STV), pyrankvote (IRV, STV), pyrcv (IRV, STV), svvamp (IRV, Schulze),
pabutools (Method of Equal Shares, on approval ballots: each voter approves their first
three). A peer that is not installed is shown as ``missing``.

Floors, checked at 1M ballots over 30 candidates in the same run (PASS/FAIL):
IRV and Schulze at least 3x faster than svvamp; Scottish STV and WIGM (5 seats) at least 10x
faster than the fastest peer STV (any variant); Meek (5 seats) under 10 s; every konsilo
engine under 2 GB peak RSS. ``--cli`` also times ``konsilo count`` as a whole process on a
generated 1M-ballot BLT file for every method (floor: under 10 s each).

    PYTHONPATH=src python3 bench/counting.py --sizes 10k            # a quick check
    PYTHONPATH=src python3 bench/counting.py --sizes 1m --candidates 30 --cli
    PYTHONPATH=src python3 bench/counting.py                         # everything (long)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SEATS = 5
APPROVED = 3  # approval ballots for budgets: each voter approves their first three
FLOOR_SIZE, FLOOR_CANDIDATES = 1_000_000, 30


# -- profiles -------------------------------------------------------------------------------


def generate(culture: str, candidates: int, ballots: int, seed: int = 2026) -> np.ndarray:
    """Complete rankings (ballots x candidates, candidate indices, most preferred first)."""
    rng = np.random.default_rng([seed, candidates, ballots, culture == "pl"])
    if culture == "ic":
        keys = rng.random((ballots, candidates))
    elif culture == "pl":
        # Plackett–Luce by the Gumbel trick: sorting log-weights plus Gumbel noise draws a
        # ranking with probability prod w_r(k) / sum of the weights still unranked.
        log_weights = np.log(0.8) * np.arange(candidates)
        keys = -(log_weights + rng.gumbel(size=(ballots, candidates)))
    else:
        raise ValueError(f"culture: expected ic or pl, got {culture!r}")
    return np.argsort(keys, axis=1).astype(np.int32)


def names(candidates: int) -> list[str]:
    return [f"C{i:02d}" for i in range(candidates)]


def costs(candidates: int) -> dict[str, int]:
    """Project costs for the budget methods: 10 to 100, cycling, so several fit."""
    return {name: 10 + (i * 37) % 91 for i, name in enumerate(names(candidates))}


def budget_limit(candidates: int) -> int:
    return sum(costs(candidates).values()) // 3


# -- engines: each builds its own profile from the list of rankings -------------------------


def matrix(rankings: list[list[int]]) -> np.ndarray:
    """The list of rankings as a numpy matrix, for every engine that works on arrays.

    A ``bytearray`` filled from the chained rows copies small ints in C, several times
    faster than ``np.asarray`` on a list of lists; rankings with more than 255 candidates or
    of unequal lengths take ``np.asarray``.
    """
    width = len(rankings[0]) if rankings else 0
    try:
        raw = bytearray(chain.from_iterable(rankings))
    except ValueError:
        raw = bytearray()
    if rankings and len(raw) == width * len(rankings):
        return np.frombuffer(raw, dtype=np.uint8).reshape(len(rankings), width)
    return np.asarray(rankings, dtype=np.int32)


def _konsilo_profile(rankings: list[list[int]], candidates: int) -> Any:
    from konsilo.counting.profile import RankedProfile

    from_indices = getattr(RankedProfile, "from_indices", None)
    if from_indices is not None:
        return from_indices(names(candidates), matrix(rankings))
    grouped = Counter(tuple((c,) for c in r) for r in rankings)
    return RankedProfile.from_grouped(names(candidates), grouped)


def konsilo_irv(rankings: list[list[int]], candidates: int) -> list[str]:
    from konsilo.counting import irv

    return list(irv.count(_konsilo_profile(rankings, candidates), seed="bench").winners)


def konsilo_schulze(rankings: list[list[int]], candidates: int) -> list[str]:
    from konsilo.counting import schulze

    return list(schulze.count_arrays(names(candidates), matrix(rankings)).winners)


def _konsilo_stv(rule: str) -> Callable[[list[list[int]], int], list[str]]:
    def run(rankings: list[list[int]], candidates: int) -> list[str]:
        from konsilo.counting import stv

        profile = _konsilo_profile(rankings, candidates)
        return list(stv.count(profile, seats=SEATS, rule=rule, seed="bench").winners)

    return run


def konsilo_meek(rankings: list[list[int]], candidates: int) -> list[str]:
    from konsilo.counting import meek

    profile = _konsilo_profile(rankings, candidates)
    return list(meek.count(profile, seats=SEATS, seed="bench").winners)


def _approvals(rankings: list[list[int]], candidates: int) -> list[frozenset[str]]:
    labels = names(candidates)
    return [frozenset(labels[c] for c in r[:APPROVED]) for r in rankings]


def konsilo_mes(rankings: list[list[int]], candidates: int) -> list[str]:
    from konsilo.counting import budget

    result = budget.equal_shares(
        _approvals(rankings, candidates),
        projects=costs(candidates),
        budget=budget_limit(candidates),
        completion="none",
        greedy_completion=False,
    )
    return sorted(result.winners)


def _unique(rankings: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    rows, counts = np.unique(matrix(rankings), axis=0, return_counts=True)
    return rows.astype(np.int64), counts


def pref_voting_profile(rankings: list[list[int]]) -> Any:
    from pref_voting.profiles import Profile

    rows, counts = _unique(rankings)
    return Profile(rows.tolist(), rcounts=counts.tolist())


def _pv_names(winners: Sequence[int], candidates: int) -> list[str]:
    labels = names(candidates)
    return sorted(labels[int(w)] for w in winners)


def pref_voting_irv(rankings: list[list[int]], candidates: int) -> list[str]:
    from pref_voting.iterative_methods import instant_runoff

    return _pv_names(instant_runoff(pref_voting_profile(rankings)), candidates)


def pref_voting_schulze(rankings: list[list[int]], candidates: int) -> list[str]:
    from pref_voting.margin_based_methods import beat_path

    return _pv_names(beat_path(pref_voting_profile(rankings)), candidates)


def _pref_voting_stv(name: str) -> Callable[[list[list[int]], int], list[str]]:
    def run(rankings: list[list[int]], candidates: int) -> list[str]:
        from pref_voting import proportional_methods

        method = getattr(proportional_methods, name)
        return _pv_names(method(pref_voting_profile(rankings), num_seats=SEATS), candidates)

    return run


def _votekit_profile(rankings: list[list[int]], candidates: int) -> Any:
    from votekit import RankBallot, RankProfile

    labels = names(candidates)
    rows, counts = _unique(rankings)
    ballots = [
        RankBallot(ranking=[{labels[c]} for c in row], weight=int(n))
        for row, n in zip(rows.tolist(), counts.tolist(), strict=True)
    ]
    return RankProfile(ballots=ballots, candidates=labels)


def _votekit_winners(election: Any) -> list[str]:
    return sorted(c for group in election.get_elected() for c in group)


def votekit_irv(rankings: list[list[int]], candidates: int) -> list[str]:
    from votekit.elections import IRV

    return _votekit_winners(IRV(_votekit_profile(rankings, candidates)))


def votekit_stv(rankings: list[list[int]], candidates: int) -> list[str]:
    from votekit.elections import STV

    return _votekit_winners(STV(_votekit_profile(rankings, candidates), n_seats=SEATS))


def _pyrankvote(seats: int) -> Callable[[list[list[int]], int], list[str]]:
    def run(rankings: list[list[int]], candidates: int) -> list[str]:
        import pyrankvote

        people = [pyrankvote.Candidate(n) for n in names(candidates)]
        ballots = [pyrankvote.Ballot(ranked_candidates=[people[c] for c in r]) for r in rankings]
        if seats == 1:
            result = pyrankvote.instant_runoff_voting(people, ballots)
        else:
            result = pyrankvote.single_transferable_vote(people, ballots, number_of_seats=seats)
        return sorted(c.name for c in result.get_winners())

    return run


def _pyrcv(seats: int) -> Callable[[list[list[int]], int], list[str]]:
    def run(rankings: list[list[int]], candidates: int) -> list[str]:
        import pyrcv

        rows, counts = _unique(rankings)
        meta = pyrcv.RaceMetadata("bench", seats, names(candidates))
        data = pyrcv.RaceData(meta, (rows + 1).tolist(), counts.tolist())
        result = pyrcv.run_rcv(data)
        labels = names(candidates)
        return sorted(labels[i - 1] for r in result.rounds for i in r.elected)

    return run


def _svvamp(rule: str) -> Callable[[list[list[int]], int], list[str]]:
    def run(rankings: list[list[int]], candidates: int) -> list[str]:
        import svvamp

        profile = svvamp.Profile(preferences_rk=matrix(rankings).astype(np.int64))
        winner = getattr(svvamp, rule)()(profile).w_
        return [names(candidates)[int(winner)]]

    return run


def pabutools_mes(rankings: list[list[int]], candidates: int) -> list[str]:
    from pabutools import election, rules

    projects = {n: election.Project(n, c) for n, c in costs(candidates).items()}
    instance = election.Instance(projects.values(), budget_limit=budget_limit(candidates))
    grouped = Counter(_approvals(rankings, candidates))
    profile = election.ApprovalMultiProfile(instance=instance)
    for approved, count in grouped.items():
        ballot = election.FrozenApprovalBallot({projects[n] for n in approved})
        profile[ballot] = count
    chosen = rules.method_of_equal_shares(instance, profile, sat_class=election.Cost_Sat)
    return sorted(p.name for p in chosen)


@dataclass(frozen=True)
class Method:
    name: str
    konsilo: Callable[[list[list[int]], int], list[str]]
    peers: dict[str, Callable[[list[list[int]], int], list[str]]]
    cli: list[str]
    peer_group: str = ""  # methods with the same group share the peers' runs


METHODS = [
    Method(
        "irv",
        konsilo_irv,
        {
            "pref_voting": pref_voting_irv,
            "votekit": votekit_irv,
            "pyrankvote": _pyrankvote(1),
            "pyrcv": _pyrcv(1),
            "svvamp": _svvamp("RuleIRV"),
        },
        ["--method", "irv"],
    ),
    Method(
        "schulze",
        konsilo_schulze,
        {"pref_voting": pref_voting_schulze, "svvamp": _svvamp("RuleSchulze")},
        ["--method", "schulze"],
    ),
    Method(
        "stv_scottish",
        _konsilo_stv("scottish"),
        {
            "pref_voting:scottish": _pref_voting_stv("stv_scottish"),
            "pref_voting:wig": _pref_voting_stv("stv_wig"),
            "votekit": votekit_stv,
            "pyrankvote": _pyrankvote(SEATS),
            "pyrcv": _pyrcv(SEATS),
        },
        ["--method", "stv", "--rule", "scottish", "--seats", str(SEATS)],
        "stv",
    ),
    Method(
        "stv_wigm",
        _konsilo_stv("wigm"),
        {
            "pref_voting:scottish": _pref_voting_stv("stv_scottish"),
            "pref_voting:wig": _pref_voting_stv("stv_wig"),
            "votekit": votekit_stv,
            "pyrankvote": _pyrankvote(SEATS),
            "pyrcv": _pyrcv(SEATS),
        },
        ["--method", "stv", "--rule", "wigm", "--seats", str(SEATS)],
        "stv",
    ),
    Method(
        "meek",
        konsilo_meek,
        {"pref_voting:meek": _pref_voting_stv("stv_meek")},
        ["--method", "meek", "--seats", str(SEATS)],
    ),
    Method(
        "equal_shares",
        konsilo_mes,
        {"pabutools": pabutools_mes},
        [],
    ),
]
BY_NAME = {m.name: m for m in METHODS}

# Whole-process `konsilo count` runs on the 1M-ballot BLT file (every method that can read it).
CLI_RUNS = {
    "irv": ["--method", "irv"],
    "stv scottish": ["--method", "stv", "--rule", "scottish", "--seats", str(SEATS)],
    "stv wigm": ["--method", "stv", "--rule", "wigm", "--seats", str(SEATS)],
    "meek": ["--method", "meek", "--seats", str(SEATS)],
    "schulze": ["--method", "schulze"],
    "plurality": ["--method", "plurality", "--seats", "1"],
    "approval": ["--method", "approval", "--seats", "1"],
}


# -- one engine in its own process ----------------------------------------------------------


# Imported before the clock starts: an engine's import time is not counting time.
IMPORTS = {
    "konsilo": ["konsilo.counting.profile", "konsilo.counting.result", "konsilo.counting.{m}"],
    "pref_voting": [
        "pref_voting.profiles",
        "pref_voting.iterative_methods",
        "pref_voting.margin_based_methods",
        "pref_voting.proportional_methods",
    ],
    "votekit": ["votekit", "votekit.elections"],
    "pyrankvote": ["pyrankvote"],
    "pyrcv": ["pyrcv"],
    "svvamp": ["svvamp"],
    "pabutools": ["pabutools.election", "pabutools.rules"],
}
KONSILO_MODULE = {
    "irv": "irv",
    "schulze": "schulze",
    "stv_scottish": "stv",
    "stv_wigm": "stv",
    "meek": "meek",
    "equal_shares": "budget",
}


def child(method: str, engine: str, culture: str, candidates: int, ballots: int) -> None:
    """Run one engine and print one JSON line: seconds, winners, peak RSS in MB."""
    import importlib

    spec = BY_NAME[method]
    run = spec.konsilo if engine == "konsilo" else spec.peers[engine]
    for module in IMPORTS[engine.partition(":")[0]]:
        importlib.import_module(module.format(m=KONSILO_MODULE[method]))
    # A first call on a tiny profile loads what the engine loads lazily (or compiles), so the
    # clock measures counting, not start-up.
    run(generate(culture, candidates, 50, seed=1).tolist(), candidates)
    rankings = generate(culture, candidates, ballots).tolist()
    start = time.perf_counter()
    winners = run(rankings, candidates)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "winners": winners, "rss_mb": rss}))


@dataclass
class Outcome:
    status: str  # "ok", "timeout", "missing", "error"
    seconds: float = 0.0
    winners: tuple[str, ...] = ()
    rss_mb: float = 0.0
    note: str = ""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def measure(
    method: str, engine: str, culture: str, candidates: int, ballots: int, timeout: float
) -> Outcome:
    args = [sys.executable, __file__, "--child", method, engine, culture, str(candidates)]
    try:
        done = subprocess.run(
            [*args, str(ballots)],
            capture_output=True,
            text=True,
            timeout=timeout + 30,  # the child also builds the list before its clock starts
            env=_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome("timeout")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        if "ModuleNotFoundError" in last:
            return Outcome("missing", note=last)
        return Outcome("error", note=last[:200])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if data["seconds"] > timeout:
        return Outcome("timeout", seconds=data["seconds"])
    return Outcome("ok", data["seconds"], tuple(sorted(data["winners"])), data["rss_mb"])


# -- the command-line runs ------------------------------------------------------------------


def write_blt(path: Path, rankings: np.ndarray, seats: int) -> None:
    """A BLT file with one line per ballot (weight 1), candidates numbered from 1."""
    count, candidates = rankings.shape
    with path.open("w", encoding="utf-8") as out:
        out.write(f"{candidates} {seats}\n")
        step = 100_000
        for start in range(0, count, step):
            block = rankings[start : start + step] + 1
            lines = "\n".join("1 " + " ".join(map(str, row)) + " 0" for row in block.tolist())
            out.write(lines + "\n")
        out.write("0\n")
        for name in names(candidates):
            out.write(f'"{name}"\n')
        out.write('"konsilo benchmark"\n')


def time_cli(path: Path, args: list[str], timeout: float) -> Outcome:
    """Run ``konsilo count`` as a whole process; its own peak RSS comes from ``wait4``."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "konsilo.cli", "count", str(path), *args, "--json"],
            stdout=out,
            stderr=err,
            env=_env(),
        )
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                return Outcome("timeout")
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            return Outcome("error", seconds, note=err.read().decode()[-200:].strip())
        winners = tuple(json.loads(out.read())["winners"])
    return Outcome("ok", seconds, winners, usage.ru_maxrss / 1024)


# -- the report -----------------------------------------------------------------------------


def _cell(outcome: Outcome) -> str:
    if outcome.status == "ok":
        return f"{outcome.seconds:8.3f}s {outcome.rss_mb:6.0f}MB"
    return f"{outcome.status:>17}"


def _ratio(ours: Outcome, peer: Outcome, timeout: float) -> str:
    if ours.status != "ok":
        return "-"
    if peer.status == "timeout":
        return ">" + f"{timeout / max(ours.seconds, 1e-9):.0f}x"
    if peer.status != "ok":
        return "-"
    return f"{peer.seconds / max(ours.seconds, 1e-9):.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma list of 10k, 100k, 1m")
    parser.add_argument("--candidates", default="10,30", help="comma list of candidate counts")
    parser.add_argument("--cultures", default="ic,pl", help="comma list of ic, pl")
    parser.add_argument("--methods", default=",".join(BY_NAME), help="comma list of methods")
    parser.add_argument("--peers", help="comma list of peers to run (default: all)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per peer run")
    parser.add_argument("--cli", action="store_true", help="also time konsilo count on 1M BLT")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, engine, culture, candidates, ballots = args.child
        child(method, engine, culture, int(candidates), int(ballots))
        return

    sizes = [SIZES[s.strip().lower()] for s in args.sizes.split(",")]
    candidate_counts = [int(c) for c in args.candidates.split(",")]
    cultures = [c.strip() for c in args.cultures.split(",")]
    chosen = [BY_NAME[m.strip()] for m in args.methods.split(",")]
    wanted = {p.strip() for p in args.peers.split(",")} if args.peers else None
    print(f"konsilo counting benchmark: {os.cpu_count()} cores, timeout {args.timeout:.0f} s")
    print("time: from the in-memory list of rankings to the winners; RSS: peak of the process")
    floors: list[tuple[str, bool | None, str]] = []
    cache: dict[tuple[str, str, str, int, int], Outcome] = {}
    for culture in cultures:
        for candidates in candidate_counts:
            for ballots in sizes:
                at_floor = ballots == FLOOR_SIZE and candidates == FLOOR_CANDIDATES
                print()
                print(f"== {culture.upper()}, {candidates} candidates, {ballots:,} ballots ==")
                print(f"{'method':<14}{'engine':<22}{'time':>9} {'peak RSS':>8}  vs konsilo  agree")
                for spec in chosen:
                    ours = measure(spec.name, "konsilo", culture, candidates, ballots, args.timeout)
                    print(f"{spec.name:<14}{'konsilo':<22}{_cell(ours)}")
                    peers: dict[str, Outcome] = {}
                    for peer in spec.peers:
                        if wanted is not None and peer.partition(":")[0] not in wanted:
                            continue
                        key = (peer, spec.peer_group or spec.name, culture, candidates, ballots)
                        if key not in cache:
                            cache[key] = measure(
                                spec.name, peer, culture, candidates, ballots, args.timeout
                            )
                        got = cache[key]
                        peers[peer] = got
                        agree = (
                            ("yes" if got.winners == ours.winners else "NO")
                            if got.status == "ok" and ours.status == "ok"
                            else ""
                        )
                        ratio = _ratio(ours, got, args.timeout)
                        print(f"{'':<14}{peer:<22}{_cell(got)}  {ratio:>9}  {agree}")
                    finished = [p for p in peers.values() if p.status == "ok"]
                    if finished:
                        fastest = min(finished, key=lambda p: p.seconds)
                        name = next(k for k, v in peers.items() if v is fastest)
                        ratio = _ratio(ours, fastest, args.timeout)
                        print(f"{'':<14}{'fastest peer':<22}{name:>17}  {ratio:>9}")
                    if at_floor:
                        floors.extend(_floors(spec.name, culture, ours, peers, args.timeout))
    if args.cli:
        floors.extend(_cli_runs(cultures, args.timeout))
    print()
    print("== floors (1M ballots, 30 candidates) ==")
    for label, passed, detail in floors:
        verdict = "n/a " if passed is None else ("PASS" if passed else "FAIL")
        print(f"{verdict}  {label}: {detail}")
    if not floors:
        print("(not measured: run with --sizes 1m --candidates 30)")


def _floors(
    method: str, culture: str, ours: Outcome, peers: dict[str, Outcome], timeout: float
) -> list[tuple[str, bool | None, str]]:
    out: list[tuple[str, bool | None, str]] = []
    tag = culture.upper()
    if ours.status != "ok":
        return [(f"{tag} {method}", False, f"konsilo {ours.status} {ours.note}")]
    out.append((f"{tag} {method} memory < 2 GB", ours.rss_mb < 2048, f"{ours.rss_mb:.0f} MB"))
    if method in ("irv", "schulze"):
        svvamp = peers.get("svvamp", Outcome("missing"))
        if svvamp.status == "ok":
            ratio = svvamp.seconds / ours.seconds
            out.append((f"{tag} {method} >= 3x svvamp", ratio >= 3, f"{ratio:.1f}x"))
        elif svvamp.status == "timeout":
            passed = ours.seconds * 3 <= timeout
            out.append((f"{tag} {method} >= 3x svvamp", passed, f"svvamp > {timeout:.0f} s"))
        else:
            out.append((f"{tag} {method} >= 3x svvamp", None, f"svvamp {svvamp.status}"))
    if method in ("stv_scottish", "stv_wigm"):
        finished = [p for p in peers.values() if p.status == "ok"]
        if finished:
            fastest = min(p.seconds for p in finished)
            ratio = fastest / ours.seconds
            out.append((f"{tag} {method} >= 10x fastest peer", ratio >= 10, f"{ratio:.1f}x"))
        elif any(p.status == "timeout" for p in peers.values()):
            passed = ours.seconds * 10 <= timeout
            detail = f"every peer > {timeout:.0f} s"
            out.append((f"{tag} {method} >= 10x fastest peer", passed, detail))
        else:
            out.append((f"{tag} {method} >= 10x fastest peer", None, "no peer installed"))
    if method == "meek":
        out.append((f"{tag} meek < 10 s", ours.seconds < 10, f"{ours.seconds:.2f} s"))
    return out


def _cli_runs(cultures: list[str], timeout: float) -> list[tuple[str, bool | None, str]]:
    out: list[tuple[str, bool | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for culture in cultures:
            path = Path(tmp) / f"{culture}.blt"
            write_blt(path, generate(culture, FLOOR_CANDIDATES, FLOOR_SIZE), SEATS)
            size = path.stat().st_size / 1e6
            print()
            print(f"== konsilo count, whole process, {culture.upper()} 1M BLT ({size:.0f} MB) ==")
            for label, cli_args in CLI_RUNS.items():
                got = time_cli(path, cli_args, timeout)
                print(f"{label:<14}{_cell(got)}  {got.note}")
                passed = got.status == "ok" and got.seconds < 10
                detail = f"{got.seconds:.2f} s" if got.status == "ok" else got.status
                out.append((f"{culture.upper()} konsilo count {label} < 10 s", passed, detail))
    return out


if __name__ == "__main__":
    main()
