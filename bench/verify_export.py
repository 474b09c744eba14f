"""Benchmark ``konsilo verify`` on a generated export of 1,000,000 entries (floor: under 60 s).

The export is generated with the pure package only (no database): a federation of one
congress, 16 regions and 256 workplaces, members joining, and then, when
konsilo.counting.tally is installed, motions voted in the workplaces (vote.opened with the
census weights, open ballots, some of them changed, tally.recorded with the counted result);
otherwise membership changes fill the log. A checkpoint is signed every ``--batch`` entries,
as the sequencer does after each batch. Then ``konsilo verify DIR`` runs as a subprocess, and
its time is printed beside the SHA-256 limit of this machine: hashing the same entries and
the tree's interior nodes with hashlib, which no verifier in Python can beat.

    PYTHONPATH=src python3 bench/verify_export.py                  # 1,000,000 entries
    PYTHONPATH=src python3 bench/verify_export.py --entries 50000  # a quick check
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from konsilo import canonical
from konsilo.record import Checkpoint, Signer, sign_checkpoint
from konsilo.record.verify import LevelHashStore

FLOOR_SECONDS = 60.0
ORG = "bench"
ORIGIN = "konsilo.bench/log/bench"

_encode = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode

try:
    from konsilo.counting.tally import count_ballots
except ImportError:  # the decisions work is not installed: no tallies to recount
    count_ballots = None


def _events(total: int, rng: random.Random) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(type, council, data) of a plausible federation's record, ``total`` entries in all."""
    yield (
        "organisation.created",
        "",
        {
            "slug": ORG,
            "name": "Bench Federation",
            "levels": ["workplace", "region", "congress"],
            "parent_rule": "tree",
            "timezone": "UTC",
        },
    )
    yield (
        "policy.versioned",
        "",
        {
            "scope": "organisation",
            "target": "",
            "number": 1,
            "preset": None,
            "values": {},
            "reason": "organisation founded",
        },
    )
    yield (
        "council.created",
        "congress",
        {"key": "congress", "name": "Congress", "level": "congress"},
    )
    workplaces: list[str] = []
    for r in range(16):
        region = f"region-{r}"
        yield "council.created", region, {"key": region, "name": f"Region {r}", "level": "region"}
        yield "delegation.created", "congress", {"from": region, "to": "congress"}
        for w in range(16):
            key = f"w-{r}-{w}"
            workplaces.append(key)
            yield (
                "council.created",
                key,
                {"key": key, "name": f"Workplace {r}.{w}", "level": "workplace"},
            )
            yield "delegation.created", region, {"from": key, "to": region}
    done = 3 + 16 * 2 + 256 * 2
    members_wanted = max(256, total // 10)
    by_base: dict[str, list[str]] = {k: [] for k in workplaces}
    for n in range(members_wanted):
        if done >= total:
            return
        base = workplaces[n % len(workplaces)]
        member = f"m-{n:032x}"
        by_base[base].append(member)
        yield (
            "member.joined",
            base,
            {
                "member": member,
                "name": f"Member {n}",
                "base": base,
                "secondary": [],
                "start": "2026-11-01",
                "status": "good_standing",
            },
        )
        done += 1
    item = 0
    while done < total:
        base = workplaces[item % len(workplaces)]
        voters = by_base[base]
        if count_ballots is None or total - done < len(voters) + 2:
            member = voters[item % len(voters)]
            other = workplaces[(item + 1) % len(workplaces)]
            yield (
                "membership.added",
                other,
                {
                    "member": member,
                    "council": other,
                    "primary": False,
                    "start": "2026-11-02",
                },
            )
            done += 1
            if done < total:
                yield (
                    "membership.ended",
                    other,
                    {
                        "member": member,
                        "council": other,
                        "end": "2026-11-03",
                    },
                )
                done += 1
            item += 1
            continue
        name = f"item-{item}"
        rule = {"rule": "simple_majority", "eligible": len(voters)}
        yield (
            "vote.opened",
            base,
            {
                "item": name,
                "council": base,
                "method": "motion",
                "rule": rule,
                "options": ["yes", "no", "abstain"],
                "secret": False,
                "policy_version": 1,
                "census": {
                    "basis": "members_in_good_standing",
                    "voters": len(voters),
                    "weights": dict.fromkeys(voters, "1"),
                },
                "closes_at": "2026-12-08T12:00:00Z",
            },
        )
        done += 1
        cast: dict[str, dict[str, str]] = {}
        room = total - done - 1
        for voter in voters[: min(len(voters), room)]:
            ballot = {"choice": rng.choice(("yes", "yes", "no", "abstain"))}
            cast[voter] = ballot
            yield (
                "ballot.cast",
                base,
                {"item": name, "voter": voter, "weight": "1", "ballot": ballot},
            )
            done += 1
        result = count_ballots("motion", rule, [(b, Fraction(1)) for b in cast.values()])
        yield (
            "tally.recorded",
            base,
            {
                "item": name,
                "method": "motion",
                "rule": rule,
                "result": json.loads(canonical.dumps(result)),
                "ballots": len(cast),
            },
        )
        done += 1
        item += 1


def generate(folder: Path, total: int, batch: int) -> tuple[int, int]:
    """Write an export of ``total`` entries to ``folder``; return (entries, checkpoints)."""
    rng = random.Random(20261201)
    signer = Signer.from_seed(ORIGIN, hashlib.sha256(b"konsilo bench").digest())
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "texts").mkdir()
    store = LevelHashStore()
    checkpoints = 0
    sha = hashlib.sha256
    start = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with (folder / "entries.jsonl").open("wb") as out:
        for index, (kind, council, data) in enumerate(_events(total, rng)):
            entry = _encode(
                {
                    "index": index,
                    "type": kind,
                    "org": ORG,
                    "council": council,
                    "actor": "operator" if not kind.startswith("ballot") else "",
                    "time": (start + dt.timedelta(milliseconds=index)).strftime(
                        "%Y-%m-%dT%H:%M:%S.%fZ"
                    ),
                    "data": data,
                }
            ).encode()
            out.write(entry + b"\n")
            store.append(sha(b"\x00" + entry).digest())
            if store.size % batch == 0:
                _sign(folder, signer, store)
                checkpoints += 1
    if store.size % batch:
        _sign(folder, signer, store)
        checkpoints += 1
    (folder / "verifier.key").write_text(signer.vkey + "\n")
    manifest = {
        "format": "konsilo-export/1",
        "organisation": ORG,
        "origin": ORIGIN,
        "size": store.size,
        "verifier_key": signer.vkey,
        "exported_at": "2026-12-01T12:00:00Z",
    }
    (folder / "manifest.json").write_bytes(canonical.dumps(manifest))
    (folder / "README.txt").write_text("A generated konsilo export for bench/verify_export.py.\n")
    return store.size, checkpoints


