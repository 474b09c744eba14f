"""Benchmark: import 100,000 members from CSV into a fresh SQLite database.

Generates the file, creates an organisation with 200 base councils under 10 regions, then
times ``konsilo import members`` as a whole process (floor: under 60 s on SQLite), and
checks that re-importing the same file changes nothing.

    python bench/import_members.py [--rows 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP = """
from konsilo.cli.main import setup_django, migrate
setup_django(); migrate()
from konsilo.web.councils import actions
org = actions.create_organisation(actor=None, slug="bench", name="Bench Federation",
                                  levels=["base", "region", "congress"])
actions.add_council(actor=None, organisation=org, key="congress", name="Congress", level="congress")
for r in range(10):
    actions.add_council(actor=None, organisation=org, key=f"r{r}", name=f"Region {r}",
                        level="region", parents=["congress"])
    for b in range(20):
        actions.add_council(actor=None, organisation=org, key=f"b{r}-{b}", name=f"Base {r}-{b}",
                            level="base", parents=[f"r{r}"])
"""


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with path.open("w", encoding="utf-8") as out:
        out.write("name,email,base,secondary,categories\n")
        for i in range(rows):
            base = f"b{rng.randrange(10)}-{rng.randrange(20)}"
            secondary = f"b{rng.randrange(10)}-{rng.randrange(20)}" if i % 10 == 0 else ""
            if secondary == base:
                secondary = ""
            category = rng.choice(["woman", "man", "nonbinary", ""])
            out.write(f"Member {i},member{i}@bench.example,{base},{secondary},{category}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", help="keep the data directory here")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="konsilo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KONSILO_DATA_DIR"] = str(work / "data")
    env["PYTHONPATH"] = str(ROOT / "src")
    csv_path = work / "members.csv"
    t0 = time.perf_counter()
    write_csv(csv_path, args.rows)
    print(
        f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.1f} MB) in"
        f" {time.perf_counter() - t0:.1f} s"
    )
    subprocess.run([sys.executable, "-c", SETUP], env=env, check=True)
    command = [
        sys.executable,
        "-m",
        "konsilo.cli",
        "import",
        "members",
        str(csv_path),
        "--org",
        "bench",
        "--quiet",
    ]
    t0 = time.perf_counter()
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    print(first.stdout.strip() or first.stderr.strip())
    print(
        f"import of {args.rows:,} rows on SQLite: {elapsed:.1f} s (floor: under 60 s)"
        f" = {args.rows / elapsed:,.0f} rows/s"
    )
    t0 = time.perf_counter()
    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    print(f"re-import of the same file: {time.perf_counter() - t0:.1f} s: {again.stdout.strip()}")
    ok = (
        first.returncode == 0 and again.returncode == 0 and f"{args.rows} unchanged" in again.stdout
    )
    print("idempotent re-import: " + ("yes" if ok else "NO"))
    return 0 if ok and elapsed < 60 else 1


if __name__ == "__main__":
    sys.exit(main())
