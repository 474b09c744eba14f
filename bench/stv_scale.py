"""Scale check for ranked counting: build a profile from index lists, then IRV and STV.

Generates impartial-culture full rankings (every ballot a uniformly random order of the
candidates, so almost all ballots are distinct), then times each step separately, from the
same in-memory Python list of rankings:

    python3 bench/stv_scale.py                  # 1,000,000 ballots over 30 candidates
    python3 bench/stv_scale.py --ballots 100000 --candidates 10 --seats 3

It prints seconds per step and the peak resident memory of the process (which includes the
Python list of rankings itself). The comparison with other engines is bench/counting.py.
"""

from __future__ import annotations

import argparse
import functools
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from konsilo.counting import irv, stv
from konsilo.counting.profile import RankedProfile


def _timed(label: str, step: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    value = step()
    print(f"{label:<28} {time.perf_counter() - start:8.2f} s")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--candidates", type=int, default=30)
    parser.add_argument("--seats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rankings = np.argsort(rng.random((args.ballots, args.candidates)), axis=1).tolist()
    names = [f"C{i}" for i in range(args.candidates)]
    print(f"{args.ballots:,} ballots over {args.candidates} candidates, {args.seats} seats")
    profile = _timed("from_indices", lambda: RankedProfile.from_indices(names, rankings))
    result = _timed("instant-runoff", lambda: irv.count(profile))
    print(f"{'':<28} winner {result.winners[0]}, {len(result.rounds)} rounds")
    for rule in stv.RULES:
        result = _timed(
            f"STV {rule}, {args.seats} seats",
            functools.partial(stv.count, profile, seats=args.seats, rule=rule),
        )
        print(f"{'':<28} elected {', '.join(result.winners)}, {len(result.rounds)} rounds")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak memory':<28} {peak:8.0f} MB")


if __name__ == "__main__":
    main()
