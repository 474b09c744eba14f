"""Benchmark deriving every mandate and the top tally of one item across a large federation.

Builds a federation of 1,000,000 members in 20,000 base councils over 4 levels (bases →
districts → regions → congress, 20 councils under each), sends one yes/no/abstain item to
every base, fills random base tallies (some bases do not vote, some miss their quorum, some
tie), then times, for each composition mode, the derivation of every mandate, the top tally
and member-level support above the first level. Pure computation: the floor is under 2 s.
The numbers are checked: the top tally under pass-through must equal the exact
federation-wide sum of every base's proportional share, and member-level support the sum
of every member's ballot.

    PYTHONPATH=src python3 bench/federation.py --pure                 # full size
    PYTHONPATH=src python3 bench/federation.py --pure --members 100000 --bases 2000

The end-to-end run through the database (floor 60 s on PostgreSQL) is a separate mode, to be
added beside ``--pure`` by the web layer: ``build_federation`` and ``fill_tallies`` give the
same federation and tallies for it to load.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from konsilo.governance.federation import (
    ArrayFederationResult,
    BaseTallies,
    FederationArrays,
    compose_arrays,
)
from konsilo.governance.mandates import MandatePolicy

FLOOR_S = 2.0
LEVELS = ("assembly", "district", "region", "congress")


@dataclass
class Federation:
    tree: FederationArrays
    represented: np.ndarray  # members per base


def build_federation(members: int, bases: int, fan_out: int, seed: int) -> Federation:
    """``bases`` base councils holding ``members`` members in all, ``fan_out`` per council."""
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(members - bases, np.full(bases, 1 / bases)) + 1  # at least 1 each
    councils = [tuple(f"base-{i}" for i in range(bases))]
    parents = []
    count = bases
    for level in LEVELS[1:-1]:
        above = -(-count // fan_out)
        parents.append(np.arange(count, dtype=np.int64) // fan_out)
        councils.append(tuple(f"{level}-{j}" for j in range(above)))
        count = above
    parents.append(np.zeros(count, dtype=np.int64))
    councils.append(("congress",))
    return Federation(FederationArrays(LEVELS, tuple(councils), tuple(parents)), sizes)


def fill_tallies(federation: Federation, seed: int) -> BaseTallies:
    """Random instruction votes: turnout 40–100%, 3% of bases not voting by the deadline."""
    rng = np.random.default_rng(seed + 1)
    size = federation.represented
    n = len(size)
    turnout = rng.binomial(size, rng.uniform(0.4, 1.0, n))
    lean = rng.uniform(0.2, 0.8, n)
    yes = rng.binomial(turnout, lean)
    rest = turnout - yes
    abstain = rng.binomial(rest, 0.1)
    no = rest - abstain
    voted = rng.random(n) > 0.03
    return BaseTallies(yes, no, abstain, size, size, voted)


def upper_weights(federation: Federation) -> list[np.ndarray]:
    """Card-vote weights of every level's delegations: the members each represents."""
    weights = [federation.represented.astype(np.int64)]
    for parent, above in zip(
        federation.tree.parents[:-1], federation.tree.councils[1:-1], strict=True
    ):
        weights.append(
            np.bincount(parent, weights=weights[-1], minlength=len(above)).astype(np.int64)
        )
    return weights


def run(
    federation: Federation, tallies: BaseTallies, composition: str, base_mode: str
) -> tuple[float, ArrayFederationResult]:
    weights = upper_weights(federation)
    policies = [MandatePolicy(mode=base_mode)] + [
        MandatePolicy(mode="bound_proportional") for _ in weights[1:]
    ]
    start = time.perf_counter()
    result = compose_arrays(
        federation.tree,
        tallies,
        weights=weights,
        policies=policies,
        item="bench-item",
        content_hash="bench-hash",
        composition=composition,
    )
    return time.perf_counter() - start, result


def check(federation: Federation, tallies: BaseTallies, result: ArrayFederationResult) -> None:
    """Recompute the pass-through top tally and member support the slow exact way."""
    y, no, a = (x.tolist() for x in (tallies.yes, tallies.no, tallies.abstain))
    quorum = [2 * (y[i] + no[i] + a[i]) >= int(tallies.eligible[i]) for i in range(len(y))]
    w = federation.represented.tolist()
    yes_total = no_total = abstain_total = Fraction(0)
    for i in range(len(y)):
        if not tallies.voted[i] or not quorum[i] or y[i] + no[i] == 0:
            abstain_total += w[i]
        else:
            yes_total += Fraction(w[i] * y[i], y[i] + no[i])
            no_total += Fraction(w[i] * no[i], y[i] + no[i])
    got = result.result.rounds[0].tallies
    assert (got["yes"], got["no"], got["abstain"]) == (yes_total, no_total, abstain_total), got
    members = result.members["congress"]
    held = tallies.voted
    assert members.count("yes") == int(tallies.yes[held].sum())
    assert members.voted == int((tallies.yes + tallies.no + tallies.abstain)[held].sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pure", action="store_true", help="pure computation (no database)")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--bases", type=int, default=20_000)
    parser.add_argument("--fan-out", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if not args.pure:
        print(
            "only --pure exists so far; the database run is added by the web layer", file=sys.stderr
        )
        return 2
    federation = build_federation(args.members, args.bases, args.fan_out, args.seed)
    tallies = fill_tallies(federation, args.seed)
    print(
        f"federation: {int(federation.represented.sum()):,} members, {args.bases:,} bases, "
        f"{' / '.join(str(len(c)) for c in federation.tree.councils)} councils per level "
        f"({', '.join(LEVELS)})"
    )
    worst = 0.0
    cases = [
        ("pass_through", "bound_proportional"),
        ("pass_through", "bound_majority"),
        ("re_deliberation", "bound_majority"),
        ("direct_base_representation", "bound_proportional"),
    ]
    for composition, mode in cases:
        times = []
        for _ in range(args.repeat):
            elapsed, result = run(federation, tallies, composition, mode)
            times.append(elapsed)
        if (composition, mode) == ("pass_through", "bound_proportional"):
            check(federation, tallies, result)
        best = min(times)
        worst = max(worst, best)
        top = result.result
        share = result.members["congress"]
        print(
            f"{composition:28} base {mode:19} {best:7.3f} s (best of {args.repeat})  "
            f"{top.outcome:8}  members {int(share.count('yes')):,} yes / "
            f"{int(share.count('no')):,} no; {share.uninstructed_bases} bases uninstructed"
        )
    verdict = "PASS" if worst < FLOOR_S else "FAIL"
    print(
        f"{verdict}: slowest mode {worst:.3f} s against the floor of {FLOOR_S:.1f} s "
        "(mandate derivation, top tally and member-level support, pure)"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