def _sign(folder: Path, signer: Signer, store: LevelHashStore) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, store.size, store.root()), signer)
    (folder / "checkpoints" / f"{store.size:020d}.txt").write_text(note)


def sha256_limit(folder: Path) -> float:
    """Seconds hashlib needs for the same leaves and interior nodes: the machine's limit."""
    entries = (folder / "entries.jsonl").read_bytes().split(b"\n")[:-1]
    sha = hashlib.sha256
    start = time.perf_counter()
    level = [sha(b"\x00" + e).digest() for e in entries]
    while len(level) > 1:
        level = [
            sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="entries per signed checkpoint")
    parser.add_argument("--keep", help="write the export here and keep it")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="konsilo-bench-"))
    if args.keep and folder.exists():
        shutil.rmtree(folder)
    try:
        start = time.perf_counter()
        entries, checkpoints = generate(folder, args.entries, args.batch)
        size = (folder / "entries.jsonl").stat().st_size
        print(
            f"generated {entries:,} entries ({size / 1e6:.0f} MB), {checkpoints:,} checkpoints"
            f" in {time.perf_counter() - start:.1f} s"
            f"{'' if count_ballots else ' (no konsilo.counting.tally: no tallies)'}"
        )
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), env.get("PYTHONPATH", "")]
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "konsilo.cli", "verify", str(folder), "--quiet"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(result.stdout, end="")
        if result.returncode != 0:
            print(f"konsilo verify exited {result.returncode}: {result.stderr.strip()}")
            return 1
        limit = sha256_limit(folder)
        print(
            f"konsilo verify: {elapsed:.1f} s for {entries:,} entries "
            f"({entries / elapsed:,.0f} entries/s); floor {FLOOR_SECONDS:.0f} s: "
            f"{'met' if elapsed < FLOOR_SECONDS else 'MISSED'}"
        )
        print(
            f"CPU time:       {cpu:.1f} s of konsilo verify (the wall time above includes "
            "waiting for a core on a shared machine)"
        )
        print(
            f"SHA-256 limit:  {limit:.1f} s to hash the same leaves and interior nodes "
            f"with hashlib; verify takes {elapsed / limit:.1f}× that"
        )
        return 0 if elapsed < FLOOR_SECONDS else 1
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
